"""The issuer binds the institution a subject names to itself with the verifier's comparison.

`issuance.bind_subject` refuses a degree's institution, an employment's employer and (since
check 6 fails a credential naming another institution than its signer) a badge achievement's
``creator`` that is not the issuing institution. It compared names as NFKC letters and digits,
the verifier (check 6, the profession) as case, punctuation and spacing aside: the issuer signed
"UniofTests" or the same name in full-width letters for "Uni of Tests". Both now use
`credential.text.same_name`, which takes either comparison, so whatever the issuer signs (and
signed before), check 6 accepts as the issuer's own.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from talentproof.credential.errors import SchemaValidationError
from talentproof.credential.issuance import bind_subject
from talentproof.verifier.facts import bind, fact_of

from .test_cred_issuance import IDENTITY, SUBJECTS

BADGE = "OpenBadgeCredential"
OWN_NAMES = [
    "Uni of Tests",
    "uni  OF tests.",
    " UNI-OF-TESTS ",
    "Uni, of Tests!",
    # what bind_subject signed before it compared as the verifier does: still the issuer's name
    "UniofTests",
    "Ｕｎｉ ｏｆ Ｔｅｓｔｓ",
]
OTHER_NAMES = ["Uni of Tests Ltd", "Uni of Testz", "Unі of Tests", "HSBC", "...", ""]


def _with_party(kind: str, party: Any) -> dict[str, Any]:
    subject = copy.deepcopy(SUBJECTS[kind])
    if kind == "EmploymentCredential":
        subject["employment"]["employer"] = party
    elif kind == "DegreeCredential":
        subject["degree"]["institution"] = party
    else:
        subject["achievement"]["creator"] = party
    return subject


def _verifier_binds(kind: str, subject: dict[str, Any]) -> bool:
    """Whether the verifier takes the subject's named party for the issuer (check 6's words)."""
    doc = {"type": ["VerifiableCredential", kind], "credentialSubject": subject}
    fact = fact_of("", doc)
    assert fact is not None
    return bind(fact, IDENTITY.did, IDENTITY.name).unbound is None


@pytest.mark.parametrize("kind", ["DegreeCredential", "EmploymentCredential", BADGE])
@pytest.mark.parametrize("name", OWN_NAMES)
def test_the_issuers_own_name_written_otherwise_is_bound_and_verifies(kind, name) -> None:
    party = (
        {"name": name, "registrationId": "HK-1"}
        if kind == "EmploymentCredential"
        else {"name": name}
    )
    bound = bind_subject(kind, _with_party(kind, party), IDENTITY)
    assert _verifier_binds(kind, bound)


@pytest.mark.parametrize("kind", ["DegreeCredential", "EmploymentCredential", BADGE])
@pytest.mark.parametrize("name", OTHER_NAMES)
def test_a_name_the_verifier_does_not_take_for_the_issuer_is_refused(kind, name) -> None:
    party = (
        {"name": name, "registrationId": "HK-1"}
        if kind == "EmploymentCredential"
        else {"name": name}
    )
    subject = _with_party(kind, party)
    assert not _verifier_binds(kind, subject)
    with pytest.raises(SchemaValidationError) as err:
        bind_subject(kind, subject, IDENTITY)
    assert err.value.field.endswith(".name"), err.value.field
    assert "Uni of Tests" in str(err.value)


@pytest.mark.parametrize(
    ("creator", "field"),
    [
        ({"id": "did:web:hsbc.com", "name": "Uni of Tests"}, "creator.id"),
        ("did:web:hsbc.com", "creator.id"),
        (5, "creator"),
        ({"name": 7}, "creator.name"),
    ],
)
def test_a_badge_creator_of_another_party_is_refused(creator, field) -> None:
    subject = _with_party(BADGE, creator)
    with pytest.raises(SchemaValidationError) as err:
        bind_subject(BADGE, subject, IDENTITY)
    assert err.value.field == f"credentialSubject.achievement.{field}"
    assert not _verifier_binds(BADGE, subject)


def test_a_badge_of_its_own_creator_or_none_is_left_as_it_is() -> None:
    for creator in (
        {"id": IDENTITY.did, "type": ["Profile"], "name": "uni of tests"},
        IDENTITY.did,
    ):
        subject = _with_party(BADGE, creator)
        assert bind_subject(BADGE, subject, IDENTITY) is subject  # nothing filled in
        assert _verifier_binds(BADGE, subject)
    plain = copy.deepcopy(SUBJECTS[BADGE])
    assert "creator" not in plain["achievement"]
    assert bind_subject(BADGE, plain, IDENTITY) is plain
    assert _verifier_binds(BADGE, plain)
