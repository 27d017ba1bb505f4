"""A person's name holding a bidi override or isolate (U+202A-U+202E, U+2066-U+2069) or a C1
control (U+0080-U+009F) is refused at issuance (422 naming the field) and by check 2.

They were allowed (the schemas refused only C0 controls, DEL and line separators), and
TalentProof's own CLI and pages show them escaped (test_terminal_text_injection). But a
credential is read elsewhere too (other wallets, VC libraries' pages, printed copies) where
U+202E reverses what follows it: "CHAN Tai Man" can be made to display as another text, and
a C1 control is a terminal escape (U+009B is CSI). No name on a travel document holds one:
right-to-left names need no explicit override, and PRECIS (RFC 8264, section 9: Controls and
Default_Ignorable_Code_Point are disallowed in both string classes; the RFC 8266 nickname
profile inherits it) and Unicode UTS #39 refuse them in identifiers and names alike.
The C recognizers decline such a name (credential/native_patterns.h ``doubtful_in_name``), so
the reference path decides (tests/credential/test_native_schema_form.py compares them).

Real issuer service and Anvil; TalentProof's verifier (the C check 2 where it answers).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from talentproof.verifier.report import CheckId, Status, Verdict
from tests.chainkit import DEGREE, holder, issue
from tests.issuer.conftest import client, issuer_chain, make_service, service  # noqa: F401
from tests.issuer.issuer_helpers import bearer, degree_request, onboard

pytestmark = pytest.mark.integration

#: (what, a name holding it)
NAMES = [
    ("RLO U+202E", "CHAN Tai \u202enaM"),
    ("LRE U+202A", "CHAN \u202aTai Man"),
    ("PDF U+202C", "CHAN Tai Man\u202c x"),
    ("LRI U+2066", "CHAN \u2066Tai\u2069 Man"),
    ("PDI U+2069", "CHAN Tai\u2069 Man"),
    ("C1 U+0080", "CHAN\u0080 Tai Man"),
    ("CSI U+009B", "CHAN \u009b2J Tai Man"),
    ("C1 U+009F", "CHAN Tai Man\u009f."),
]


@pytest.mark.parametrize(("what", "name"), NAMES, ids=[w for w, _ in NAMES])
def test_issuance_refuses_the_name_naming_the_field(
    client: TestClient, what: str, name: str
) -> None:
    token = onboard(client)["api_key"]["token"]
    body = degree_request()
    body["credentialSubject"]["name"] = name
    r = client.post("/credentials", headers=bearer(token), json=body)
    assert r.status_code == 422, (what, r.status_code, r.text[:300])
    assert "credentialSubject.name" in r.text, r.text
    del body["credentialSubject"]["id"]
    r = client.post("/credential-offers", headers=bearer(token), json=body)
    assert r.status_code == 422 and "credentialSubject.name" in r.text, (what, r.text[:300])


def test_a_plain_right_to_left_name_is_still_issued(client: TestClient) -> None:
    """A name in a right-to-left script, as on its document (no explicit override)."""
    token = onboard(client)["api_key"]["token"]
    body = degree_request()
    body["credentialSubject"]["name"] = "محمد بن سلمان"
    r = client.post("/credentials", headers=bearer(token), json=body)
    assert r.status_code == 202, r.text


@pytest.mark.parametrize(("what", "name"), NAMES, ids=[w for w, _ in NAMES])
def test_check_2_refuses_a_signed_and_anchored_name(vchain: Any, what: str, name: str) -> None:
    uni = vchain.issuers["University of Hong Kong"]

    def named(subject: dict[str, Any]) -> None:
        subject["name"] = name

    doc = issue(vchain, uni, DEGREE, holder().public_key.did_key, tweak=named)
    assert doc["credentialSubject"]["name"] == name
    report = vchain.verifier().verify_document(doc)
    assert report.verdict is Verdict.INVALID, (what, report.verdict)
    found = report.check(CheckId.SCHEMA)
    assert found.status is Status.FAIL, (what, found.message)
    assert "credentialSubject.name" in found.message, found.message
    # the signature and the anchor are genuine: only the name is refused
    assert report.check(CheckId.SIGNATURE).status is Status.PASS
