"""`checks.issuer_parts` (kept per issuer text and kind, behind `Verifier._chain_checks`, every
path's checks 5-8) against its reference: `issuer_id`, `issuer_name` and `issuer_unvouched` of
the same document, asked in an order where a cache keyed on too little would answer another
document's parts (one issuer text across kinds; badges of one issuer with other creators)."""

from __future__ import annotations

import itertools
from typing import Any

from talentproof.credential import types as c_types
from talentproof.verifier import checks

ISSUERS: list[Any] = [
    "did:web:a.example.hk",
    "did:web:b.example.hk",
    "",
    None,
    7,
    {"id": "did:web:a.example.hk"},
    {"id": "did:web:a.example.hk", "name": "A University"},
    {"id": "did:web:a.example.hk", "name": "A University", "url": "https://evil.example"},
    {"id": "did:web:a.example.hk", "type": ["Profile"], "image": "x"},
    {"name": "no id"},
    ["did:web:a.example.hk"],
]
CREATORS: list[Any] = [
    None,
    "did:web:a.example.hk",
    {"id": "did:web:a.example.hk", "type": "Profile"},
    {"id": "did:web:a.example.hk", "url": "https://evil.example"},
    {"id": "did:web:b.example.hk", "name": "B", "email": "x@y"},
]
KINDS: list[str | None] = [*c_types.KINDS, "OtherCredential", None]


def documents() -> list[tuple[dict[str, Any], str | None]]:
    out: list[tuple[dict[str, Any], str | None]] = []
    for issuer, creator, kind in itertools.product(ISSUERS, CREATORS, KINDS):
        subject: dict[str, Any] = {"id": "did:key:z6Mk"}
        if creator is not None:
            subject["achievement"] = {"creator": creator}
        out.append(({"issuer": issuer, "credentialSubject": subject}, kind))
        out.append(({"issuer": issuer, "credentialSubject": [subject]}, kind))
    return out


def test_issuer_parts_are_the_reference_whatever_was_asked_before() -> None:
    docs = documents()
    assert len(docs) > 500
    for order in (docs, docs[::-1], docs[1::2] + docs[::2]):  # (later ones from the cache)
        for doc, kind in order:
            expected = (
                checks.issuer_id(doc),
                checks.issuer_name(doc),
                checks.issuer_unvouched(doc, kind),
            )
            assert checks.issuer_parts(doc, kind) == expected, (doc, kind)
    # a badge's creator members are found (the case a cache per issuer text would lose)
    badge = {"issuer": "did:web:a.example.hk", "credentialSubject": {"achievement": {
        "creator": {"id": "did:web:a.example.hk", "url": "https://evil.example"}}}}  # fmt: skip
    assert checks.issuer_parts(badge, c_types.OPEN_BADGE)[2] == ((checks.CREATOR_PROFILE, "url"),)
