"""Text that others wrote, made safe to print on a terminal or a page.

An issuer's name, a credential's claims, a file name: printed raw, their control characters (ESC,
CR, newline, C1), format characters (bidi overrides, zero-width) and line or paragraph separators
could move the cursor, erase or hide the line beside them, start a line of their own, or make one
name look like another. `printable` shows each of them escaped (``\\x1b``, ``\\n``,
``\\u202e``). The verifier's report and the ledger's listings print through it; the verifier
and wallet pages have JavaScript twins, tested to agree with it character by character.

`norm_text` / `same_name`: the one comparison of names (an institution's, a framework's, a
keyword) up to case, punctuation and spacing: the issuer binding a subject's institution to its
own registered name (`issuance.bind_subject`) and the verifier (check 6, the profession's
employers and institutions) compare with it, so that what one accepts the other accepts.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["norm_text", "printable", "same_name"]

#: The Unicode categories shown escaped: control, format, line and paragraph separators.
HIDDEN_CATEGORIES = frozenset(("Cc", "Cf", "Zl", "Zp"))


def printable(text: str) -> str:
    """``text`` with every control, format and separator character shown escaped."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(
        ascii(ch)[1:-1] if unicodedata.category(ch) in HIDDEN_CATEGORIES else ch for ch in text
    )


def norm_text(text: str) -> str:
    """Case-folded, punctuation-free, single-spaced form used for name matching."""
    text = re.sub(r"[^\w\s]", " ", text.casefold())
    return " ".join(text.split())


def _letters_and_digits(text: str) -> str:
    """NFKC, case-folded, letters and digits only: the issuer's name comparison before
    `same_name` was shared (``bind_subject`` signed "UniofTests" or full-width letters for "Uni
    of Tests"), kept so that what it signed then still compares equal."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


def same_name(a: str, b: str) -> bool:
    """Names equal up to case, punctuation and whitespace (and not empty): equal `norm_text`, or
    equal NFKC letters and digits (spacing and compatibility forms aside, the issuer's older
    comparison: a credential it bound then must still name its issuer)."""
    na = norm_text(a)
    if bool(na) and na == norm_text(b):
        return True
    ka = _letters_and_digits(a)
    return bool(ka) and ka == _letters_and_digits(b)
