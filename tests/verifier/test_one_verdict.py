"""One verdict per input, whatever the mode (issue 12, point 6).

The same corpus goes through every way the verifier takes an input: `talentproof verify X`
(one input), `talentproof verify degree.json X` (several inputs, one application, beside a
valid credential of the same holder), `talentproof verify FOLDER` (bulk: each file its own
application), the service's `POST /api/v1/verify` (payloads or documents) and
`POST /api/v1/verify/image` (uploaded images, and the `payloads` the page's camera sends; the
page itself posts there). Each input must get the same outcome in every mode that can take it:

- a presentation claims a holder: without a challenge its holder proof must still verify, so an
  unsigned wrapper or a wrapper whose proof does not verify is INVALID (check 10) everywhere;
- a UTF-8 byte-order mark before JSON or a QR text is tolerated;
- a text without the ``TP1:`` prefix (``TP2:``, ``tp1:``, ``TP1``, ``TP1;``, any other text) is
  INVALID, "not a TalentProof payload" (exit 1), never "no such file" (exit 2);
- a ``TP1:`` text whose body does not decode (truncated) and a file that cannot be read
  (broken JSON, an image without a QR code) are NOT_VERIFIABLE.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.presentation import create_presentation
from talentproof.credential.qr import encode_payload, render_png
from talentproof.verifier.cli import check_argument
from talentproof.verifier.errors import InputError
from talentproof.verifier.inputs import names_a_file
from talentproof.verifier.service import ServiceSettings, create_app
from tests.chainkit import DEGREE, EMPLOYMENT, holder, issue, sign_presentation

pytestmark = pytest.mark.integration
runner = CliRunner()

BOM = "\ufeff"
CODES = {"VALID": 0, "INVALID": 1, "NOT_VERIFIABLE": 3}
DOMAIN = "talentproof-verifier"


def _tamper_proof(vp: dict) -> dict:
    """The presentation with one base58 character of its proof value changed."""
    out = json.loads(json.dumps(vp))
    value = out["proof"]["proofValue"]
    i = len(value) // 2
    out["proof"]["proofValue"] = value[:i] + ("2" if value[i] != "2" else "3") + value[i + 1 :]
    return out


def _png(text: str) -> bytes:
    return render_png(text)


def _blank_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def corpus(vchain, tmp_path_factory):
    """name -> {expected, file (name, bytes), arg (CLI text or None), document, payload, image}."""
    d = tmp_path_factory.mktemp("oneverdict")
    record = d / "deployment.json"
    vchain.deployment.save(record)
    hk = holder()
    s = hk.public_key.did_key
    degree = issue(vchain, vchain.issuers["University of Hong Kong"], DEGREE, s)
    employment = issue(vchain, vchain.issuers["HSBC"], EMPLOYMENT, s, start="2015-03-01")
    created = datetime.now(UTC).replace(microsecond=0)
    signed_vp = create_presentation(
        [degree, employment], hk, challenge="another-verification", domain=DOMAIN, created=created
    )
    unsigned_vp = {
        "@context": signed_vp["@context"],
        "type": ["VerifiablePresentation"],
        "holder": s,
        "verifiableCredential": [employment],
    }
    bad_proof_vp = _tamper_proof(signed_vp)
    other = holder()  # a proof that verifies, by another key than the holder it names
    stolen_vp = sign_presentation(
        {**unsigned_vp, "verifiableCredential": [degree]},
        other,
        challenge="c",
        domain=DOMAIN,
        created=created,
    )
    payload = encode_payload(employment)
    body = payload[len("TP1:") :]
    items: dict[str, dict] = {}

    def add(name, expected, *, file=None, arg=None, document=None, payload=None, image=None):
        items[name] = {
            "expected": expected,
            "file": file,
            "arg": arg,
            "document": document,
            "payload": payload,
            "image": image,
        }

    def text_item(name, expected, text):
        add(name, expected, file=(f"{name}.txt", text.encode("utf-8")), arg=text, payload=text)

    def doc_item(name, expected, doc):  # a JSON file, a JSON document, its QR text and image
        text = encode_payload(doc)
        add(
            name,
            expected,
            file=(f"{name}.json", json.dumps(doc).encode()),
            document=doc,
            arg=text,
            payload=text,
            image=_png(text),
        )

    doc_item("valid-credential", "VALID", degree)
    doc_item("signed-vp", "VALID", signed_vp)
    doc_item("unsigned-vp", "INVALID", unsigned_vp)
    doc_item("bad-proof-vp", "INVALID", bad_proof_vp)
    doc_item("other-signer-vp", "INVALID", stolen_vp)
    add("bom-json", "VALID", file=("bom-json.json", (BOM + json.dumps(degree)).encode("utf-8")))
    text_item("bom-payload", "VALID", BOM + payload + "\n")
    text_item("plain-payload", "VALID", payload)
    text_item("prefix-TP2", "INVALID", "TP2:" + body)
    text_item("prefix-lower-tp1", "INVALID", "tp1:" + body)
    text_item("prefix-no-colon", "INVALID", "TP1" + body)
    text_item("prefix-semicolon", "INVALID", "TP1;" + body)
    text_item("prefix-cut-off", "INVALID", body)
    text_item("truncated-payload", "NOT_VERIFIABLE", payload[: len(payload) // 2])
    text_item("garbage-text", "INVALID", "hello, this is not a credential")
    add("garbage-json", "NOT_VERIFIABLE", file=("garbage-json.json", b"{not json at all"))
    add("garbage-bytes", "NOT_VERIFIABLE", file=("garbage-bytes.qr", bytes(range(128, 256)) * 4))
    add(
        "utf16-json",
        "NOT_VERIFIABLE",
        file=("utf16-json.json", json.dumps(degree).encode("utf-16")),
    )
    add("no-qr-image", "NOT_VERIFIABLE", file=("no-qr-image.png", _blank_png()), image=_blank_png())
    assert "/" in body, "the damaged-prefix cases need a Base45 body holding a path separator"
    return {
        "dir": d,
        "record": str(record),
        "rpc": vchain.rpc_url,
        "items": items,
        "degree": degree,
    }


def _cli(corpus, *args):
    return runner.invoke(
        app, ["verify", "--rpc", corpus["rpc"], "--trust", corpus["record"], *map(str, args)]
    )


def _code_of(result) -> str:
    assert result.exit_code in (0, 1, 3), result.output
    data = json.loads(result.output)
    code = data["outcome"]["code"]
    assert CODES[code] == result.exit_code, result.output
    return code


@pytest.fixture(scope="module")
def files(corpus):
    folder = corpus["dir"] / "corpus"
    folder.mkdir()
    out = {}
    for name, item in corpus["items"].items():
        if item["file"] is not None:
            fname, data = item["file"]
            (folder / fname).write_bytes(data)
            out[name] = folder / fname
    return folder, out


def test_the_corpus_gets_one_verdict_in_every_mode(corpus, files):
    folder, paths = files
    items = corpus["items"]
    got: dict[str, dict[str, str]] = {name: {} for name in items}
    valid = paths["valid-credential"]
    # CLI: one input (a file, and the text itself as an argument), several inputs
    for name, item in items.items():
        if name in paths:
            got[name]["cli single file"] = _code_of(_cli(corpus, paths[name], "--json"))
            got[name]["cli several"] = _code_of(_cli(corpus, valid, paths[name], "--json"))
        if item["arg"] is not None:
            got[name]["cli single argument"] = _code_of(_cli(corpus, item["arg"], "--json"))
            got[name]["cli several arguments"] = _code_of(
                _cli(corpus, valid, item["arg"], "--json")
            )
    # CLI: the folder, full reports and summaries
    for extra in (("--json",), ("--json", "--workers", "2")):
        r = _cli(corpus, folder, *extra)
        data = json.loads(r.output)
        by_file = {res["source"]: res for res in data["results"]}
        for name, path in paths.items():
            got[name][f"cli folder {' '.join(extra)}"] = by_file[path.name]["outcome"]["code"]
        assert r.exit_code == 1  # a folder with an invalid file
    text = _cli(corpus, folder).output
    for name, path in paths.items():
        line = next(
            x
            for x in text.splitlines()
            if x.split(" ")[1:2] == [path.name] or x[2:].startswith(path.name + ":")
        )
        got[name]["cli folder summary"] = line.rsplit("[", 1)[1].rstrip("]")
    # the service and the page's endpoints
    client = TestClient(create_app(ServiceSettings(rpc_url=corpus["rpc"], trust=corpus["record"])))
    with client:
        for name, item in items.items():
            if item["document"] is not None:
                body = client.post("/api/v1/verify", json={"documents": [item["document"]]}).json()
                got[name]["service documents"] = body["outcome"]["code"]
            if item["payload"] is not None:
                body = client.post("/api/v1/verify", json={"payloads": [item["payload"]]}).json()
                got[name]["service payloads"] = body["outcome"]["code"]
                body = client.post(
                    "/api/v1/verify/image", data={"payloads": [item["payload"]]}
                ).json()
                got[name]["page camera payloads"] = body["outcome"]["code"]
            if item["image"] is not None:
                body = client.post(
                    "/api/v1/verify/image",
                    files=[("files", (f"{name}.png", item["image"], "image/png"))],
                ).json()
                got[name]["service image upload"] = body["outcome"]["code"]
    wrong = {
        name: {mode: code for mode, code in modes.items() if code != items[name]["expected"]}
        for name, modes in got.items()
    }
    wrong = {k: (items[k]["expected"], v) for k, v in wrong.items() if v}
    assert not wrong, wrong
    assert all(len(modes) >= 4 for modes in got.values()), got


def test_reasons_name_what_is_wrong(corpus, files):
    _, paths = files
    unsigned = json.loads(_cli(corpus, paths["unsigned-vp"], "--json").output)
    assert unsigned["outcome"]["reason"].startswith("credential 1 of unsigned-vp.json: check 10 ")
    assert "holder proof is missing or does not verify" in unsigned["outcome"]["reason"]
    bad = json.loads(_cli(corpus, paths["bad-proof-vp"], "--json").output)
    assert "check 10" in bad["outcome"]["reason"]
    for name in ("prefix-semicolon", "prefix-lower-tp1", "prefix-TP2", "prefix-no-colon"):
        r = _cli(corpus, corpus["items"][name]["arg"])
        assert r.exit_code == 1, r.output
        result = [x for x in r.output.splitlines() if x.startswith("Result: ")]
        assert result and result[0].startswith(
            "Result: INVALID: QR payload: check 1 (Readable credential): Not a TalentProof payload"
        ), r.output
        assert "no such file" not in r.output
    tp2 = _cli(corpus, corpus["items"]["prefix-TP2"]["arg"])
    assert "format version 2" in tp2.output
    # a signed presentation without a challenge: valid, check 10 says what was checked
    signed = json.loads(_cli(corpus, paths["signed-vp"], "--json").output)
    binding = [
        c for r in signed["credentials"] for c in r["checks"] if c["id"] == "presentation_binding"
    ]
    assert {c["status"] for c in binding} == {"skipped"} and "holder proof was checked" in binding[
        0
    ]["message"]
    utf16 = json.loads(_cli(corpus, paths["utf16-json"], "--json").output)
    assert "UTF-16" in utf16["outcome"]["reason"]


def test_folder_exit_code_summarises_the_verdicts(corpus, files, tmp_path):
    _, paths = files

    def folder_of(*names):
        f = tmp_path / "-".join(names)
        f.mkdir()
        for n in names:
            (f / paths[n].name).write_bytes(paths[n].read_bytes())
        return f

    assert _cli(corpus, folder_of("valid-credential", "bom-json", "signed-vp")).exit_code == 0
    assert _cli(corpus, folder_of("valid-credential", "truncated-payload")).exit_code == 3
    assert (
        _cli(corpus, folder_of("valid-credential", "truncated-payload", "unsigned-vp")).exit_code
        == 1
    )
    r = _cli(corpus, folder_of("valid-credential", "garbage-json", "prefix-semicolon"), "--json")
    assert r.exit_code == 1
    summary = json.loads(r.output)["summary"]
    assert summary["outcomes"] == {"VALID": 1, "INVALID": 1, "NOT_VERIFIABLE": 1}
    assert (summary["valid"], summary["invalid"], summary["error"]) == (1, 1, 1)


@pytest.mark.parametrize(
    ("arg", "usage"),
    [
        ("/nonexistent/degree.json", True),
        ("scan-of-degree.png", True),
        ("degree.JSON", True),
        ("folder/sub/file", True),
        ("TP1;6BFOXN*TS0BI$ZD/RH.8/K9", False),
        ("tp2:6BFOXN*TS0BI$ZD/RH.8/K9", False),
        ("TP16BFOXN*TS0BI$ZD/RH.8/K9", False),
        ("tp1:6bfoxn*ts0bi$zd/rh.8/k9", False),
        ("TP1 6BFOXN/TS0BI", False),
        (
            "6BFOXN*TS0BI$ZDFRH.8/K9 /M5$7C0 F8$A6AA-P0C48 6-UF1CS$5",
            False,
        ),  # a payload without its prefix
        ("hello", False),
    ],
)
def test_a_missing_argument_is_a_usage_error_only_when_it_names_a_file(arg, usage):
    assert names_a_file(arg) is usage
    if usage:
        with pytest.raises(InputError, match="no such file or folder"):
            check_argument(arg)
    else:
        check_argument(arg)  # left to the engine: INVALID, not a TalentProof payload


def test_files_bulk_pipelined_or_not_in_small_chunks(vchain, corpus, files, monkeypatch):
    """`bulk.verify_files_bulk` gives each file's `verify_application([item])` report, whatever
    the chunking (a presentation's credentials may straddle two chunks' reads) and pipelining."""
    from talentproof.verifier import bulk
    from talentproof.verifier.inputs import item_from_path

    folder, _ = files
    now = datetime.now(UTC)
    verifier = vchain.verifier(clock=lambda: now)
    block = verifier.reader.block_number()
    items = [item_from_path(p) for p in sorted(folder.iterdir())]
    want = [
        {"source": it.source, **verifier.verify_application([it], at_block=block).to_json()}
        for it in items
    ]
    monkeypatch.setattr(bulk, "CHUNK", 3)
    assert bulk.verify_files_bulk(verifier, items, block=block) == want
    compact = bulk.verify_files_bulk(verifier, items, block=block, compact=True)
    assert [c["outcome"] for c in compact] == [w["outcome"] for w in want]
    monkeypatch.setattr(bulk, "PIPELINE", False)
    assert bulk.verify_files_bulk(verifier, items, block=block) == want
    assert bulk.verify_files_bulk(verifier, items, block=block, compact=True) == compact


def test_a_presentation_larger_than_an_application(corpus, tmp_path):
    """More credentials than one application takes (16): `verify FILE` refuses it (usage, 2),
    the service with 422; in a folder that file alone is NOT_VERIFIABLE, naming the limit."""
    degree = corpus["degree"]
    big = {
        "@context": degree["@context"],
        "type": ["VerifiablePresentation"],
        "holder": degree["credentialSubject"]["id"],
        "verifiableCredential": [degree] * 17,
    }
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "big.json").write_text(json.dumps(big))
    (folder / "ok.json").write_text(json.dumps(degree))
    single = _cli(corpus, folder / "big.json")
    assert single.exit_code == 2 and "the limit is 16 credentials" in single.output
    r = _cli(corpus, folder, "--json")
    assert r.exit_code == 3, r.output
    by_file = {res["source"]: res["outcome"] for res in json.loads(r.output)["results"]}
    assert by_file["ok.json"]["code"] == "VALID"
    assert (
        by_file["big.json"]["code"] == "NOT_VERIFIABLE"
        and "the limit is 16" in by_file["big.json"]["reason"]
    )
