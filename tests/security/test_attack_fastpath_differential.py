"""The verifier's fast paths against its reference paths, on hostile text forms (real Anvil).

An attacker with one accredited key (and one with none) looks for an input that one path calls
VALID and another does not: the folder mode (checks 1, 3 and 4 of the issuer's exact form in C,
``credential/native_verify.c``; the chain reads of a chunk batched through
``VerificationBatch``; checks 5-8 shared between equal verdicts, ``memo.ChainChecksMemo``; the
outcome of a valid lone file copied), with one worker and two, small chunks (a batch's
credentials, a presentation and the copies of one file straddle chunks and views calls) and the
C path on and off; ``talentproof verify FILE`` (the reference); ``POST /api/v1/verify``
(documents read twice: the request, then ``json.dumps`` of each) and the VC API.

Inputs: one anchored batch of the university holding valid degrees, a revoked one and one signed
with the same key under another verification method (``did:web:...#z6Mk...``); the valid
degree's text written in every form JSON allows for the same value (keys reordered, escaped,
a byte-order mark, pretty-printed with CRLF, upper-case hex in the unsigned anchor entry, the
proof set in the other order, its QR text) and in forms whose value differs (a duplicate member
before the signed one, in the signed document or in the unsigned anchor entry; numbers written
as floats; an extra anchor member; another @context entry, nested or not; a JSON array holding
it); presentations holding it, it twice, and it beside the revoked one. Every path must give
each input the verdict ``verify FILE`` gives it, and that verdict must be the expected one.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential import integrity
from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.credential.presentation import create_presentation
from talentproof.credential.qr import encode_payload
from talentproof.ledger import reader as ledger_reader
from talentproof.verifier import bulk
from tests.chainkit import DEGREE, anchor_batch, build, holder, sign

pytestmark = pytest.mark.integration
runner = CliRunner()

UNIVERSITY = "Fastpath Differential University"

VALID, INVALID, NOT_VERIFIABLE = "VALID", "INVALID", "NOT_VERIFIABLE"


def _reorder(value: Any) -> Any:
    """The same JSON value with every object's members in reverse order."""
    if isinstance(value, dict):
        return {k: _reorder(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reorder(v) for v in value]
    return value


def _escaped_keys(doc: dict[str, Any]) -> str:
    """The JSON text of ``doc`` with the first letter of every member name written as a
    \\u escape (the same names once read)."""
    text = json.dumps(doc)

    def escape(value: Any) -> Any:
        if isinstance(value, dict):
            return {f"\x00{k}": escape(v) for k, v in value.items()}
        if isinstance(value, list):
            return [escape(v) for v in value]
        return value

    marked = json.dumps(escape(doc))
    out = []
    i = 0
    while True:
        j = marked.find('"\\u0000', i)
        if j == -1:
            out.append(marked[i:])
            break
        out.append(marked[i : j + 1])
        first = marked[j + 7]
        out.append(f"\\u{ord(first):04x}")
        i = j + 8
    escaped = "".join(out)
    assert json.loads(escaped) == json.loads(text)
    return escaped


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, (old, text.count(old))
    return text.replace(old, new)


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):
    chain = vchain
    uni = chain.issuers.get(UNIVERSITY) or chain.add_issuer(
        UNIVERSITY, (DEGREE,), fresh_account=True
    )
    h1 = holder()
    s1 = h1.public_key.did_key

    def degree(**fields: Any) -> dict[str, Any]:
        return build(DEGREE, uni.did, s1, institution=UNIVERSITY, **fields)

    web_vm = f"{uni.did}#{uni.key.public_key.multibase}"
    signed = {
        "valid": sign(degree(), uni.key),
        "valid-b": sign(degree(level="master"), uni.key),
        "revoked": sign(degree(field="Physics"), uni.key),
        "web-vm": integrity.sign(
            degree(field="Law"),
            uni.key,
            verification_method=web_vm,
            created=datetime.now(UTC).replace(microsecond=0),
        ),
    }
    names = list(signed)
    anchored = dict(
        zip(
            names,
            anchor_batch([signed[n] for n in names], uni.client, chain.deployment),
            strict=True,
        )
    )
    uni.client.revoke_credential(credential_hash(split_anchor(anchored["revoked"])[0]))
    valid = anchored["valid"]
    entry = valid["proof"][1]
    plain = json.dumps(valid)

    def vp(*creds: dict[str, Any]) -> dict[str, Any]:
        return create_presentation(
            list(creds),
            h1,
            challenge="c",
            domain="d",
            created=datetime.now(UTC).replace(microsecond=0),
        )

    swapped = copy.deepcopy(valid)
    swapped["proof"] = [swapped["proof"][1], swapped["proof"][0]]
    upper = copy.deepcopy(valid)
    upper["proof"][1]["merkleRoot"] = "0x" + entry["merkleRoot"][2:].upper()
    upper["proof"][1]["path"] = ["0x" + p[2:].upper() for p in entry["path"]]
    upper["proof"][1]["registry"] = entry["registry"].lower()
    extra_ctx = copy.deepcopy(valid)
    extra_ctx["@context"].append("https://attacker.example/context")
    nested_ctx = copy.deepcopy(valid)
    nested_ctx["@context"].append({"@vocab": "https://attacker.example/vocab#"})
    extra_member = copy.deepcopy(valid)
    extra_member["proof"][1]["note"] = "unsigned"
    other_chain = copy.deepcopy(valid)
    other_chain["proof"][1]["chainId"] = entry["chainId"] + 1
    level = valid["credentialSubject"]["degree"]["level"]
    tree_size = entry["treeSize"]
    leaf = entry["leafIndex"]

    # name -> (file text, expected outcome code, expected failing check or None)
    files: dict[str, tuple[str | bytes, str, int | None]] = {
        "a-00-plain.json": (plain, VALID, None),
        "a-01-bom.json": (b"\xef\xbb\xbf" + plain.encode(), VALID, None),
        "a-02-reordered.json": (json.dumps(_reorder(valid)), VALID, None),
        "a-03-escaped-keys.json": (_escaped_keys(valid), VALID, None),
        "a-04-pretty-crlf.json": (json.dumps(valid, indent=2).replace("\n", "\r\n"), VALID, None),
        "a-05-upper-hex.json": (json.dumps(upper), VALID, None),
        "a-06-proof-swapped.json": (json.dumps(swapped), VALID, None),
        "a-07-qr.txt": (encode_payload(valid), VALID, None),
        "a-08-copy.json": (plain, VALID, None),
        # a value the signer did not sign, read first by a parser that keeps the first
        "a-10-dup-level.json": (
            _replace_once(
                plain, f'"level": "{level}"', f'"level": "doctorate", "level": "{level}"'
            ),
            NOT_VERIFIABLE,
            1,
        ),
        # the anchor entry is neither signed nor hashed: a second treeSize must not slip by
        "a-11-dup-tree-size.json": (
            _replace_once(
                plain, f'"treeSize": {tree_size}', f'"treeSize": 1, "treeSize": {tree_size}'
            ),
            NOT_VERIFIABLE,
            1,
        ),
        "a-12-dup-proof.json": (
            _replace_once(plain, '"proof": [', '"proof": [], "proof": ['),
            NOT_VERIFIABLE,
            1,
        ),
        "a-13-chain-id-float.json": (
            _replace_once(
                plain, f'"chainId": {entry["chainId"]}', f'"chainId": {entry["chainId"]}.0'
            ),
            NOT_VERIFIABLE,
            1,
        ),
        "a-14-leaf-exponent.json": (
            _replace_once(plain, f'"leafIndex": {leaf}', f'"leafIndex": {leaf}E0'),
            NOT_VERIFIABLE,
            1,
        ),
        "a-15-anchor-extra-member.json": (json.dumps(extra_member), NOT_VERIFIABLE, 1),
        "a-16-array.json": ("[" + plain + "]", NOT_VERIFIABLE, 1),
        "a-17-context-extra.json": (json.dumps(extra_ctx), INVALID, 3),
        "a-18-context-nested.json": (json.dumps(nested_ctx), INVALID, 3),
        "a-19-other-chain.json": (json.dumps(other_chain), INVALID, 5),
        "b-00-valid.json": (json.dumps(anchored["valid-b"]), VALID, None),
        "c-00-revoked.json": (json.dumps(anchored["revoked"]), INVALID, 8),
        "c-01-revoked-copy.json": (json.dumps(anchored["revoked"]), INVALID, 8),
        "d-00-web-vm.json": (json.dumps(anchored["web-vm"]), VALID, None),
        "v-00-vp.json": (json.dumps(vp(valid)), VALID, None),
        "v-01-vp-twice.json": (json.dumps(vp(valid, valid)), VALID, None),
        "v-02-vp-with-revoked.json": (json.dumps(vp(valid, anchored["revoked"])), INVALID, 8),
        "v-03-vp-web-vm-and-b.json": (
            json.dumps(vp(anchored["web-vm"], anchored["valid-b"])),
            VALID,
            None,
        ),
    }
    d = tmp_path_factory.mktemp("fastpath-differential")
    record = chain.save_deployment(d)
    folder = d / "folder"
    folder.mkdir()
    for name, (text, _, _) in files.items():
        path = folder / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
    expected = {name: (code, check) for name, (_, code, check) in files.items()}
    with chain.service_client(record) as client:
        yield {
            "chain": chain,
            "record": str(record),
            "folder": folder,
            "expected": expected,
            "client": client,
        }


def _verify(env: dict[str, Any], *args: str) -> Any:
    return runner.invoke(
        app, ["verify", "--rpc", env["chain"].rpc_url, "--trust", env["record"], *args]
    )


def _failing_check(outcome: dict[str, Any]) -> int | None:
    if outcome["code"] == VALID:
        return None
    reason = outcome["reason"]
    marker = "check "
    if marker not in reason:
        return 1  # an input that could not be read (check 1)
    at = reason.index(marker) + len(marker)
    return int(reason[at:].split(" ", 1)[0].rstrip(",:;."))


def _single(env: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``verify FILE --json`` of every file: the reference verdicts."""
    out = {}
    for path in sorted(env["folder"].iterdir()):
        r = _verify(env, str(path), "--json")
        assert r.exit_code in (0, 1, 3), (path.name, r.output)
        out[path.name] = json.loads(r.output)["outcome"]
    return out


@pytest.fixture(scope="module")
def single(env) -> dict[str, dict[str, Any]]:
    got = _single(env)
    assert {n: (o["code"], _failing_check(o)) for n, o in got.items()} == env["expected"]
    return got


def _folder(env: dict[str, Any], workers: int, *, full: bool = True) -> dict[str, Any]:
    args = [str(env["folder"]), "--workers", str(workers), *(["--json"] if full else [])]
    r = _verify(env, *args)
    assert r.exit_code == 1, r.output  # some file is INVALID
    if full:
        return {res["source"]: res["outcome"] for res in json.loads(r.output)["results"]}
    lines = [ln for ln in r.output.splitlines() if ln.startswith(("✓", "✗", "!"))]
    return {ln[2:].split(":", 1)[0].split(" [", 1)[0]: ln.rsplit("[", 1)[1][:-1] for ln in lines}


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 3 files, worker tasks of 6, views calls of 5 queries: a batch's credentials,
    the copies of one file and a presentation's credentials straddle chunks and calls."""
    monkeypatch.setattr(bulk, "CHUNK", 3)
    monkeypatch.setattr(bulk, "TASK", 6)
    monkeypatch.setattr(ledger_reader, "BATCH_SIZE", 5)


@pytest.mark.parametrize("native", [True, False], ids=["c-path", "python-path"])
@pytest.mark.parametrize("workers", [1, 2])
def test_every_text_form_gets_the_one_file_verdict_in_the_folder(
    env, single, small_chunks, monkeypatch, workers, native
):
    monkeypatch.setattr(bulk, "NATIVE", native)
    assert _folder(env, workers) == single
    compact = _folder(env, workers, full=False)
    assert compact == {n: o["code"] for n, o in single.items()}


def _api_body(text: str | bytes, *, presentation: bool, vc_api: bool) -> bytes:
    raw = text if isinstance(text, bytes) else text.encode()
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    if vc_api:
        member = b"verifiablePresentation" if presentation else b"verifiableCredential"
        return b'{"' + member + b'": ' + raw + b"}"
    return b'{"documents": [' + raw + b"]}"


def _json_files(env: dict[str, Any]) -> list[Path]:
    return [p for p in sorted(env["folder"].iterdir()) if p.suffix == ".json"]


def test_every_text_form_gets_the_one_file_verdict_from_the_service(env, single):
    """``POST /api/v1/verify`` with the file's text as the document (read twice by the
    service): the same outcome, or a refusal of the request (never a VALID that ``verify FILE``
    does not give)."""
    client = env["client"]
    for path in _json_files(env):
        body = _api_body(path.read_bytes(), presentation=False, vc_api=False)
        r = client.post(
            "/api/v1/verify", content=body, headers={"content-type": "application/json"}
        )
        want = single[path.name]
        if r.status_code == 422:  # the request refused whole (a duplicate key, not an object)
            assert want["code"] != VALID, (path.name, r.text)
            continue
        assert r.status_code == 200, (path.name, r.text)
        assert r.json()["outcome"]["code"] == want["code"], (path.name, r.json()["outcome"], want)
    for path in sorted(env["folder"].glob("*.txt")):
        r = client.post("/api/v1/verify", json={"payloads": [path.read_text()]})
        assert r.status_code == 200, r.text
        assert r.json()["outcome"] == single[path.name] | {"reason": r.json()["outcome"]["reason"]}


def test_every_text_form_gets_the_one_file_verdict_from_the_vc_api(env, single):
    """The VC API's ``verified`` is true exactly for the inputs ``verify FILE`` calls VALID."""
    client = env["client"]
    for path in _json_files(env):
        text = path.read_bytes()
        presentation = path.name.startswith("v-")
        body = _api_body(text, presentation=presentation, vc_api=True)
        route = "/presentations/verify" if presentation else "/credentials/verify"
        r = client.post(route, content=body, headers={"content-type": "application/json"})
        want = single[path.name]["code"] == VALID
        if r.status_code in (400, 422) and "verified" not in r.json():
            assert not want, (path.name, r.text)
            continue
        assert r.json()["verified"] is want, (path.name, r.text)
