"""The one issuance API: `issue_credentials` (template splice) has the plain path's outcomes.

For rows of every kind (valid, and refused for several reasons) `issue_credentials` gives each
row the outcome `issue_plain` gives it (accepted, or refused with the same field and message),
and an accepted row's bytes are, for the same credential id, those of `issue_credential`
(Ed25519 is deterministic). tests/issuer/test_bulk_template.py runs the same comparison on
generated requests (Hypothesis).
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from talentproof.credential import integrity, merkle
from talentproof.credential.examples import PERSON
from talentproof.credential.issuance import (
    KINDS,
    BulkTemplate,
    IssuerIdentity,
    Signer,
    issue_credential,
    issue_credentials,
    issue_plain,
    new_credential_ids,
)
from talentproof.credential.keys import Ed25519SigningKey

HOLDER = Ed25519SigningKey.from_seed(bytes(range(32))).public_key.did_key
IDENTITY = IssuerIdentity("did:web:uni.example", "Uni of Tests", "https://uni.example/status")
SIGNER = Signer(b"\x09" * 32, IDENTITY.did)
NOW = dt.datetime(2026, 5, 4, 3, 2, 1, tzinfo=dt.UTC)

SUBJECTS: dict[str, dict[str, Any]] = {
    "DegreeCredential": {
        "id": HOLDER,
        "degree": {
            "type": "Degree",
            "level": "master",
            "fieldOfStudy": "Fintech",
            "institution": {"name": "Uni of Tests"},
            "awardDate": "2025-06-30",
        },
        **PERSON,
    },
    "EmploymentCredential": {
        "id": HOLDER,
        "employment": {
            "type": "Employment",
            "employer": {"name": "Uni of Tests", "registrationId": "HK-1"},
            "role": "Engineer",
            "seniority": "senior",
            "startDate": "2021-01-04",
            "responsibilities": ["custody"],
            "domains": ["digital assets"],
        },
        **PERSON,
    },
    "OpenBadgeCredential": {
        "id": HOLDER,
        "type": ["AchievementSubject"],
        "achievement": {
            "id": "urn:uuid:0f3c2a4e-1111-4222-8333-444455556666",
            "type": ["Achievement"],
            "name": "Security",
            "description": "Smart-contract security",
            "criteria": {"narrative": "Passed"},
            "achievementType": "Certificate",
        },
        **PERSON,
    },
}


#: The subject member holding each kind's claim, and the members a subject of each kind may not
#: hold (`types.KIND_CLAIMS`).
CLAIM_KIND = {"degree": "DegreeCredential", "employment": "EmploymentCredential"}
OTHER_CLAIMS = {kind: [m for m, owner in CLAIM_KIND.items() if owner != kind] for kind in SUBJECTS}


def issued_plainly(kind: str, request: Any, index: int, cid: str) -> tuple[Any, bytes, bytes]:
    """`issue_credential` of ``request`` with this module's issuer, key and time: the reference."""
    return issue_credential(
        kind,
        request,
        identity=IDENTITY,
        signer=SIGNER,
        status_index=index,
        now=NOW,
        credential_id=cid,
    )


def rows(kind: str) -> list[tuple[int, Any, int]]:
    good = {"credentialSubject": copy.deepcopy(SUBJECTS[kind])}
    extra = copy.deepcopy(good)
    extra["credentialSubject"]["unexpected"] = "x"
    holder = copy.deepcopy(good)
    holder["credentialSubject"]["id"] = "did:key:z6Mkbad"
    windowed = {
        **copy.deepcopy(good),
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2030-01-01T00:00:00Z",
        "name": "N",
        "description": "\u2028 d",
    }
    backwards = {
        **copy.deepcopy(good),
        "validFrom": "2027-01-01T00:00:00Z",
        "validUntil": "2026-01-01T00:00:00Z",
    }
    # another kind's claim member in the subject (a badge holding a degree, a degree holding an
    # employment): refused on both paths (`types.require_one_kind`), naming the member
    other_claims = []
    for member in OTHER_CLAIMS[kind]:
        request = copy.deepcopy(good)
        request["credentialSubject"][member] = copy.deepcopy(SUBJECTS[CLAIM_KIND[member]][member])
        other_claims.append(request)
    return [
        (0, good, 5),
        (1, extra, 6),
        (2, holder, 7),
        (3, ValueError("bad JSON"), 8),
        (4, windowed, 9),
        (5, backwards, 10),
        (6, {"credentialSubject": 7}, 11),
        *((7 + k, request, 12 + k) for k, request in enumerate(other_claims)),
    ]


def outcomes(results: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [
        (row, cid is not None, field, message) for row, cid, _raw, _h, field, message in results
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_issue_credentials_has_the_outcomes_of_the_plain_path(kind: str) -> None:
    fast = issue_credentials(kind, rows(kind), identity=IDENTITY, signer=SIGNER, now=NOW)
    plain = issue_plain(kind, rows(kind), identity=IDENTITY, signer=SIGNER, now=NOW)
    assert outcomes(fast) == outcomes(plain)
    accepted = sum(ok for _r, ok, _f, _m in outcomes(fast))
    assert 2 <= accepted <= 3  # good and windowed (and, in an open badge, the extra property)
    # another kind's claim is refused by the template path too, naming the member (a badge
    # holding a degree was signed by the bulk path while POST /credentials refused it)
    refused = {field for row, ok, field, _m in outcomes(fast) if row >= 7 and not ok}
    assert refused == {f"credentialSubject.{m}" for m in OTHER_CLAIMS[kind]}, outcomes(fast)
    for _row, cid, raw, digest, _f, _m in fast:
        if cid is not None:
            doc = orjson.loads(raw)
            assert digest == merkle.credential_hash(doc)
            integrity.verify(doc, public_key=SIGNER.key.public_key)


@pytest.mark.parametrize("kind", KINDS)
def test_template_bytes_are_the_plain_bytes(kind: str) -> None:
    template = BulkTemplate(kind, identity=IDENTITY, signer=SIGNER, now=NOW)
    assert template.enabled
    for (_row, request, index), cid in zip(
        rows(kind), new_credential_ids(len(rows(kind))), strict=True
    ):
        if isinstance(request, Exception):
            continue
        fast = template.issue_one(request, index, cid)
        if fast is None:
            continue  # the plain path issues or refuses it (compared above)
        signed, raw, digest = issued_plainly(kind, request, index, cid)
        assert fast == (cid, raw, digest) and signed["id"] == cid


# -- a request of a subject alone: the template's shortest path --------------------------------

_ODD_VALUES = st.one_of(
    st.none(),
    st.integers(-(2**60), 2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
    st.sampled_from(["", " x", "x ", "\u2028", "\x00", "\ufffe\uffff", "é" * 3, "2025-02-30"]),
    st.text(max_size=12),
)


@st.composite
def _subject_only_requests(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A request holding only ``credentialSubject``: a valid subject of a kind, left alone or
    with one to three of its fields (at any depth) removed, replaced by an odd value, or
    added."""
    kind = draw(st.sampled_from(sorted(KINDS)))
    subject = copy.deepcopy(SUBJECTS[kind])
    for _ in range(draw(st.integers(0, 3))):
        target = subject
        while True:  # walk down to a random object
            inner = [k for k, v in target.items() if isinstance(v, dict)]
            if not inner or draw(st.booleans()):
                break
            target = target[draw(st.sampled_from(sorted(inner)))]
        action = draw(st.sampled_from(["drop", "replace", "add"]))
        keys = sorted(target)
        if action == "drop" and keys:
            target.pop(draw(st.sampled_from(keys)))
        elif action == "replace" and keys:
            target[draw(st.sampled_from(keys))] = draw(_ODD_VALUES)
        else:
            target[draw(st.sampled_from(["extra", "name", "id", "awardDate", "n"]))] = draw(
                _ODD_VALUES
            )
    return kind, {"credentialSubject": subject}


TEMPLATES = {kind: BulkTemplate(kind, identity=IDENTITY, signer=SIGNER, now=NOW) for kind in KINDS}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_subject_only_requests(), st.integers(0, 2**40))
def test_a_subject_alone_has_the_plain_bytes_or_goes_the_plain_way(
    case: tuple[str, dict[str, Any]], index: int
) -> None:
    """`BulkTemplate.issue_one` of a request holding only the subject (`_issue_subject`, most
    bulk rows) accepts only what `issue_credential` accepts, with its bytes; anything else it
    leaves to the plain path (None)."""
    kind, request = case
    template = TEMPLATES[kind]
    cid = new_credential_ids(1)[0]
    fast = template.issue_one(copy.deepcopy(request), index, cid, owned=True)
    try:
        _signed, raw, digest = issued_plainly(kind, request, index, cid)
    except Exception:  # refused (or not signable) by the plain path
        assert fast is None, "the template accepted a subject the plain path refuses"
        return
    if fast is not None:
        assert fast == (cid, raw, digest)


def test_a_subject_alone_takes_the_shortest_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The subject-alone path is really taken for the kinds it serves (not silently always
    the general one), and its bytes are the general path's and the plain path's."""
    taken: list[str] = []
    # private on purpose: this test is about the template's subject-alone shortcut itself (that
    # `issue_one` takes it, and that switching it off gives the same bytes)
    issue_subject = BulkTemplate._issue_subject

    def counted(self: BulkTemplate, *args: Any) -> Any:
        taken.append(self.kind)
        return issue_subject(self, *args)

    monkeypatch.setattr(BulkTemplate, "_issue_subject", counted)
    cid = "urn:uuid:0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b"
    for kind in KINDS:
        template = BulkTemplate(kind, identity=IDENTITY, signer=SIGNER, now=NOW)
        request = {"credentialSubject": copy.deepcopy(SUBJECTS[kind])}
        taken.clear()
        fast = template.issue_one(request, 5, cid)
        # an open badge's name may come from its achievement: the general path serves it
        assert taken == ([] if kind == "OpenBadgeCredential" else [kind])
        assert fast is not None
        template._subject_only = False  # the general path, for the same request
        assert template.issue_one(request, 5, cid) == fast
        assert fast[1] == issued_plainly(kind, request, 5, cid)[1]
