"""The project-wide error root: every package's error tree hangs below `TalentProofError`.

``credential.errors.CredentialError``, ``ledger.errors.LedgerError``,
``issuer.errors.IssuerError`` and ``verifier.errors.VerifierError`` derive from it, so a caller
(the CLIs, a script) can catch "anything TalentProof refused" in one clause and print
:meth:`TalentProofError.diagnostics`. This module imports nothing of the project: it sits under
``credential``, the lowest layer.

A verification *outcome* is not an exception (see ``verifier.report``): exceptions are for what a
component cannot do (bad input, a chain it cannot reach, a broken configuration).

CLI exit codes are chosen by type: each class states its ``exit_code`` (inherited by its
leaves), and :func:`exit_code` reads it. Never compare class names.

==  ================  =================================================================
1   EXIT_FAILURE      the default: the operation failed (``TalentProofError``)
2   EXIT_USAGE        the input or configuration is wrong (``verifier.errors.VerifierError``)
3   EXIT_UNAVAILABLE  the ledger could not be reached (``ledger.errors.ChainUnavailable``,
                      ``issuer.errors.LedgerUnavailable``)
==  ================  =================================================================
"""

from __future__ import annotations

from typing import ClassVar

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3


class TalentProofError(Exception):
    """Root of every error raised by TalentProof.

    ``hint`` (class attribute or set on the instance): one sentence on what the user can do, or
    None. :meth:`diagnostics` is the text a command-line tool prints.
    """

    hint: str | None = None
    #: The exit code of a command-line tool that stops on this error (see :func:`exit_code`).
    exit_code: ClassVar[int] = EXIT_FAILURE

    def diagnostics(self) -> str:
        """The message, then the hint (if any) on its own line."""
        text = str(self) or type(self).__name__
        return f"{text}\n{self.hint}" if self.hint else text


def exit_code(exc: BaseException) -> int:
    """The exit code for ``exc``: its class's ``exit_code``, or 1 for a foreign exception."""
    return exc.exit_code if isinstance(exc, TalentProofError) else EXIT_FAILURE


__all__ = ["EXIT_FAILURE", "EXIT_UNAVAILABLE", "EXIT_USAGE", "TalentProofError", "exit_code"]
