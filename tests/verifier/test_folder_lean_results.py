"""A folder's results through the lean path (``bulk.LEAN``) are the reference path's, byte for
byte, and each file's verdict is the one ``talentproof verify FILE`` gives it (real Anvil).

The lean path judges a lone credential whose offline checks (1-4) all passed with shared
results: checks 5-8 and the verdict kept per (verdict read, kind, key,
claimed issuer, anchor, chain point...) key as before, and check 9 per (validFrom, validUntil,
as-of); a worker sends the parent a VALID file as its source alone, the parent writes its result.
The folder mixes what such sharing could get wrong: credentials of one anchored batch with one of
them revoked and one suspended (the same issuer, root, key and kind; another status), expired and
not-yet-valid ones, an unanchored batch, a degree signed by an issuer not accredited for degrees,
one naming another institution, a forged key, a tampered field, one refused by check 2 alone, a
badge and an employment (other kinds), a presentation, a copy of a valid file, an unreadable
file; in one process and in two worker processes, chunks of 3 (a batch straddles chunks and
tasks) and the default; as of one fixed instant (the default, now, is written in the words).
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.anchor import split_anchor
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.merkle import credential_hash
from talentproof.credential.presentation import create_presentation
from talentproof.verifier import bulk
from talentproof.verifier.engine import Verifier
from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, anchor_batch, build, holder, issue, sign

pytestmark = pytest.mark.integration
runner = CliRunner()


@pytest.fixture(scope="module")
def folder(vchain, tmp_path_factory):
    d = tmp_path_factory.mktemp("lean")
    record = vchain.save_deployment(d)
    files = d / "files"
    files.mkdir()
    uni, bank, hkib = (vchain.issuers[n] for n in ("University of Hong Kong", "HSBC", "HKIB"))
    now = datetime.now(UTC)
    docs: dict[str, dict] = {}
    # one anchored batch of degrees, one revoked and one suspended
    batch = anchor_batch(
        [
            sign(build(DEGREE, uni.did, holder().public_key.did_key, institution=uni.name), uni.key)
            for _ in range(7)
        ],
        uni.client,
        vchain.deployment,
    )
    uni.client.revoke_credential(credential_hash(split_anchor(batch[2])[0]))
    uni.client.suspend_credential(credential_hash(split_anchor(batch[4])[0]))
    for i, doc in enumerate(batch):
        docs[f"b{i}"] = doc
    docs["b0-copy"] = batch[0]
    # validity dates: expired, not yet valid (signed and anchored by the university)
    docs["expired"] = anchor_batch(
        [
            sign(
                build(
                    DEGREE,
                    uni.did,
                    holder().public_key.did_key,
                    institution=uni.name,
                    valid_from=now - timedelta(days=30),
                    valid_until=now - timedelta(days=1),
                ),
                uni.key,
            )
        ],
        uni.client,
        vchain.deployment,
    )[0]
    docs["not-yet-valid"] = anchor_batch(
        [
            sign(
                build(
                    DEGREE,
                    uni.did,
                    holder().public_key.did_key,
                    institution=uni.name,
                    valid_from=now + timedelta(days=3),
                ),
                uni.key,
            )
        ],
        uni.client,
        vchain.deployment,
    )[0]
    # a batch never anchored (its root on no chain)
    unanchored = anchor_batch(
        [
            sign(build(DEGREE, uni.did, holder().public_key.did_key, institution=uni.name), uni.key)
            for _ in range(2)
        ],
        None,
        vchain.deployment,
    )
    docs["unanchored-0"], docs["unanchored-1"] = unanchored
    # the bank signs a degree (not accredited for degrees); a degree naming another institution
    docs["other-issuer"] = issue(
        vchain, bank, DEGREE, holder().public_key.did_key, institution=bank.name
    )
    docs["other-institution"] = issue(
        vchain, uni, DEGREE, holder().public_key.did_key, institution="Another University"
    )
    # a key the university never registered; a field changed after signing
    stranger = Ed25519SigningKey.generate()
    docs["forged-key"] = anchor_batch(
        [sign(build(DEGREE, uni.did, holder().public_key.did_key, institution=uni.name), stranger)],
        uni.client,
        vchain.deployment,
    )[0]
    tampered = copy.deepcopy(batch[1])
    tampered["credentialSubject"]["degree"]["field"] = "Medicine"
    docs["tampered"] = tampered
    # signed and anchored by the university, refused by check 2 alone (a member no schema has)
    docs["schema-refused"] = issue(
        vchain,
        uni,
        DEGREE,
        holder().public_key.did_key,
        tweak=lambda subject: subject["degree"].__setitem__("field", "Medicine"),
    )
    # other kinds, a presentation
    s = holder()
    employment = issue(vchain, bank, EMPLOYMENT, s.public_key.did_key, start="2015-03-01")
    docs["employment"] = employment
    docs["badge"] = issue(vchain, hkib, BADGE, holder().public_key.did_key)
    degree = issue(vchain, uni, DEGREE, s.public_key.did_key)
    docs["presentation"] = create_presentation(
        [degree, employment], s, challenge="c", domain="talentproof-verifier", created=now
    )
    # interleave the batch with the others (file order is by name)
    for n, (name, doc) in enumerate(docs.items()):
        (files / f"{(n * 7) % len(docs):02d}-{name}.json").write_text(json.dumps(doc))
    (files / "99-garbage.json").write_bytes(b"{not json")
    # one as-of instant for every run (the default, now, is written in check 8's and 9's words),
    # after every anchor and status change above on the chain's clock: the session's chain runs
    # ahead of this machine's once other tests have moved it (evm_increaseTime), and an as-of of
    # this machine's clock then came before the anchors (nothing VALID, the lean path unused)
    at = max(vchain.latest_timestamp() + 1, int(datetime.now(UTC).timestamp()) + 1)
    as_of = datetime.fromtimestamp(at, UTC).isoformat()
    return {"dir": files, "record": str(record), "rpc": vchain.rpc_url, "as_of": as_of}


def _cli(folder, *args):
    return runner.invoke(
        app,
        [
            "verify",
            "--rpc",
            folder["rpc"],
            "--trust",
            folder["record"],
            "--as-of",
            folder["as_of"],
            *map(str, args),
        ],
    )


def _stable(text: str) -> str:
    """The output without what differs from run to run: the time taken and the progress bar."""
    if text.lstrip().startswith("{"):
        data = json.loads(text)
        data["summary"].pop("seconds")
        data["summary"].pop("perSecond")
        return json.dumps(data, indent=2, ensure_ascii=False)
    lines = [x for x in text.splitlines() if not x.startswith(("\r", "["))]
    return re.sub(r"\([0-9.]+/s\)", "(N/s)", "\n".join(lines))


@pytest.mark.parametrize("chunk", [3, 128])
def test_lean_folder_results_equal_the_reference_and_each_file_alone(folder, monkeypatch, chunk):
    monkeypatch.setattr(bulk, "CHUNK", chunk)
    told: list[bool] = []  # valid_alone's answers in this process (--workers 1, small folders)
    valid_alone = Verifier.valid_alone

    def counted(self, *a):
        told.append(valid_alone(self, *a))
        return told[-1]

    monkeypatch.setattr(Verifier, "valid_alone", counted)
    outputs = {}
    for lean in (False, True, False, True):
        monkeypatch.setattr(bulk, "LEAN", lean)
        for args in (("--json",), (), ("--json", "--workers", "1"), ("--workers", "1")):
            r = _cli(folder, folder["dir"], *args)
            assert r.exit_code == 1, r.output  # (the folder holds invalid files)
            outputs.setdefault((lean, args), set()).add(_stable(r.output))
    for args in ((), ("--json",), ("--workers", "1"), ("--json", "--workers", "1")):
        assert len(outputs[(True, args)]) == 1 and outputs[(True, args)] == outputs[(False, args)]
    assert True in told  # the lean path answered (and was compared)
    (full,) = outputs[(True, ("--json",))]
    results = {r["source"]: r for r in json.loads(full)["results"]}
    (compact,) = outputs[(True, ())]
    codes = {}
    for line in compact.splitlines():
        m = re.match(r"^. (\S+?)(?::.*)? \[(\w+)\]$", line)
        if m:
            codes[m.group(1)] = m.group(2)
    assert codes.keys() == results.keys() and len(codes) == 21
    seen = set()
    for path in sorted(folder["dir"].iterdir()):
        alone = _cli(folder, path, "--json")
        want = json.loads(alone.output)["outcome"]["code"] if alone.output.startswith("{") else None
        got = results[path.name]["outcome"]["code"]
        assert got == want == codes[path.name], (path.name, got, want, alone.output[:300])
        seen.add(got)
    assert seen == {"VALID", "INVALID", "NOT_VERIFIABLE"}
    valid = sorted(k for k, c in codes.items() if c == "VALID")
    assert valid == sorted(
        k
        for k in codes
        if k.split("-", 1)[1]
        in {
            "b0.json",
            "b1.json",
            "b3.json",
            "b5.json",
            "b6.json",
            "b0-copy.json",
            "employment.json",
            "badge.json",
            "presentation.json",
        }
    ), codes
