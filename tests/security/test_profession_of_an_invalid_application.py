"""An application that is not valid never says it meets a profession (real Anvil).

The attack: an applicant hands over a complete, valid set of credentials for the profession and
beside it one more credential that is not valid: a degree tampered after signing, a forgery
signed by a key the university never registered, a revoked or unanchored credential, an expired
one. The application's outcome is INVALID (the first failing check is named), but the policy
counted the credentials that were valid on their own and the report went on to say
"Talent List: MEETS" (the CLI's text, the page's card, ``profession.met`` in the JSON and the
receipt) under the INVALID line: the officer reads MEETS over a forgery. The same held under
NOT VERIFIABLE (an input that could not be read, a travel document that could not be compared).
As with checks 11 and 12 (tests/security/test_profession_of_one_applicant.py), the policy now
counts the credentials only of an application whose own outcome is valid: otherwise every
criterion is unmet, naming why (the invalid credential and its failed check).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.anchor import split_anchor
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.merkle import credential_hash
from talentproof.verifier.engine import Item
from talentproof.verifier.policy import DEFAULT_POLICY, load_policy
from talentproof.verifier.report import Verdict
from tests.chainkit import (
    BADGE,
    DEGREE,
    ID_NUMBER,
    ID_SALT,
    anchor_batch,
    build,
    dlt_expert_credentials,
    holder,
    issue,
    sign,
)

pytestmark = pytest.mark.integration
runner = CliRunner()
PROFESSION = "hk-dlt-expert"


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):
    d = tmp_path_factory.mktemp("invalid-application")
    record = vchain.save_deployment(d)
    mine = holder().public_key.did_key
    uni, hkib = (vchain.issuers[n] for n in ("University of Hong Kong", "HKIB"))
    # one person's complete application (CHAN Tai Man, HKID A123456(7)): it meets on its own
    own = dlt_expert_credentials(vchain, mine)
    # ... and beside it, one more credential of the same applicant that is not valid
    tampered = copy.deepcopy(issue(vchain, uni, DEGREE, mine, level="bachelor"))
    tampered["credentialSubject"]["degree"]["level"] = "doctorate"  # check 3
    forged = anchor_batch(  # signed by a key the university never registered: check 7
        [sign(build(DEGREE, uni.did, mine, level="master"), Ed25519SigningKey.generate())],
        uni.client,
        vchain.deployment,
    )[0]
    revoked = issue(vchain, uni, DEGREE, mine, level="master")  # check 8
    uni.client.revoke_credential(credential_hash(split_anchor(revoked)[0]))
    unanchored = anchor_batch(  # a root never anchored: check 5
        [sign(build(DEGREE, uni.did, mine, level="master"), uni.key)], None, vchain.deployment
    )[0]
    now = datetime.now(UTC).replace(microsecond=0)
    expired = issue(  # its validity ended yesterday: check 9
        vchain,
        hkib,
        BADGE,
        mine,
        valid_from=now - timedelta(days=400),
        valid_until=now - timedelta(days=1),
    )
    bad = {
        "tampered": tampered,
        "forged": forged,
        "revoked": revoked,
        "unanchored": unanchored,
        "expired": expired,
    }
    files: dict[str, list[str]] = {}
    for label, creds in (("own", own), ("tampered", {**own, "extra-degree": tampered})):
        paths = []
        for name, doc in creds.items():
            p = d / f"{label}-{name}.json"
            p.write_text(json.dumps(doc))
            paths.append(str(p))
        files[label] = paths
    garbage = d / "unreadable.json"
    garbage.write_text("{ this is not JSON")
    files["unreadable"] = [*files["own"], str(garbage)]
    with vchain.service_client(record) as client:
        yield {
            "chain": vchain,
            "record": str(record),
            "own": own,
            "bad": bad,
            "files": files,
            "client": client,
        }


def _engine(env, items, **kw):
    return (
        env["chain"]
        .verifier()
        .verify_application(items, policy=load_policy(DEFAULT_POLICY), profession=PROFESSION, **kw)
    )


def _items(creds):
    return [Item(name, doc) for name, doc in creds.items()]


def _not_met_naming(profession, *words: str) -> None:
    assert profession is not None
    assert not profession.met, profession
    for c in profession.criteria:
        assert not c.met, c
        for w in words:
            assert w in c.reason, c.reason


def test_control_the_valid_credentials_alone_meet(env):
    report = _engine(env, _items(env["own"]), id_number=ID_NUMBER, id_salt=ID_SALT)
    assert report.outcome.outcome.value == "VALID_MEETS", report.outcome


@pytest.mark.parametrize(
    ("bad", "check"),
    [
        ("tampered", "check 3"),
        ("forged", "check 7"),
        ("revoked", "check 8"),
        ("unanchored", "check 5"),
        ("expired", "check 9"),
    ],
)
def test_an_invalid_credential_beside_a_meeting_set_does_not_meet(env, bad, check):
    creds = {**env["own"], f"{bad}.json": env["bad"][bad]}
    report = _engine(env, _items(creds), id_number=ID_NUMBER, id_salt=ID_SALT)
    invalid = [r for r in report.credentials if r.verdict is Verdict.INVALID]
    assert [r.source for r in invalid] == [f"{bad}.json"], [r.verdict for r in report.credentials]
    assert report.outcome.outcome.value == "INVALID", report.outcome
    assert check in report.outcome.reason, report.outcome.reason
    _not_met_naming(report.profession, f"{bad}.json", check)


def test_an_unreadable_input_beside_a_meeting_set_does_not_meet(env):
    items = [*_items(env["own"]), Item("photo.png", None, error="no QR code found")]
    report = _engine(env, items, id_number=ID_NUMBER, id_salt=ID_SALT)
    assert report.outcome.outcome.value == "NOT_VERIFIABLE", report.outcome
    _not_met_naming(report.profession, "photo.png", "NOT VERIFIABLE")


def test_a_travel_document_not_compared_does_not_meet(env):
    """The officer typed the applicant's document number, but no salt to compare it with:
    check 12 could not be confirmed (NOT VERIFIABLE), so nothing is said to meet."""
    report = _engine(env, _items(env["own"]), id_number=ID_NUMBER)
    assert report.outcome.outcome.value == "NOT_VERIFIABLE", report.outcome
    _not_met_naming(report.profession, "check 12")


def test_cli_text_and_json_do_not_say_meets(env):
    base = ["verify", *env["files"]["tampered"], "--deployment", env["record"]]
    base += ["--rpc", env["chain"].rpc_url, "--profession", PROFESSION]
    text = runner.invoke(app, base)
    assert text.exit_code == 1, text.output
    assert "Result: INVALID" in text.output, text.output
    assert "MEETS '" not in text.output.replace("DOES NOT MEET", ""), text.output
    assert "Talent List: DOES NOT MEET" in text.output, text.output
    assert "tampered-extra-degree.json" in text.output.split("Talent List:")[1], text.output
    out = runner.invoke(app, [*base, "--json"])
    data = json.loads(out.stdout)
    assert data["outcome"]["code"] == "INVALID", data["outcome"]
    assert data["profession"]["met"] is False, data["profession"]
    assert all(c["met"] is False for c in data["profession"]["criteria"]), data["profession"]


def test_cli_unreadable_file_does_not_say_meets(env):
    base = ["verify", *env["files"]["unreadable"], "--deployment", env["record"]]
    base += ["--rpc", env["chain"].rpc_url, "--profession", PROFESSION, "--json"]
    out = runner.invoke(app, base)
    data = json.loads(out.stdout)
    assert data["outcome"]["code"] == "NOT_VERIFIABLE", data["outcome"]
    assert data["profession"]["met"] is False, data["profession"]


@pytest.mark.parametrize("bad", ["tampered", "forged", "revoked"])
def test_service_does_not_say_meets(env, bad):
    r = env["client"].post(
        "/api/v1/verify",
        json={"documents": [*env["own"].values(), env["bad"][bad]], "profession": PROFESSION},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["outcome"]["code"] == "INVALID", body["outcome"]
    assert body["profession"]["met"] is False, body["profession"]
    assert all(c["met"] is False for c in body["profession"]["criteria"]), body["profession"]


def test_receipts_do_not_say_meets_and_an_older_one_that_did_is_refused(env, tmp_path):
    from talentproof.verifier.receipt import (
        ReceiptError,
        generate_key_file,
        load_key,
        recheck_receipt,
        sign_receipt,
    )

    key = tmp_path / "verifier-key.json"
    generate_key_file(key)
    verifier = env["chain"].verifier()
    creds = {**env["own"], "tampered.json": env["bad"]["tampered"]}
    report = _engine(env, _items(creds), id_number=ID_NUMBER, id_salt=ID_SALT)
    _not_met_naming(report.profession, "tampered.json")
    receipt = sign_receipt(report, load_key(key), trust=verifier.trust)
    assert receipt["report"]["profession"]["met"] is False
    again = recheck_receipt(receipt, rpc=env["chain"].rpc_url)
    assert again["outcome"] == "INVALID", again
    # a receipt an earlier verifier signed over the same application, saying it met the
    # profession on the valid credentials (the profession evaluated as it was before)
    old_profession = _engine(
        env, _items(env["own"]), id_number=ID_NUMBER, id_salt=ID_SALT
    ).profession  # the valid ones counted, as the policy did before
    assert old_profession.met  # what the report said before
    old = sign_receipt(
        dataclasses.replace(report, profession=old_profession), load_key(key), trust=verifier.trust
    )
    assert old["report"]["profession"]["met"] is True
    with pytest.raises(ReceiptError, match="met=False, recorded hk-dlt-expert met=True"):
        recheck_receipt(old, rpc=env["chain"].rpc_url)


@pytest.mark.browser
def test_the_page_does_not_say_meets(env, tmp_path):
    """The officer's page (headless Chromium): the card says DOES NOT MEET, naming the forgery."""
    from selenium.webdriver.common.by import By

    from talentproof.credential.qr import encode_payload, render_png
    from tests.pages import chromium_open, verifier_service
    from tests.verifier.test_web_page import _verify_files

    files = []
    for name, doc in {**env["own"], "forged": env["bad"]["forged"]}.items():
        f = tmp_path / f"{name}.png"
        f.write_bytes(render_png(encode_payload(doc), scale=5))
        files.append(f)
    with (
        verifier_service(env["chain"], tmp_path) as server,
        chromium_open(tmp_path / "chromium-profile", 1200, 2400) as browser,
    ):
        verdict = _verify_files(browser, server, files, profession=PROFESSION)
        assert verdict.get_attribute("data-outcome") == "INVALID"
        card = browser.find_element(By.ID, "profession-result")
        assert card.get_attribute("data-met") == "false"
        assert "MEETS" not in card.text.replace("DOES NOT MEET", ""), card.text
        assert "forged.png failed check 7" in card.text, card.text


def test_an_openid4vp_answer_does_not_say_meets(env, tmp_path):
    """The wallet answers the officer's OpenID4VP request with the applicant's valid degree,
    employment and training, and a revoked second degree in the degree's presentation: the
    polled answer is INVALID and its profession unmet, naming the revoked one."""
    from talentproof.credential.presentation import create_presentation
    from tests.verifier.test_oid4vp import new_request, post, resolve

    chain = env["chain"]
    key = holder()
    s = key.public_key.did_key
    uni = chain.issuers["University of Hong Kong"]
    own = dlt_expert_credentials(chain, s)
    revoked = issue(chain, uni, DEGREE, s, level="master")
    uni.client.revoke_credential(credential_hash(split_anchor(revoked)[0]))
    with chain.service_client(chain.save_deployment(tmp_path), domain="verifier.example.hk") as c:
        created = new_request(c)
        _, p = resolve(c, created)

        def vp(creds):
            return create_presentation(
                creds,
                key,
                challenge=p["nonce"],
                domain=p["client_id"],
                created=datetime.now(UTC).replace(microsecond=0),
                identity_document_salt=ID_SALT,
            )

        token = {
            "degree": [vp([own["degree"], revoked])],
            "employment": [vp([own["employment"]])],
            "training": [vp([own["training"]])],
        }
        r = post(c, p, {"vp_token": json.dumps(token), "state": p["state"]})
        assert r.status_code == 200, r.text
        polled = c.get(f"/oid4vp/requests/{created['id']}").json()
    assert polled["state"] == "answered", polled
    assert polled["outcome"]["code"] == "INVALID", polled["outcome"]
    assert "check 8" in polled["outcome"]["reason"], polled["outcome"]
    prof = polled["report"]["profession"]
    assert prof["met"] is False, prof
    assert all(not c["met"] and "failed check 8" in c["reason"] for c in prof["criteria"]), prof
