"""A folder's shared chain verdict, attacked from inside one anchored batch (real Anvil).

The folder mode (``talentproof verify FOLDER``) reads the chain for a whole chunk at once: the
credentials of one group (issuer DID, root, signing key, type) share one full
``verifyCredential`` verdict, each other member of the group costs the node one status read
(``contracts/utils/VerificationBatch.sol``), equal answers are decoded once (the ledger reader),
checks 5-8 are computed once per equal verdict (``memo.ChainChecksMemo``), check 9 once per
validity window, check 4 shares the Merkle inner nodes of earlier proofs, and a valid lone file's
outcome is copied. The attacker holds one accredited key of one institution and puts, in the
very batch (one root) of an honest valid credential, everything a shared answer could wrongly
carry over to it: a revoked, a suspended, a suspended-then-reinstated credential, duplicated
files of them, an expired and a not-yet-valid one, a valid credential with another leaf's Merkle
proof, an altered one, one signed with the institution's key that was revoked before the anchor,
one of a type the institution is not accredited for, one claiming another institution's DID,
and presentations (the revoked credential's; one signed by another holder than the subject).

Every file must get, in the folder (one process, and two worker processes with small chunks so
groups straddle chunks and ``VerificationBatch`` calls), exactly the verdict ``verify FILE``
gives it, and the expected one, now and as of times around each status change.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.anchor import split_anchor
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.merkle import credential_hash
from talentproof.credential.presentation import create_presentation
from talentproof.ledger import reader as ledger_reader
from talentproof.verifier import bulk, engine
from tests.chainkit import DEGREE, EMPLOYMENT, anchor_batch, build, holder, sign, sign_presentation

pytestmark = pytest.mark.integration
runner = CliRunner()

UNIVERSITY = "Folder Attack University"

# file name -> the check that must fail now (None: VALID). Names sort so that groups interleave
# and a valid credential of the main group comes first (the group's template).
NOW: dict[str, int | None] = {
    "00-valid.json": None,
    "01-revoked.json": 8,
    "02-valid-dup.json": None,
    "03-suspended.json": 8,
    "04-reinstated.json": None,
    "05-revoked-dup.json": 8,
    "06-expired.json": 9,
    "07-not-yet-valid.json": 9,
    "08-other-leaf-proof.json": 4,
    "09-altered.json": 3,
    "10-revoked-key.json": 7,
    "11-employment-not-accredited.json": 6,
    "12-claims-another-issuer.json": 5,
    "13-vp-revoked.json": 8,
    "14-vp-other-holder.json": 10,
    "15-vp-valid.json": None,
    "16-valid-again.json": None,
}


def _vp(creds: list[dict[str, Any]], key: Ed25519SigningKey) -> dict[str, Any]:
    return create_presentation(
        creds, key, challenge="c", domain="d", created=datetime.now(UTC).replace(microsecond=0)
    )


def _vp_by_another_holder(cred: dict[str, Any], key: Ed25519SigningKey) -> dict[str, Any]:
    """A presentation signed by ``key``'s holder of a credential about someone else (what
    `create_presentation` refuses to make)."""
    doc = {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://talentproof.org/contexts/v1"],
        "type": ["VerifiablePresentation"],
        "holder": key.public_key.did_key,
        "verifiableCredential": [cred],
    }
    return sign_presentation(
        doc,
        key,
        challenge="c",
        domain="d",
    )


@pytest.fixture(scope="module")
def batch(vchain, tmp_path_factory):
    """One anchored root of the university holding every case, the status changes made a few
    seconds apart after the anchor, and the as-of times around them."""
    chain = vchain
    uni = chain.issuers.get(UNIVERSITY) or chain.add_issuer(
        UNIVERSITY, (DEGREE,), fresh_account=True
    )
    hsbc = chain.issuers["HSBC"]
    old_key = Ed25519SigningKey.generate()  # registered, then revoked before the anchor
    chain.governor.add_signing_key(uni.issuer_id, old_key.public_key.raw)
    chain.governor.revoke_signing_key(uni.issuer_id, old_key.public_key.raw)

    now = datetime.now(UTC)
    h1, h2 = holder(), holder()
    s1 = h1.public_key.did_key

    def degree(**kw: Any) -> dict[str, Any]:
        return build(DEGREE, uni.did, kw.pop("subject", s1), institution=UNIVERSITY, **kw)

    signed = {
        "valid": sign(degree(), uni.key),
        "revoked": sign(degree(), uni.key),
        "suspended": sign(degree(), uni.key),
        "reinstated": sign(degree(), uni.key),
        "expired": sign(
            degree(valid_from=now - timedelta(days=3), valid_until=now - timedelta(hours=1)),
            uni.key,
        ),
        "not-yet-valid": sign(degree(valid_from=now + timedelta(days=2)), uni.key),
        "other-leaf": sign(degree(), uni.key),
        "altered": sign(degree(), uni.key),
        "revoked-key": sign(degree(), old_key),
        "employment": sign(
            build(EMPLOYMENT, uni.did, s1, employer=UNIVERSITY), uni.key
        ),  # the university is accredited for degrees only
        "another-issuer": sign(
            build(DEGREE, hsbc.did, s1, institution="HSBC"), uni.key
        ),  # HSBC's DID, the university's key, the university's root
        "valid-again": sign(degree(), uni.key),
    }
    names = list(signed)
    anchored = dict(
        zip(
            names,
            anchor_batch([signed[n] for n in names], uni.client, chain.deployment),
            strict=True,
        )
    )
    anchor_time = chain.latest_timestamp()

    # the valid credential with another leaf's proof (its own hash, that leaf's path)
    other_leaf = dict(anchored["other-leaf"])
    other_leaf["proof"] = [
        p for p in other_leaf["proof"] if p.get("type") != "TalentProofAnchor"
    ] + [p for p in anchored["valid"]["proof"] if p.get("type") == "TalentProofAnchor"]
    altered = json.loads(json.dumps(anchored["altered"]))
    altered["credentialSubject"]["degree"]["level"] = "doctorate"

    times: dict[str, int] = {"anchor": anchor_time}

    def step(label: str, tx: Any, *args: Any) -> None:
        chain.rpc("evm_increaseTime", [5])
        tx(*args)
        times[label] = chain.latest_timestamp()

    def chash(name: str) -> bytes:
        return credential_hash(split_anchor(anchored[name])[0])

    step("revoked", uni.client.revoke_credential, chash("revoked"))
    step("suspended", uni.client.suspend_credential, chash("suspended"))
    step("reinstated-suspended", uni.client.suspend_credential, chash("reinstated"))
    step("reinstated", uni.client.reinstate_credential, chash("reinstated"))

    files = {
        "00-valid.json": anchored["valid"],
        "01-revoked.json": anchored["revoked"],
        "02-valid-dup.json": anchored["valid"],
        "03-suspended.json": anchored["suspended"],
        "04-reinstated.json": anchored["reinstated"],
        "05-revoked-dup.json": anchored["revoked"],
        "06-expired.json": anchored["expired"],
        "07-not-yet-valid.json": anchored["not-yet-valid"],
        "08-other-leaf-proof.json": other_leaf,
        "09-altered.json": altered,
        "10-revoked-key.json": anchored["revoked-key"],
        "11-employment-not-accredited.json": anchored["employment"],
        "12-claims-another-issuer.json": anchored["another-issuer"],
        "13-vp-revoked.json": _vp([anchored["revoked"]], h1),
        "14-vp-other-holder.json": _vp_by_another_holder(anchored["valid"], h2),
        "15-vp-valid.json": _vp([anchored["valid"]], h1),
        "16-valid-again.json": anchored["valid-again"],
    }
    assert set(files) == set(NOW)
    folder = tmp_path_factory.mktemp("shared-verdict") / "folder"
    folder.mkdir()
    for name, doc in files.items():
        (folder / name).write_text(json.dumps(doc))
    record = folder.parent / "deployment.json"
    chain.deployment.save(record)
    return {"chain": chain, "folder": folder, "record": str(record), "times": times}


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """This machine's time when the test starts, the verifier's clock for the whole test
    (``engine.Verifier.clock`` reads ``engine.datetime``; forked folder workers inherit it).

    A verification as of now is judged by the clock when it starts, and its words name that
    minute (check 9: 'Not yet valid on 2026-12-08 00:29 UTC'): ``verify FILE`` and the folder
    run seconds apart, so a comparison straddling a minute (more often under load) differed in
    those words alone, and today's date taken before midnight meant 00:00 UTC once the
    verifications ran after it."""
    frozen = datetime.now(UTC)

    class Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return frozen if tz is not None else frozen.replace(tzinfo=None)

    monkeypatch.setattr(engine, "datetime", Clock)
    return frozen


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def _as_ofs(times: dict[str, int]) -> dict[str | None, dict[str, int | None]]:
    """As-of time (None: now) -> the expected failing check of each file then."""
    before = dict(NOW)
    for name in (
        "01-revoked.json",
        "03-suspended.json",
        "05-revoked-dup.json",
        "13-vp-revoked.json",
    ):
        before[name] = None  # no status change yet
    during = dict(NOW)  # "reinstated" is suspended between its suspension and its reinstatement
    during["04-reinstated.json"] = 8
    return {
        None: NOW,
        _iso(times["anchor"]): before,
        _iso(times["reinstated-suspended"]): during,
        _iso(times["reinstated"]): NOW,
    }


def _failing_check(outcome: dict[str, Any]) -> int | None:
    if outcome["code"] == "VALID":
        return None
    assert outcome["code"] == "INVALID", outcome
    reason = outcome["reason"]
    marker = "check "
    at = reason.index(marker) + len(marker)
    return int(reason[at:].split(" ", 1)[0])


def _verify(env: dict[str, Any], *args: str) -> Any:
    return runner.invoke(
        app, ["verify", "--rpc", env["chain"].rpc_url, "--trust", env["record"], *args]
    )


def _single(env: dict[str, Any], path: Path, as_of: str | None) -> dict[str, Any]:
    """What ``verify FILE`` says of one file (the reference of every folder verdict)."""
    r = _verify(env, str(path), "--json", *(["--as-of", as_of] if as_of else []))
    return json.loads(r.output)["outcome"]


def _folder(env: dict[str, Any], as_of: str | None, workers: int) -> dict[str, dict[str, Any]]:
    args = [str(env["folder"]), "--json", "--workers", str(workers)]
    r = _verify(env, *args, *(["--as-of", as_of] if as_of else []))
    assert r.exit_code == 1, r.output  # some file is INVALID in every case
    return {res["source"]: res["outcome"] for res in json.loads(r.output)["results"]}


def _compact(env: dict[str, Any], as_of: str | None, workers: int) -> dict[str, str]:
    """The folder's text lines (the compact path: summaries, the shared valid outcome)."""
    args = [str(env["folder"]), "--workers", str(workers)]
    r = _verify(env, *args, *(["--as-of", as_of] if as_of else []))
    assert r.exit_code == 1, r.output
    lines = [ln for ln in r.output.splitlines() if ln.startswith(("✓", "✗", "!"))]
    out = {}
    for line in lines:
        name = line[2:].split(":", 1)[0].split(" [", 1)[0]
        out[name] = line
    return out


def _assert_folder_matches(env: dict[str, Any], workers: int) -> None:
    for as_of, expected in _as_ofs(env["times"]).items():
        single = {name: _single(env, env["folder"] / name, as_of) for name in sorted(expected)}
        assert {n: _failing_check(o) for n, o in single.items()} == expected, as_of
        folder = _folder(env, as_of, workers)
        assert folder == single, as_of
        lines = _compact(env, as_of, workers)
        assert set(lines) == set(expected), lines
        for name, check in expected.items():
            line = lines[name]
            if check is None:
                assert line.startswith("✓") and line.endswith("[VALID]"), line
            else:
                assert line.startswith("✗") and f": {check}. " in line, line


def test_a_shared_verdict_carries_nothing_over_in_one_process(batch, now):
    """One chunk, one process: each file's folder verdict is its `verify FILE` verdict, and the
    expected one, now and as of the anchor, during a suspension and at a reinstatement."""
    _assert_folder_matches(batch, workers=1)


def test_a_shared_verdict_carries_nothing_over_across_chunks_and_workers(batch, now, monkeypatch):
    """Two forked workers, chunks of 3 files and views calls of 5 queries: a group's members
    (and a presentation's) straddle chunks, worker tasks and ``VerificationBatch`` calls, so a
    template is read again, the degree-level windows land in other calls."""
    monkeypatch.setattr(bulk, "CHUNK", 3)
    monkeypatch.setattr(bulk, "TASK", 6)
    monkeypatch.setattr(ledger_reader, "BATCH_SIZE", 5)
    _assert_folder_matches(batch, workers=2)


def _folder_reports(env: dict[str, Any], as_of: str | None) -> dict[str, dict[str, Any]]:
    args = [str(env["folder"]), "--json", "--workers", "1"]
    r = _verify(env, *args, *(["--as-of", as_of] if as_of else []))
    assert r.exit_code == 1, r.output
    return {res["source"]: res for res in json.loads(r.output)["results"]}


def _single_report(env: dict[str, Any], name: str, as_of: str | None) -> dict[str, Any]:
    r = _verify(env, str(env["folder"] / name), "--json", *(["--as-of", as_of] if as_of else []))
    return json.loads(r.output)


def test_the_folder_and_one_file_are_judged_as_of_the_same_instant(batch, now):
    """One owner of "what instant is a verification as of" (``checks.as_of_instant``): the
    folder path and ``verify FILE`` report the same ``asOf`` and ``chainAsOf`` (and verdict) for
    an --as-of date without time (00:00 UTC that day), today's date (now), a date-time, and
    none (now: the chain's block time)."""
    anchor = datetime.fromtimestamp(batch["times"]["anchor"], UTC)
    today_date = now.date()
    # a day before the anchor that is not today: the session's chain clock, which other tests
    # move ahead of this machine's, may already be in tomorrow (the anchor's day before is then
    # today, which means now)
    day_before = min(anchor.date(), today_date) - timedelta(days=1)
    today = today_date.isoformat()
    midnight = datetime(day_before.year, day_before.month, day_before.day, tzinfo=UTC)
    stamp = now.isoformat().replace("+00:00", "Z")  # now: the verifier's clock, held
    expected = {
        day_before.isoformat(): (
            midnight.isoformat().replace("+00:00", "Z"),
            int(midnight.timestamp()),
        ),
        _iso(batch["times"]["reinstated-suspended"]): (
            _iso(batch["times"]["reinstated-suspended"]).replace("+00:00", "Z"),
            batch["times"]["reinstated-suspended"],
        ),
        today: (stamp, 0),  # today's date means now, not its 00:00 UTC
        None: (stamp, 0),
    }
    names = ["00-valid.json", "04-reinstated.json", "13-vp-revoked.json", "15-vp-valid.json"]
    for as_of, (as_of_text, chain_as_of) in expected.items():
        folder = _folder_reports(batch, as_of)
        for name in names:
            single = _single_report(batch, name, as_of)
            mine = folder[name]
            assert mine["outcome"] == single["outcome"], (as_of, name)
            assert mine["chainAsOf"] == single["chainAsOf"] == chain_as_of, (as_of, name)
            assert mine["asOf"] == single["asOf"] == as_of_text, (as_of, name)
        if as_of == day_before.isoformat():  # before the anchor: nothing is anchored yet
            assert all(r["outcome"]["code"] == "INVALID" for r in folder.values()), as_of
