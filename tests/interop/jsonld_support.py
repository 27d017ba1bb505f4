"""JSON-LD processing of TalentProof documents with PyLD and only the shipped contexts.

PyLD has no "safe mode" switch (jsonld.js does): `expand_safely` makes the same refusals by
hand: any property the contexts do not define (PyLD drops it silently), any relative IRI as a
property, type or node id, any context URL that is not shipped (the offline loader refuses it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from pyld import jsonld

from talentproof.credential.contexts import UnknownContext, document_loader

from . import node_vc

__all__ = [
    "JsonLdFailure",
    "assert_complete_in_both_processors",
    "canonicalize",
    "expand_safely",
    "leaf_values",
    "missing_from_nquads",
]

_KEYWORDS_WITH_IRIS = ("@id", "@type")


class JsonLdFailure(AssertionError):
    """What safe mode would refuse, with the offending term or IRI."""


def _options() -> dict[str, Any]:
    # base "" keeps a relative IRI relative, so that it can be seen and refused
    return {"documentLoader": document_loader, "base": ""}


# PyLD resolves a relative IRI against this stand-in when the document has no base; VC 2.0's
# published context maps undefined terms under @vocab "issuer-dependent#": both are undefined
_NOT_DEFINED = (jsonld.DEFAULT_BASE_IRI, "https://www.w3.org/ns/credentials/issuer-dependent#")


def _is_absolute(iri: str) -> bool:
    scheme, sep, rest = iri.partition(":")
    if iri.startswith(_NOT_DEFINED):
        return False
    return bool(sep) and scheme[:1].isalpha() and bool(rest) and not iri.startswith("_:")


def _short(iri: str) -> str:
    for prefix in _NOT_DEFINED:
        iri = iri.removeprefix(prefix)
    return iri


def _walk_expanded(node: Any, where: str, problems: list[str]) -> None:
    if isinstance(node, list):
        for i, item in enumerate(node):
            _walk_expanded(item, f"{where}[{i}]", problems)
        return
    if not isinstance(node, dict):
        return
    if "@value" in node:
        datatype = node.get("@type")
        if isinstance(datatype, str) and datatype != "@json" and not _is_absolute(datatype):
            problems.append(f"{where}: relative datatype IRI {_short(datatype)!r}")
        return
    for key, value in node.items():
        if key.startswith("@"):
            if key == "@id" and isinstance(value, str) and not value.startswith("_:"):
                if not _is_absolute(value):
                    problems.append(f"{where}: relative @id {_short(value)!r}")
            elif key == "@type":
                for t in value if isinstance(value, list) else [value]:
                    if isinstance(t, str) and not _is_absolute(t):
                        problems.append(f"{where}: relative type IRI {_short(t)!r}")
            else:
                _walk_expanded(value, f"{where}.{key}", problems)
            continue
        if not _is_absolute(key):
            problems.append(f"{where}: relative property IRI {_short(key)!r}")
        _walk_expanded(value, f"{where}.<{key}>", problems)


def expand_safely(doc: dict[str, Any]) -> list[Any]:
    """The expanded form of ``doc``; `JsonLdFailure` naming every dropped term or relative IRI,
    or the processor's error (an unknown context, a protected term redefined)."""
    dropped: list[str | None] = []
    try:
        expanded: list[Any] = jsonld.expand(doc, _options(), on_property_dropped=dropped.append)
    except (jsonld.JsonLdError, UnknownContext) as exc:
        raise JsonLdFailure(f"JSON-LD processing failed: {exc}") from exc
    problems = [f"dropped property {p!r} (no context defines it)" for p in dropped]
    _walk_expanded(expanded, "$", problems)
    if problems:
        raise JsonLdFailure("; ".join(problems))
    return expanded


def canonicalize(doc: dict[str, Any]) -> str:
    """The URDNA2015 (RDFC-1.0) canonical N-Quads of ``doc``."""
    try:
        nquads: str = jsonld.normalize(
            doc, {**_options(), "algorithm": "URDNA2015", "format": "application/n-quads"}
        )
    except (jsonld.JsonLdError, UnknownContext) as exc:
        raise JsonLdFailure(f"JSON-LD canonicalization failed: {exc}") from exc
    return nquads


def leaf_values(doc: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    """Every scalar of ``doc`` outside ``@context`` values, with its path."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key != "@context":
                yield from leaf_values(value, f"{path}.{key}")
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from leaf_values(value, f"{path}[{i}]")
    else:
        yield path, doc


def missing_from_nquads(doc: dict[str, Any], nquads: str) -> list[str]:
    """The leaves of ``doc`` whose value is not in its canonical N-Quads (a silently lost
    claim); type names and keyword values are checked by `expand_safely` instead."""
    missing = []
    for path, value in leaf_values(doc):
        if path.endswith(".type") or ".type[" in path:
            continue
        text = value if isinstance(value, str) else json.dumps(value)
        if text.lower() in ("true", "false") and isinstance(value, bool):
            text = text.lower()
        if text not in nquads:
            missing.append(f"{path} = {value!r}")
    return missing


def assert_complete_in_both_processors(named: Iterable[tuple[str, dict[str, Any]]]) -> int:
    """Each ``(name, document)`` is complete JSON-LD with only the shipped contexts, in PyLD
    (`expand_safely`, its canonical N-Quads holding every claim: `missing_from_nquads`) and in
    jsonld.js (safe mode, one Node run for all: its RDFC-1.0 N-Quads are PyLD's byte for byte).
    Documents equal as JSON are processed once. Fails naming every document and problem; returns
    how many distinct documents were processed."""
    unique: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, doc in named:
        unique.setdefault(json.dumps(doc, sort_keys=True), (name, doc))
    docs = list(unique.values())
    problems: list[str] = []
    pyld_nquads: list[str | None] = []
    for name, doc in docs:
        try:
            expand_safely(doc)
            nquads = canonicalize(doc)
        except JsonLdFailure as exc:
            problems.append(f"{name}: PyLD: {exc}")
            pyld_nquads.append(None)
            continue
        missing = missing_from_nquads(doc, nquads)
        if missing:
            problems.append(f"{name}: claims lost in RDF: {missing}")
        pyld_nquads.append(nquads)
    # read at call time, so that a run pointed at other context files uses them
    results = node_vc.canonize_many_with_jsonld_js([d for _, d in docs], node_vc.CONTEXTS)
    for (name, _), result, nquads in zip(docs, results, pyld_nquads, strict=True):
        if not result["ok"]:
            problems.append(f"{name}: jsonld.js safe mode: {result['error']}")
        elif nquads is not None and result["nquads"] != nquads:
            problems.append(f"{name}: jsonld.js and PyLD canonical N-Quads differ")
    assert not problems, "\n".join(problems)
    return len(docs)
