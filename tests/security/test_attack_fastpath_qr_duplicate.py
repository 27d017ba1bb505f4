"""A duplicate member inside a QR payload's JSON content is refused, as in a JSON file (real Anvil).

Check 1 refuses a document holding one member twice (two parsers must not read two values for
one key: a signed degree with ``"level": "doctorate"`` written before its signed
``"bachelor"`` is a bachelor to a parser keeping the last, a doctorate to one keeping the
first). Every JSON path goes through ``engine.parse_json``; the QR payload's content (raw DEFLATE
of the document's JSON) was read with ``orjson.loads``, which keeps the last value: the same
degree as a ``TP1:`` text (a QR code, a ``.txt`` file, ``payloads`` of ``/api/v1/verify``) was
VALID where its JSON file is NOT VERIFIABLE. Anyone can make such a text from a holder's
genuine QR code (no key: the content is not signed as text, only the document read from it).
Now the payload decoder refuses it too, naming the key; the JSON form and the QR form of one
document get one verdict on every path.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.errors import QRPayloadError
from talentproof.credential.qr import (
    DICT_VERSION,
    PREFIX,
    ZDICTS,
    b45decode,
    b45encode,
    decode_payload,
    encode_payload,
)
from tests.chainkit import DEGREE, holder, issue

pytestmark = pytest.mark.integration
runner = CliRunner()


def _with_duplicate(doc: dict[str, Any], level: str) -> str:
    """``doc``'s QR text whose content (the raw DEFLATE of its JSON, at the payload's end)
    writes ``"level": <level>`` before its own level: what anyone can make of a QR code."""
    text = encode_payload(doc)
    raw = b45decode(text[len(PREFIX) :])
    zdict = ZDICTS[DICT_VERSION]
    for start in range(len(raw)):  # where the content starts: the suffix that inflates whole
        d = zlib.decompressobj(-15, zdict=zdict)
        try:
            content = d.decompress(raw[start:])
        except zlib.error:
            continue
        if d.eof and not d.unused_data and content.startswith(b"{"):
            break
    else:
        raise AssertionError("no DEFLATE content found")
    own = doc["credentialSubject"]["degree"]["level"]
    marker = f'"level":"{own}"'.encode()
    assert content.count(marker) == 1, content
    content = content.replace(marker, f'"level":"{level}",'.encode() + marker)
    c = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=zdict)
    return PREFIX + b45encode(raw[:start] + c.compress(content) + c.flush())


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):
    uni = vchain.issuers["University of Hong Kong"]
    doc = issue(vchain, uni, DEGREE, holder().public_key.did_key, level="bachelor")
    d = tmp_path_factory.mktemp("qr-duplicate")
    record = vchain.save_deployment(d)
    text = _with_duplicate(doc, "doctorate")
    folder = d / "folder"
    folder.mkdir()
    (folder / "degree.json").write_text(
        json.dumps(doc).replace('"level": "bachelor"', '"level": "doctorate", "level": "bachelor"')
    )
    (folder / "degree-qr.txt").write_text(text)
    (folder / "plain-qr.txt").write_text(encode_payload(doc))
    with vchain.service_client(record) as client:
        yield {
            "chain": vchain,
            "record": str(record),
            "folder": folder,
            "client": client,
            "text": text,
            "doc": doc,
        }


def _verify(env: dict[str, Any], *args: str) -> Any:
    return runner.invoke(
        app, ["verify", "--rpc", env["chain"].rpc_url, "--trust", env["record"], *args]
    )


def test_the_payload_decoder_refuses_a_duplicate_member(env):
    with pytest.raises(QRPayloadError, match="level"):
        decode_payload(env["text"])
    assert decode_payload(encode_payload(env["doc"])) == env["doc"]


def test_the_decoder_answers_the_same_without_the_c_guard(env, monkeypatch):
    """A build without credential/native.c: `jsonread.vouches` runs its Python twin."""
    from talentproof.credential import jsonread

    with pytest.raises(QRPayloadError) as with_c:
        decode_payload(env["text"])
    monkeypatch.setattr(jsonread, "native_json_guard", None)
    with pytest.raises(QRPayloadError) as without_c:
        decode_payload(env["text"])
    assert str(without_c.value) == str(with_c.value)
    assert "'level'" in str(without_c.value)
    assert decode_payload(encode_payload(env["doc"])) == env["doc"]


def test_the_qr_form_gets_the_json_form_verdict_on_every_path(env):
    folder = env["folder"]
    single = {}
    for path in sorted(folder.iterdir()):
        r = _verify(env, str(path), "--json")
        single[path.name] = json.loads(r.output)["outcome"]["code"]
    assert single == {
        "degree.json": "NOT_VERIFIABLE",
        "degree-qr.txt": "NOT_VERIFIABLE",
        "plain-qr.txt": "VALID",
    }, single
    r = _verify(env, env["text"], "--json")
    assert json.loads(r.output)["outcome"]["code"] == "NOT_VERIFIABLE", r.output
    for workers in ("1", "2"):
        r = _verify(env, str(folder), "--json", "--workers", workers)
        got = {x["source"]: x["outcome"]["code"] for x in json.loads(r.output)["results"]}
        assert got == single, (workers, got)
    r = env["client"].post("/api/v1/verify", json={"payloads": [env["text"]]})
    assert r.status_code == 200, r.text
    assert r.json()["outcome"]["code"] == "NOT_VERIFIABLE", r.json()["outcome"]
