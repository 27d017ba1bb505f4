"""The error tree of `talentproof.wallet`: one root under `TalentProofError`, specific leaves.

Each message says what was expected and what was found, and the ``hint`` what the applicant can
do; the CLI prints `TalentProofError.diagnostics`.
"""

from __future__ import annotations

from talentproof.errors import EXIT_UNAVAILABLE, EXIT_USAGE, TalentProofError

__all__ = [
    "BadUri",
    "ForeignCredential",
    "IssuerRefused",
    "OfferRefused",
    "OfferUnavailable",
    "RequestNotSigned",
    "ServiceUnreachable",
    "UntrustedOffer",
    "VerifierRefused",
    "WalletError",
    "WalletMissing",
    "WrongTransactionCode",
]


class WalletError(TalentProofError):
    """Root of every error raised by `talentproof.wallet`."""


class WalletMissing(WalletError):
    """The wallet folder has no key (``talentproof wallet init`` not run) or is unreadable."""

    exit_code = EXIT_USAGE
    hint = "Create it with `talentproof wallet init` (or name another with --wallet-dir)."


class BadUri(WalletError):
    """A pasted or scanned text is not the URI the command expects."""

    exit_code = EXIT_USAGE


class ServiceUnreachable(WalletError):
    """The issuer or verifier could not be reached, or answered something that is not the
    protocol's answer."""

    exit_code = EXIT_UNAVAILABLE


class OfferUnavailable(WalletError):
    """The credential offer is unknown, expired or already used."""

    hint = (
        "An offer is valid for a limited time (by default 15 minutes, or 14 days for offers an "
        "institution sends in bulk) and can be redeemed once: ask the institution for a new one."
    )


class IssuerRefused(WalletError):
    """The issuer answered an OpenID4VCI error (``error``, ``error_description``)."""

    def __init__(self, step: str, error: str, description: str | None) -> None:
        self.step = step
        self.error = error
        self.description = description
        detail = f": {description}" if description else ""
        super().__init__(f"the issuer refused the {step} ({error}{detail})")


class WrongTransactionCode(IssuerRefused):
    """The token endpoint answered ``invalid_grant``: a wrong transaction code, or a
    pre-authorized code that is unknown, used or expired."""

    hint = (
        "Check the 6-digit transaction code the institution sent you separately (e-mail, "
        "letter) and try again; after 5 wrong codes, once expired, or once redeemed, the offer "
        "is dead and the institution must make a new one."
    )


class OfferRefused(IssuerRefused):
    """The token endpoint answered ``invalid_grant`` for the offer itself: its pre-authorized
    code is unknown, already used, expired, or the offer died of wrong transaction codes."""

    hint = OfferUnavailable.hint


class UntrustedOffer(WalletError):
    """A credential offer names an authorization server its credential issuer does not list:
    the transaction code would go to whoever runs it."""

    hint = (
        "Nothing was sent. Do not use this offer: it does not come as the institution made it. "
        "Ask the institution for the offer again (its own QR code or link)."
    )


class UntrustedIssuer(WalletError):
    """A credential offer asking for a transaction code comes from a credential issuer the
    holder has not named as its institution's (OpenID4VCI 1.0 section 13.4.2): whoever copied
    the offer onto a host of theirs would get the code the holder types."""

    hint = (
        "Nothing was sent. Send your transaction code only to the address the institution gave "
        "you with it: pass it once with --issuer (the wallet keeps it); if this is not that "
        "address, do not use this offer."
    )


class ForeignCredential(WalletError):
    """An issuer sent a credential that is not bound to this wallet's key (its
    ``credentialSubject.id`` is not the wallet's did:key): it cannot be presented, so it is
    not stored."""

    hint = (
        "The issuer did not issue it to you: a credential about someone else proves nothing "
        "about you. Ask the institution for a new offer (its own QR code or link)."
    )


class RequestNotSigned(WalletError):
    """A presentation request is not signed by the key its ``client_id`` names, or is not a
    well-formed OpenID4VP request object."""

    hint = "Do not answer it: it does not come from the verifier it claims to be."


class VerifierRefused(WalletError):
    """The verifier refused the presentation request or the response."""
