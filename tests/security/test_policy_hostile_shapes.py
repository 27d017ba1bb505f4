"""A credential that fails check 2 cannot crash the profession's evaluation (real Anvil, then
the policy alone over every field).

The attack needs no key: the policy reads a fact from every credential of the application, the
ones that failed verification too (it names them: "not counted because they failed
verification"), and it read them as if check 2 had passed. An employment whose ``domains`` is
``true`` (or a number), a badge whose ``alignment`` or ``tag`` is one, or a credential whose
``id`` is a number raised ``TypeError`` out of ``Policy.evaluate``: one such QR code beside an
applicant's valid credentials, with a profession asked, ended the application with a traceback
(CLI) or a 500 (service, the officer's page), nothing reported. Such a credential is now named
as not counted, and the others are judged as usual.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import pytest

from talentproof.credential.presentation import create_presentation
from talentproof.credential.qr import encode_payload
from talentproof.verifier.engine import Item
from talentproof.verifier.policy import PolicyInput, load_policy
from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, build, holder, issue

pytestmark = pytest.mark.integration

PROFESSION = "hk-dlt-expert"
HOSTILE: list[Any] = [None, True, 0, -1, 1.5, "", "x", [], {}, [None], [1, [2]], {"a": 1}]


def _employment_with(doc: dict[str, Any], value: Any) -> dict[str, Any]:
    bad = copy.deepcopy(doc)
    bad["credentialSubject"]["employment"]["domains"] = value
    return bad


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):
    record = vchain.save_deployment(tmp_path_factory.mktemp("hostile"))
    key = holder()
    s = key.public_key.did_key
    creds = {
        "degree": issue(vchain, vchain.issuers["University of Hong Kong"], DEGREE, s),
        "employment": issue(vchain, vchain.issuers["HSBC"], EMPLOYMENT, s, start="2012-01-01"),
        "badge": issue(vchain, vchain.issuers["HKIB"], BADGE, s),
    }
    return {"vchain": vchain, "record": str(record), "key": key, "creds": creds}


@pytest.mark.parametrize("value", [True, -1, 1.5])
def test_an_employment_whose_domains_is_not_a_list_is_named_not_counted(env, value):
    creds = env["creds"]
    items = [Item(k, v) for k, v in creds.items()]
    items.append(Item("hostile", _employment_with(creds["employment"], value)))
    report = (
        env["vchain"]
        .verifier()
        .verify_application(items, policy=load_policy(None), profession=PROFESSION)
    )
    assert report.outcome.outcome.value == "INVALID", report.outcome  # its check 2 fails
    assert report.profession is not None  # evaluated (the hostile one does not count)
    assert report.credentials[-1].verdict.value == "invalid"


def test_a_presentation_whose_credential_id_is_a_number_is_judged(env):
    creds = env["creds"]
    vp = create_presentation(
        list(creds.values()),
        env["key"],
        challenge="c-1",
        domain="talentproof-verifier",
        created=datetime.now(UTC).replace(microsecond=0),
    )
    vp["verifiableCredential"][0]["id"] = 5  # after signing: the holder proof fails too
    report = (
        env["vchain"]
        .verifier()
        .verify_application(
            [Item("vp", vp)], challenge="c-1", policy=load_policy(None), profession=PROFESSION
        )
    )
    assert report.outcome.outcome.value == "INVALID", report.outcome


def test_service_answers_an_application_with_such_a_credential(env):
    creds = env["creds"]
    payloads = [encode_payload(v) for v in creds.values()]
    payloads.append(encode_payload(_employment_with(creds["employment"], True)))
    with env["vchain"].service_client(env["record"], raise_server_exceptions=False) as client:
        r = client.post("/api/v1/verify", json={"payloads": payloads, "profession": PROFESSION})
    assert r.status_code == 200, (r.status_code, r.text[:300])
    body = r.json()
    assert body["outcome"]["code"] == "INVALID", body["outcome"]
    assert body["profession"]["profession"] == PROFESSION


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    items = (
        obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    )
    for k, v in items:
        out.append((*prefix, k))
        out.extend(_paths(v, (*prefix, k)))
    return out


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for p in path[:-1]:
        doc = doc[p]
    doc[path[-1]] = value


@pytest.mark.parametrize("kind", [DEGREE, EMPLOYMENT, BADGE])
def test_the_policy_never_raises_on_any_field_of_any_shape(kind):
    """Every field of a (signed or not, it does not matter here) credential of each kind set to
    each hostile value, offered as failed and as passed: the evaluation always answers, and a
    credential that failed never counts."""
    policy = load_policy(None)
    base = build(kind, "did:web:hsbc.com", holder().public_key.did_key)
    if kind == BADGE:
        base["credentialSubject"]["achievement"]["tag"] = ["blockchain"]
        base["credentialSubject"]["completionDate"] = "2020-01-01"
    tried = 0
    for path in _paths(base):
        for value in HOSTILE:
            doc = copy.deepcopy(base)
            _set(doc, path, copy.deepcopy(value))
            for verified in (False, True):
                ref: Any = doc.get("id") or "c"  # the engine names a fact by the credential's id
                item = PolicyInput(ref, doc, verified, "did:web:hsbc.com", "HSBC", date(2026, 1, 1))
                result = policy.evaluate(PROFESSION, [item], date(2026, 6, 1))
                tried += 1
                if not verified:
                    assert not any(c.evidence for c in result.criteria), (path, value)
    assert tried > 500
