"""The person at the counter and the time asked about, attacked with one accredited key (real Anvil).

Person (checks 11, 12), on the session chain:

- one holder DID, one name and birth date, but one credential's identity-document commitment made
  with another salt (the same number), or missing: not one applicant (check 11), and with the
  officer's number and the holder's salt that credential fails check 12; the profession is not met;
- the same person's name written in NFC and in NFD by two issuers: two strings, refused (check 11),
  never merged into one person;
- the officer's number typed with full-width digits, a confusable letter or NFD: never compared as
  if it were the committed number (NOT VERIFIABLE, naming the characters), while the HKID spellings
  of one number (``A123456(7)``, ``a 123456 (7)``, ``A1234567``) all match and a wrong check digit
  does not.

Time (checks 5-9), on a chain of this module's own (its clock is moved forward):

- a signing key, or a credential type, granted by governance with a ``validFrom`` in the future:
  a credential anchored before that time fails check 7 (or 6), now that the time has passed too,
  and as of a time after it (the key and the type are judged at the anchor's block time);
- a ``validUntil`` between the anchor's block time and now: expired now, valid as of a time
  between.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential import person as c_person
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.qr import encode_payload
from talentproof.ledger.nodes import anvil
from talentproof.verifier.engine import Item
from talentproof.verifier.policy import DEFAULT_POLICY, load_policy
from talentproof.verifier.report import CheckId, Outcome, Status, Verdict
from tests.chainkit import (
    DEGREE,
    ID_NUMBER,
    ID_SALT,
    PERSON,
    Chain,
    dlt_expert_credentials,
    holder,
    issue,
    populate,
    setup_chain,
)

pytestmark = pytest.mark.integration
PROFESSION = "hk-dlt-expert"
OTHER_SALT = c_person.new_salt()


def _apply(chain: Chain, creds: dict[str, dict[str, Any]], **kw: Any):  # type: ignore[no-untyped-def]
    items = [Item(f"{name}.json", doc) for name, doc in creds.items()]
    return chain.verifier().verify_application(
        items, policy=load_policy(DEFAULT_POLICY), profession=PROFESSION, **kw
    )


def _check(report, cid: CheckId):  # type: ignore[no-untyped-def]
    return next(c for c in report.checks if c.id is cid)


@pytest.fixture(scope="module")
def person_env(vchain: Chain) -> dict[str, Any]:
    me = holder().public_key.did_key
    own = dlt_expert_credentials(vchain, me)
    uni = vchain.issuers["University of Hong Kong"]
    resalted = dict(PERSON["identityDocument"])
    resalted["commitment"] = c_person.commit_identity_document("HKID", "HK", ID_NUMBER, OTHER_SALT)
    other_salt = issue(vchain, uni, DEGREE, me, person={**PERSON, "identityDocument": resalted})
    bare = issue(vchain, uni, DEGREE, me, tweak=lambda s: s.pop("identityDocument"))
    accented = "CHAN Tai Man José"
    nfc = issue(
        vchain, uni, DEGREE, me, person={**PERSON, "name": unicodedata.normalize("NFC", accented)}
    )
    nfd = issue(
        vchain, uni, DEGREE, me, person={**PERSON, "name": unicodedata.normalize("NFD", accented)}
    )
    cyrillic = issue(
        vchain, uni, DEGREE, me, person={**PERSON, "name": accented.replace("a", "\u0430", 1)}
    )
    wong = issue(vchain, uni, DEGREE, me, person={**PERSON, "name": "WONG Siu Ming"})
    return {
        "wong": wong,
        "cyrillic": cyrillic,
        "own": own,
        "other_salt": other_salt,
        "bare": bare,
        "nfc": nfc,
        "nfd": nfd,
        "me": me,
    }


def test_control_the_complete_application_meets(vchain, person_env):
    report = _apply(vchain, person_env["own"], id_number=ID_NUMBER, id_salt=ID_SALT)
    assert report.outcome.outcome is Outcome.VALID_MEETS, report.outcome


@pytest.mark.parametrize("extra", ["other_salt", "bare"])
def test_a_degree_with_another_or_no_commitment_is_not_the_applicants(vchain, person_env, extra):
    """The complete application plus a degree of the same holder DID, name and birth date whose
    commitment was made with another salt, or that carries no identity document at all."""
    creds = {**person_env["own"], "degree": person_env[extra]}
    report = _apply(vchain, creds)
    same = _check(report, CheckId.SAME_APPLICANT)
    assert same.status is Status.FAIL, same.message
    assert "identity document" in same.message, same.message
    assert report.verdict is Verdict.INVALID and not report.profession.met
    checked = _apply(vchain, creds, id_number=ID_NUMBER, id_salt=ID_SALT)
    doc = _check(checked, CheckId.IDENTITY_DOCUMENT)
    assert doc.status is Status.FAIL, doc.message
    assert "degree.json" in doc.message, doc.message
    assert not checked.profession.met
    # alone, with the officer's number: never "the same document"
    alone = _apply(vchain, {"degree": person_env[extra]}, id_number=ID_NUMBER, id_salt=ID_SALT)
    assert _check(alone, CheckId.IDENTITY_DOCUMENT).status is Status.FAIL
    assert alone.verdict is Verdict.INVALID


def test_the_other_salt_opens_only_its_own_commitment(vchain, person_env):
    """The holder's other salt given by the officer: check 12 fails on every credential committed
    with the holder's salt (a salt is not a way to match someone else's commitments)."""
    report = _apply(vchain, person_env["own"], id_number=ID_NUMBER, id_salt=OTHER_SALT)
    assert _check(report, CheckId.IDENTITY_DOCUMENT).status is Status.FAIL
    assert not report.profession.met


def test_one_name_in_nfc_and_nfd_is_one_person(vchain, person_env):
    """Two issuers writing one name (an accented letter) in NFC and in NFD: canonically
    equivalent texts, rendered alike. Check 11 said "different people (name differ)", naming the
    same-looking name twice (INVALID for an honest applicant, the officer shown no difference);
    the names are compared in NFC. A look-alike letter (Cyrillic) is another name still."""
    report = _apply(vchain, {"a": person_env["nfc"], "b": person_env["nfd"]})
    same = _check(report, CheckId.SAME_APPLICANT)
    assert same.status is Status.PASS, same.message
    assert report.verdict is Verdict.VALID, report.outcome
    lookalike = _apply(vchain, {"a": person_env["nfc"], "b": person_env["cyrillic"]})
    other = _check(lookalike, CheckId.SAME_APPLICANT)
    assert other.status is Status.FAIL and "name" in other.message, other.message
    # the two names render alike: the message shows where they differ (it did not)
    assert "U+0061 LATIN SMALL LETTER A" in other.message, other.message
    assert "U+0430 CYRILLIC SMALL LETTER A" in other.message, other.message
    # two names an officer tells apart by reading them: no such detail
    two = _apply(vchain, {"a": person_env["nfc"], "b": person_env["wong"]})
    assert "character" not in _check(two, CheckId.SAME_APPLICANT).message


@pytest.mark.parametrize("number", ["A123456(7)", "a 123456 (7)", "A1234567", "A-123456/7."])
def test_spellings_of_the_committed_number_match(vchain, person_env, number):
    report = _apply(vchain, person_env["own"], id_number=number, id_salt=ID_SALT)
    assert _check(report, CheckId.IDENTITY_DOCUMENT).status is Status.PASS, number
    assert report.outcome.outcome is Outcome.VALID_MEETS


@pytest.mark.parametrize("number", ["A123456(8)", "A12345678", "B123456(7)", "A123456"])
def test_another_number_does_not_match(vchain, person_env, number):
    report = _apply(vchain, person_env["own"], id_number=number, id_salt=ID_SALT)
    assert _check(report, CheckId.IDENTITY_DOCUMENT).status is Status.FAIL, number
    assert report.verdict is Verdict.INVALID and not report.profession.met


@pytest.mark.parametrize(
    "number",
    [
        "Ａ１２３４５６(７)",  # full-width letter and digits
        "A１２３４５６(7)",  # full-width digits only
        "А123456(7)",  # Cyrillic A
        "A123456(7)\u200b",  # a zero-width space after it
        "A123456(7)\n",
        "A１23456(7)".replace("１", "\u0661"),  # an Arabic-Indic one
        unicodedata.normalize("NFD", "Å123456(7)"),
    ],
)
def test_a_number_typed_in_other_characters_is_never_compared(vchain, person_env, number):
    report = _apply(vchain, person_env["own"], id_number=number, id_salt=ID_SALT)
    doc = _check(report, CheckId.IDENTITY_DOCUMENT)
    assert doc.status is Status.ERROR, (number, doc.message)
    assert "ASCII letters, digits" in doc.message, doc.message
    # the characters refused are named by code point, never the ones the number may hold
    assert "U+" in doc.message and "'('" not in doc.message, doc.message
    assert report.outcome.outcome is Outcome.NOT_VERIFIABLE, report.outcome
    assert not report.profession.met


HOSTILE_NUMBERS = [
    "A123456(7)",
    "a 123456 (7)",
    "11010519491231002X",
    "123-456/789.0",
    "ß12345",  # upper-cases to "SS12345"
    "\ufb001",  # the ligature ff: "FF1"
    "\u0131123",  # dotless i: "I123"
    "\u017f1",  # long s: "S1"
    "Ａ１２３",
    "A\u0661",
    "A1\t2",
    "A1\n",
    "",
    " ()-/.",
    "K\u212a",  # the Kelvin sign
]


def test_the_wallet_normalizes_document_numbers_as_person_py():
    """The browser wallet's twin of `normalize_document_number` (wallet/static/core.js, run by
    node) upper-cased before refusing non-ASCII: "ß12345", "\\ufb001", "\\u0131123" and "\\u017f1" became
    "SS12345", "FF1", "I123" and "S1" there, refused by person.py. Both now refuse the same
    numbers and normalize the rest alike."""
    node = shutil.which("node")
    assert node is not None, "node is not installed (make setup-system installs it)"
    script = (
        "const W = require(process.argv[1]).TalentProofWallet; const out = [];"
        "for (const n of JSON.parse(process.argv[2])) {"
        " try { out.push(W.normalizeDocumentNumber(n)); } catch (e) { out.push(null); } }"
        "console.log(JSON.stringify(out));"
    )
    core = Path(__file__).resolve().parents[2] / "wallet" / "static" / "core.js"
    run = subprocess.run(
        [node, "-e", script, str(core), json.dumps(HOSTILE_NUMBERS)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    js = json.loads(run.stdout)

    def py(n: str) -> str | None:
        try:
            return c_person.normalize_document_number(n)
        except ValueError:
            return None

    assert dict(zip(HOSTILE_NUMBERS, js, strict=True)) == {n: py(n) for n in HOSTILE_NUMBERS}
    assert py("ß12345") is None and py("a 123456 (7)") == "A1234567"


# --------------------------------------------------------------------------- time


@pytest.fixture(scope="module")
def timed() -> Iterator[dict[str, Any]]:
    day = 86400
    with anvil() as node:
        chain = populate(setup_chain(node))
        now = chain.latest_timestamp()
        # a key and a type granted from tomorrow on, to an issuer that can anchor today
        uni = chain.add_issuer("Early University", (DEGREE,))
        later_key = Ed25519SigningKey.generate()
        chain.governor.add_signing_key(uni.issuer_id, later_key.public_key.raw, now + day)
        early_key_doc = issue(chain, uni, DEGREE, holder().public_key.did_key, key=later_key)
        badge_school = chain.add_issuer("Early College", ())
        chain.governor.grant_credential_type(badge_school.issuer_id, DEGREE, now + day)
        early_type_doc = issue(
            chain, badge_school, DEGREE, holder().public_key.did_key, institution="Early College"
        )
        # a credential valid until an hour from now (on the chain's clock)
        home = chain.issuers["University of Hong Kong"]
        until = datetime.fromtimestamp(now + 3600, UTC)
        short = issue(
            chain,
            home,
            DEGREE,
            holder().public_key.did_key,
            valid_from=until - timedelta(days=2),
            valid_until=until,
        )
        anchored = chain.latest_timestamp()
        chain.rpc("evm_increaseTime", [2 * day])
        chain.rpc("evm_mine", [])
        yield {
            "chain": chain,
            "start": now,
            "anchored": anchored,
            "key_doc": early_key_doc,
            "type_doc": early_type_doc,
            "short": short,
            "until": until,
        }


def _verifier(env: dict[str, Any]):  # type: ignore[no-untyped-def]
    head = env["chain"].latest_timestamp()
    return env["chain"].verifier(clock=lambda: datetime.fromtimestamp(head + 5, UTC))


@pytest.mark.parametrize(("doc", "cid"), [("key_doc", CheckId.KEY), ("type_doc", CheckId.ISSUER)])
def test_a_window_opening_after_the_anchor_does_not_reach_back(timed, doc, cid):
    v = _verifier(timed)
    for as_of in (None, datetime.fromtimestamp(timed["start"] + 86400 + 60, UTC)):
        report = v.verify_application([Item("d.json", timed[doc])], as_of=as_of)
        assert report.verdict is Verdict.INVALID, (as_of, report.outcome)
        failed = {c.id for c in report.credentials[0].checks if c.status is Status.FAIL}
        assert failed == {cid}, (as_of, failed)


def test_valid_until_between_the_anchor_and_now(timed):
    v = _verifier(timed)
    now = v.verify_application([Item("d.json", timed["short"])])
    assert now.verdict is Verdict.INVALID
    assert now.credentials[0].check(CheckId.VALIDITY).status is Status.FAIL
    between = datetime.fromtimestamp(timed["anchored"] + 60, UTC)
    assert between < timed["until"]
    then = v.verify_application([Item("d.json", timed["short"])], as_of=between)
    assert then.verdict is Verdict.VALID, then.outcome
    at_end = v.verify_application([Item("d.json", timed["short"])], as_of=timed["until"])
    assert at_end.verdict is Verdict.INVALID  # validUntil is exclusive


def test_cli_and_service_name_a_full_width_number(vchain, person_env, tmp_path):
    """The CLI's ``--id-number`` and the service's ``idNumber`` typed in full-width digits: NOT
    VERIFIABLE (exit 3, never 1 or 0), naming the first such character by its Unicode name."""
    number = "A１２３４５６(7)"
    paths = []
    for name, doc in person_env["own"].items():
        p = tmp_path / f"{name}.json"
        p.write_text(json.dumps(doc), "utf-8")
        paths.append(str(p))
    record = vchain.save_deployment(tmp_path)
    r = CliRunner().invoke(
        app,
        ["verify", "--rpc", vchain.rpc_url, "--trust", str(record), "--id-number", number]
        + ["--id-salt", ID_SALT, "--profession", PROFESSION, *paths],
    )
    assert r.exit_code == 3, r.output
    assert "FULLWIDTH DIGIT ONE" in r.stdout and "MEETS THE PROFESSION" not in r.stdout, r.stdout
    with vchain.service_client(str(record)) as client:
        answer = client.post(
            "/api/v1/verify",
            json={
                "payloads": [encode_payload(c) for c in person_env["own"].values()],
                "idNumber": number,
                "idSalt": ID_SALT,
                "profession": PROFESSION,
            },
        )
    assert answer.status_code == 200, answer.text[:300]
    body = answer.json()
    assert body["outcome"]["code"] == "NOT_VERIFIABLE", body["outcome"]
    assert "FULLWIDTH DIGIT ONE" in body["outcome"]["reason"], body["outcome"]
    assert body["profession"]["met"] is False
