"""The bulk template's fast paths against their references, on generated subjects and edge
cases: `claims.subject_facts_ok` (the fact check) gives `claims.subject_fact_problems`' answer,
a texts-only subject's bytes are the plain path's, and `issuance.bind_subject` with ``owned``
(the binding written into the subject) gives what its copies give."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talentproof.credential.claims import subject_fact_problems, subject_facts_ok
from talentproof.credential.errors import CredentialError
from talentproof.credential.issuance import (
    BulkTemplate,
    bind_subject,
    issue_credential,
    new_credential_ids,
)
from talentproof.credential.issuance.template import strings_only
from talentproof.credential.schemas import load_schema
from talentproof.credential.types import DEGREE, EMPLOYMENT, KINDS, OPEN_BADGE

from .test_cred_issuance import IDENTITY, NOW, SIGNER, SUBJECTS

TODAY = date(2026, 12, 6)

DATES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "1899-12-31",
            "1900-01-01",
            "1990-04-01",
            "2026-12-06",
            "2026-12-07",
            "2023-02-30",
            "2024-02-29",
            "2023-02-29",
            "2099-06-30",
            "2026-06-30T10:00:00Z",
            "2026-6-30",
            "",
            "1990-04-01\n",
        ]
    ),
    st.dates(min_value=date(1880, 1, 1), max_value=date(2030, 1, 1)).map(date.isoformat),
    st.integers(),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=1),
)


def _outer(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


GENERATED = st.builds(
    lambda birth, degree, job, start, end, award, shape: {
        **({} if birth is None else {"birthDate": birth}),
        "degree": _outer({"awardDate": award}) if shape == 0 else degree,
        "employment": _outer({"startDate": start, "endDate": end}) if shape == 0 else job,
        "activityStartDate": start,
    },
    DATES,
    st.one_of(st.none(), st.text(max_size=3), st.builds(lambda a: {"awardDate": a}, DATES)),
    st.one_of(st.none(), st.integers(), st.builds(lambda s: {"startDate": s}, DATES)),
    DATES,
    DATES,
    DATES,
    st.integers(0, 1),
)


@settings(max_examples=600, deadline=None)
@given(subject=GENERATED, kind=st.sampled_from(KINDS))
def test_fast_fact_check_answers_as_the_reference(subject: dict[str, Any], kind: str) -> None:
    assert subject_facts_ok(kind, subject, TODAY) == (
        not subject_fact_problems(kind, subject, TODAY)
    )


@pytest.mark.parametrize(
    ("kind", "subject", "ok"),
    [
        (DEGREE, {"birthDate": "1990-04-01", "degree": {"awardDate": "2026-06-30"}}, True),
        (DEGREE, {"birthDate": "2026-06-30", "degree": {"awardDate": "2026-06-30"}}, False),
        (DEGREE, {"degree": {"awardDate": "2026-12-07"}}, False),
        (DEGREE, {"birthDate": "1899-12-31"}, False),
        (EMPLOYMENT, {"employment": {"startDate": "2021-03-01", "endDate": "2020-01-31"}}, False),
        (EMPLOYMENT, {"employment": {"startDate": "2021-03-01", "endDate": "2021-03-01"}}, True),
        (OPEN_BADGE, {"activityStartDate": "2026-01-01T00:00:00Z"}, True),
        (OPEN_BADGE, {"activityStartDate": "2027-01-01T00:00:00Z"}, False),
        (DEGREE, "not a subject", False),
    ],
)
def test_fast_fact_check_edge_cases(kind: str, subject: Any, ok: bool) -> None:
    assert subject_facts_ok(kind, subject, TODAY) is ok
    if isinstance(subject, dict):
        assert ok == (not subject_fact_problems(kind, subject, TODAY))


def test_strings_only_schemas() -> None:
    """Degree and employment subjects hold texts only (the template skips the number scan);
    the Open Badge subject is open, so its subjects go through `jcs.canonicalize`."""
    subject = {kind: load_schema(kind)["properties"]["credentialSubject"] for kind in KINDS}
    assert strings_only(subject[DEGREE]) and strings_only(subject[EMPLOYMENT])
    assert not strings_only(subject[OPEN_BADGE])
    assert not strings_only({"type": "object", "properties": {"n": {"type": "integer"}}})
    assert not strings_only({"type": "object"})
    assert not strings_only({"enum": ["a", 1]})
    assert strings_only({"enum": ["a", "b"]}) and strings_only({"const": "Degree"})
    assert not strings_only({"anyOf": [{"type": "string"}]})
    assert not strings_only({"type": ["string", "null"]})


@pytest.mark.parametrize("text", ["Chan Tai Man", "陳大文", "Zoë \ue000 Ñ", "Ann \U0001f600 Lee"])
@pytest.mark.parametrize("kind", [DEGREE, EMPLOYMENT])
def test_texts_only_subject_bytes_are_the_plain_bytes(kind: str, text: str) -> None:
    """The template writes a texts-only subject as orjson does, except when a byte >= 0xEE may
    reorder its keys: byte for byte the plain path's credential either way."""
    subject = {**SUBJECTS[kind], "name": text}
    template = BulkTemplate(kind, identity=IDENTITY, signer=SIGNER, now=NOW)
    cid = new_credential_ids(1)[0]
    fast = template.issue_one({"credentialSubject": subject}, 3, cid)
    _signed, raw, digest = issue_credential(
        kind,
        {"credentialSubject": subject},
        identity=IDENTITY,
        signer=SIGNER,
        status_index=3,
        now=NOW,
        credential_id=cid,
    )
    assert fast == (cid, raw, digest)


PARTY = st.one_of(
    st.none(),
    st.just("not an object"),
    st.fixed_dictionaries(
        {},
        optional={
            "id": st.sampled_from([None, IDENTITY.did, "did:web:other.example", 7]),
            "name": st.sampled_from(
                [None, IDENTITY.name, "uni OF tests.", "Another University", 3, ""]
            ),
            "extra": st.just("kept"),
        },
    ),
)


@settings(max_examples=600, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    outer_key=st.sampled_from(["degree", "employment", "achievement"]),
    party_key=st.sampled_from(["institution", "employer", "issuer"]),
    party=PARTY,
    shape=st.integers(0, 3),
)
def test_owned_binding_gives_what_the_copies_give(
    kind: str, outer_key: str, party_key: str, party: Any, shape: int
) -> None:
    outer: Any = (
        {"level": "master", party_key: party}
        if shape == 0
        else {"level": "master"}
        if shape == 1
        else [party]
        if shape == 2
        else None
    )
    subject = {"id": "did:key:z6Mk", outer_key: outer}
    original = copy.deepcopy(subject)

    def bind(subject: dict[str, Any], owned: bool) -> Any:
        try:
            return bind_subject(kind, subject, IDENTITY, owned=owned)
        except CredentialError as exc:
            return (type(exc), str(exc), getattr(exc, "field", None))

    reference = bind(subject, False)
    assert subject == original  # the reference never writes into the subject
    owned = copy.deepcopy(subject)
    fast = bind(owned, True)
    assert fast == reference
    if isinstance(reference, tuple):
        assert owned == original  # refused: nothing written
    else:
        assert fast is owned  # bound in place
