"""A folder of credentials signed by accredited issuers with hostile contents (another kind's
subject or type, odd names and keys: non-BMP, >= U+E000, noncharacters, U+FEFF, NUL, tokens,
an issuer object, dates out of range or of other forms, other @context orders), anchored on a
real chain and written in several text forms: each file's verdict and checks in the folder
(``bulk.run_folder``, the C read of the bytes on and off, compact and ``--full``, one and two
worker processes) are those ``talentproof verify FILE`` gives it (``verify_application`` of
``resolve_argument``).

The attacker's view (red team of the folder's C path, 2026-12-08): holding an accredited key,
they sign anything; whatever the folder path reads or decides in other code than the one-file
path (``native_verify.from_bytes``, ``offline``, the shared chain checks, the compact results)
must come to the same answer on what they sign.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from talentproof.verifier import bulk
from talentproof.verifier.inputs import DEFAULT_LIMITS, resolve_argument
from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, anchor_batch, build, holder, sign

pytestmark = pytest.mark.integration

ODD: list[Any] = [
    "陳大文", "Cafe\u0301", "Caf\u00e9", "\ufeffX", "\ufffe", "\uffff", "\U0010ffff", "\U0001f600",
    "\ue000", "\uffef", "x\u2028y", "\u0000", "a\x7f", "tpk_" + "A" * 20, "", " ", "\u00a0",
    "\u200b", "A" * 300, "\\u0041", '"', "\\", "\t", "d",
]  # fmt: skip
TYPES = [
    ["VerifiableCredential"],
    ["VerifiableCredential", "DegreeCredential"],
    ["VerifiableCredential", "EmploymentCredential"],
    ["VerifiableCredential", "OpenBadgeCredential"],
    ["VerifiableCredential", "OpenBadgeCredential", "AchievementCredential"],
]
TIMES = [
    "2026-02-30T00:00:00Z", "2020-01-01T00:00:00+08:00", "2020-01-01T00:00:00.5Z",
    "2099-12-31T23:59:60Z", "0001-01-01T00:00:00Z", "2020-01-01t00:00:00z",
]  # fmt: skip


def mutations(doc: dict[str, Any], rng: random.Random, n: int) -> Iterator[dict[str, Any]]:
    """``doc`` and ``n`` changed copies (unsigned)."""
    yield doc
    for _ in range(n):
        d = copy.deepcopy(doc)
        for _ in range(rng.choice((1, 2, 3))):
            op = rng.random()
            sub = d["credentialSubject"]
            if op < 0.25:
                sub[rng.choice(list(sub))] = rng.choice([*ODD, 1, 0, 2**53, [], {}, ["x"]])
            elif op < 0.45:
                where = rng.choice([d, sub])
                key = rng.choice(ODD) + rng.choice(["", "k", "\U00010000", "\uffff"])
                where[key] = rng.choice([*ODD, 1, [rng.choice(ODD)], {rng.choice(ODD): "v"}])
            elif op < 0.55:
                iss = d["issuer"] if isinstance(d["issuer"], str) else d["issuer"]["id"]
                d["issuer"] = {"id": iss, "name": rng.choice([*ODD, "University of Hong Kong"])}
                if rng.random() < 0.3:
                    d["issuer"][rng.choice(ODD)] = "x"
            elif op < 0.65:
                d["type"] = rng.choice([*TYPES, d["type"][::-1], d["type"] + d["type"][-1:]])
            elif op < 0.75:
                now = datetime.now(UTC)
                days = rng.choice((-400, -2, 2, 400))
                later = (now + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
                d[rng.choice(["validFrom", "validUntil"])] = rng.choice([later, *TIMES])
            elif op < 0.85:
                ctx = d["@context"]
                d["@context"] = rng.choice([ctx[::-1], [*ctx, "https://example.org/x"], ctx[:1]])
            else:
                for k in list(sub):
                    if isinstance(sub[k], dict) and sub[k]:
                        kk = rng.choice(list(sub[k]))
                        sub[k][kk] = rng.choice([*ODD, sub[k][kk]])
                        break
        yield d


def text_of(doc: dict[str, Any], rng: random.Random) -> bytes:
    r = rng.random()
    if r < 0.4:
        return json.dumps(doc, ensure_ascii=False).encode()
    if r < 0.6:
        return json.dumps(doc).encode()
    if r < 0.8:
        return json.dumps(doc, ensure_ascii=False, indent=rng.choice((1, 2, "\t"))).encode()
    return (" \n" + json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\r\n").encode()


def _checks(result: dict[str, Any]) -> tuple[Any, ...]:
    return (
        result["outcome"]["code"],
        [
            (c["number"], c["status"], c["message"])
            for r in result["credentials"]
            for c in r["checks"]
        ],
    )


def test_signed_hostile_files_get_the_verdict_of_verify_file(vchain, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    rng = random.Random(20261208)
    docs = []
    for name, kind in (
        ("University of Hong Kong", DEGREE),
        ("HSBC", EMPLOYMENT),
        ("HKIB", BADGE),
    ):
        who = vchain.issuers[name]
        fields = {DEGREE: {"institution": name}, EMPLOYMENT: {"employer": name}}.get(kind, {})
        base = build(kind, who.did, holder().public_key.did_key, **fields)
        signed = []
        for d in mutations(base, rng, 80):
            try:
                signed.append(sign(d, who.key))
            except Exception:  # (not signable: no credential of it to verify)
                continue
        docs += anchor_batch(signed, who.client, vchain.deployment)
    folder = tmp_path / "folder"
    folder.mkdir()
    for i, d in enumerate(docs):
        (folder / f"c{i:04d}.json").write_bytes(text_of(d, rng))
    record = tmp_path / "deployment.json"
    vchain.deployment.save(record)
    now = max(vchain.latest_timestamp() + 1, int(datetime.now(UTC).timestamp()))
    as_of = datetime.fromtimestamp(now, UTC)
    monkeypatch.setattr(bulk, "CHUNK", 16)
    monkeypatch.setattr(bulk, "TASK", 32)
    out = {}
    for on in (True, False):
        monkeypatch.setattr(bulk, "NATIVE_BYTES", on)
        for full in (False, True):
            got, _, _ = bulk.run_folder(
                folder, rpc=vchain.rpc_url, trust=str(record), as_of=as_of, workers=1, full=full
            )
            out[on, full] = {r["source"]: r for r in got}
    for full in (False, True):
        assert json.dumps(out[True, full]) == json.dumps(out[False, full])
    # (in worker processes too: a lone valid result sent as its source alone, bulk.LEAN)
    monkeypatch.setattr(bulk, "NATIVE_BYTES", True)
    got, _, _ = bulk.run_folder(
        folder, rpc=vchain.rpc_url, trust=str(record), as_of=as_of, workers=2, full=False
    )
    assert json.dumps({r["source"]: r for r in got}) == json.dumps(out[True, False])
    monkeypatch.setattr(bulk, "NATIVE_BYTES", True)
    read = [bulk.file_item(str(p), DEFAULT_LIMITS) for p in folder.iterdir()]
    answered = sum(type(r) is bulk.CheckedFile for r in read)
    verifier = vchain.verifier()
    codes: dict[str, int] = {}
    for p in sorted(folder.iterdir()):
        one = verifier.verify_application([resolve_argument(str(p))], as_of=as_of).to_json()
        codes[one["outcome"]["code"]] = codes.get(one["outcome"]["code"], 0) + 1
        assert _checks(out[True, True][p.name]) == _checks(one), p.name
        compact = out[True, False][p.name]
        assert (compact["verdict"], compact["outcome"]["code"]) == (
            one["verdict"],
            one["outcome"]["code"],
        ), p.name
    # (not vacuous: the C read answers for many, some are valid, many are not)
    assert answered >= len(docs) // 4, (answered, len(docs))
    assert codes.get("VALID", 0) >= 10 and codes.get("INVALID", 0) >= 50, codes
