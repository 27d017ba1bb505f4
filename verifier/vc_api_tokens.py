"""Bearer tokens of the verifier's W3C VC API (``POST /credentials/verify``,
``POST /presentations/verify``), kept only as SHA-256 hashes.

The verifier's own page and ``/api/v1`` are public (an officer at a counter, rate-limited per
client address); the VC API is the machine-to-machine door, which a deployment may keep for its
known clients: with ``TALENTPROOF_VERIFIER_VC_API_TOKENS_FILE`` naming a tokens file, those two
routes need ``Authorization: Bearer <token>``; without it they stay open.

The tokens file holds one hash a line, ``sha256:<64 hex digits>`` and an optional name (who the
token is for); blank lines and ``#`` comments are skipped::

    # TalentProof verifier: VC API tokens
    sha256:8f43...e1 border-control-system

`new_token` mints a token (``tpv_`` and 32 random bytes, base64url), `token_line` is its line:
``talentproof verifier token`` prints both, the token once. A token is never stored: a
presented token is hashed and compared with every hash in constant time (`VcApiTokens.accepts`).
The file is read once, at start-up; a change takes a restart.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from talentproof.verifier.errors import VerifierError

#: What every token this module mints starts with (so a token is told from its hash on sight).
TOKEN_PREFIX = "tpv_"
#: The longest token looked at (a minted one has 47 characters).
MAX_TOKEN_CHARS = 512
#: The shape of a token's name in the tokens file (one word: who the token is for).
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._@:/-]{0,99}"

_LINE = re.compile(rf"sha256:(?P<hex>[0-9a-fA-F]{{64}})(?:[ \t]+(?P<name>{NAME_PATTERN}))?")
_FORMAT = "sha256:<64 hex digits> and an optional name (one word)"


class TokensFileError(VerifierError, ValueError):
    """The tokens file cannot be read or is not a list of token hashes (the message says what
    was expected, never a line's content)."""


def new_token() -> str:
    """A new VC API token: ``tpv_`` and 32 random bytes (base64url)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """``sha256:<hex>`` of a token (its UTF-8 bytes)."""
    return "sha256:" + hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_line(token: str, name: str | None = None) -> str:
    """The tokens file's line for ``token`` (its hash, then ``name`` when given)."""
    if name is not None and not re.fullmatch(NAME_PATTERN, name):
        raise ValueError(
            f"expected a name of 1 to 100 letters, digits or ._@:/- (one word), found {name!r:.120}"
        )
    return token_hash(token) + (f" {name}" if name else "")


@dataclass(frozen=True)
class VcApiTokens:
    """The SHA-256 hashes of the tokens a VC API request may carry, read from ``path``."""

    path: Path
    hashes: tuple[bytes, ...] = field(repr=False)

    def __len__(self) -> int:
        return len(self.hashes)

    def accepts(self, token: str) -> bool:
        """Whether ``token`` is one of these tokens: its hash compared with every hash in
        constant time (no early exit, so the time says nothing of which or how much matched)."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            return False
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        found = False
        for known in self.hashes:
            found |= hmac.compare_digest(known, digest)
        return found

    @classmethod
    def parse(cls, text: str, path: Path) -> VcApiTokens:
        """The hashes of a tokens file's ``text`` (raises `TokensFileError` naming the line)."""
        hashes: list[bytes] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            match = _LINE.fullmatch(line)
            if match is None:
                if line.startswith(TOKEN_PREFIX):
                    raise TokensFileError(
                        f"line {number}: a plaintext token: the file keeps token hashes only "
                        f"(expected {_FORMAT}; `talentproof verifier token` prints the line)"
                    )
                raise TokensFileError(f"line {number}: expected {_FORMAT}")
            digest = bytes.fromhex(match["hex"])
            if digest not in hashes:
                hashes.append(digest)
        if not hashes:
            raise TokensFileError(
                f"{path} holds no token hashes, so the VC API would refuse every request "
                f"(expected lines {_FORMAT}; unset the variable to keep the VC API open)"
            )
        return cls(path, tuple(hashes))

    @classmethod
    def load(cls, path: Path) -> VcApiTokens:
        """The tokens of the file at ``path`` (raises `TokensFileError`)."""
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise TokensFileError(f"{path} is not UTF-8 text (expected lines {_FORMAT})") from None
        except OSError as exc:
            raise TokensFileError(
                f"cannot read {path}: {exc.strerror or type(exc).__name__} "
                f"(expected a file of lines {_FORMAT})"
            ) from None
        return cls.parse(text, path)


#: How the VC API is reached, as ``/readyz`` says it (``vcApi.authentication``).
OPEN = "open (no tokens configured)"
GUARDED = "bearer token required"


def access_line(tokens: VcApiTokens | None) -> str:
    """How the VC API is reached, as the service's start-up line says it (with the number of
    tokens and their file, which ``/readyz`` does not publish)."""
    if tokens is None:
        return OPEN
    count = f"{len(tokens)} token{'s' if len(tokens) != 1 else ''}"
    return f"{GUARDED} ({count} from {tokens.path})"


__all__ = [
    "GUARDED",
    "MAX_TOKEN_CHARS",
    "NAME_PATTERN",
    "OPEN",
    "TOKEN_PREFIX",
    "TokensFileError",
    "VcApiTokens",
    "access_line",
    "new_token",
    "token_hash",
    "token_line",
]
