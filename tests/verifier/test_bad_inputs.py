"""Inputs a new user gives the verifier by mistake (new-user trial): a private key file, a text
file that is no QR payload. Each is NOT_VERIFIABLE with a reason naming what was expected and
what the input looks like; a secret is never echoed, not even its first characters. The same
input path (`inputs.item_from_bytes`) serves the CLI (file, folder, argument) and the service."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.verifier.inputs import (
    item_from_bytes,
    item_from_json,
    item_from_text,
    resolve_argument,
)

runner = CliRunner()

#: Development account 0 of the well-known test mnemonic: what `talentproof run` writes as
#: <data>/governor-key.
GOVERNOR = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n"
    "-----END PRIVATE KEY-----\n"
)
EC_PEM = (
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqGSM49\n"
    "-----END EC PRIVATE KEY-----\n"
)
JWK = {
    "kty": "OKP",
    "crv": "Ed25519",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
}
SECRETS = {
    "governor-key": GOVERNOR + "\n",
    "bare-hex.txt": GOVERNOR[2:].upper(),
    "key.pem": PEM,
    "ec.pem": EC_PEM,
    "key.jwk": json.dumps(JWK),
    "jwks.json": json.dumps({"keys": [JWK]}),
    "mnemonic.txt": "test test test test test test test test test test test junk\n",
}


def _secret_parts(text: str) -> list[str]:
    """Pieces of a secret that must never appear in a reason (its first characters too)."""
    core = text.strip()
    if core.startswith("{"):
        core = JWK["d"]
    core = core.replace("-----BEGIN PRIVATE KEY-----", "").replace(
        "-----BEGIN EC PRIVATE KEY-----", ""
    )
    core = core.strip()
    return [core[:6], core[2:8], core[-6:]]


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_a_private_key_is_not_verifiable_and_never_echoed(name):
    text = SECRETS[name]
    item = item_from_bytes(text.encode(), name)
    assert item.document is None and item.error is not None
    assert not item.not_talentproof, "a key is no forged credential: NOT_VERIFIABLE, not INVALID"
    assert "not a credential or a QR payload" in item.error, item.error
    assert "looks like a private key" in item.error and "nothing of it is shown" in item.error
    for part in _secret_parts(text):
        assert part.lower() not in item.error.lower(), (part, item.error)


def test_a_private_key_given_as_an_argument_or_a_service_payload():
    for arg in (GOVERNOR, GOVERNOR[2:]):
        item = resolve_argument(arg)
        assert item.error is not None and not item.not_talentproof
        assert "looks like a private key" in item.error and "ac0974" not in item.error
        item = item_from_text(arg, "payload 1")  # the service's payloads path
        assert item.error is not None and not item.not_talentproof
        assert "looks like a private key" in item.error and "ac0974" not in item.error


def test_a_private_jwk_document_is_named():
    item = item_from_json(json.dumps(JWK), "document 1")
    assert item.error is not None and "looks like a private key" in item.error
    assert JWK["d"][:6] not in item.error


def test_hex_that_is_no_key_length_is_not_called_a_key():
    """Only a 32-byte hex text reads as a key: a shorter hex stays 'not a TalentProof payload'."""
    item = item_from_bytes(b"0xdeadbeef", "x.txt")
    assert item.not_talentproof and "private key" not in (item.error or "")


def test_a_long_text_file_says_what_was_expected_and_what_it_looks_like():
    text = "# TalentProof\n\n" + "Some prose about the project.\n" * 4000
    item = item_from_bytes(text.encode(), "README.md")
    assert item.document is None and item.error is not None
    err = item.error
    assert err.startswith("README.md"), err
    for expected in ("a credential JSON file", "a presentation", "a TP1 QR payload", "a QR image"):
        assert expected in err, err
    assert "text that is not JSON and not a QR payload" in err, err
    assert str(len(text.strip())) in err  # still says how long it is
    assert "TalentProof\n" not in err


def test_a_short_text_file_also_says_what_was_expected():
    """A short notes file (under the payload limit) stays INVALID, check 1 naming the prefix,
    and now also says what the verifier takes and what the file looks like."""
    item = item_from_bytes(b"# Notes\n\nsome lines of prose\n", "notes.txt")
    assert item.not_talentproof and item.error is not None
    assert "expected the prefix 'TP1:'" in item.error, item.error
    assert "text that is not JSON and not a QR payload" in item.error, item.error
    assert "a credential JSON file" in item.error, item.error
    scanned = item_from_bytes(b"TP9:ABC", "scan.txt")  # one line: a payload of another format
    assert scanned.not_talentproof and "a credential JSON file" not in (scanned.error or "")


def test_an_oversized_tp1_payload_still_names_the_limit():
    item = item_from_bytes(("TP1:" + "A" * 9000).encode(), "big.txt")
    assert (
        item.error is not None and "the limit is" in item.error and "TP1 QR payload" in item.error
    )


@pytest.fixture(scope="module")
def record(vchain, tmp_path_factory):
    d = tmp_path_factory.mktemp("badinputs")
    path = d / "deployment.json"
    vchain.deployment.save(path)
    return {"record": str(path), "rpc": vchain.rpc_url}


def _verify(record, *args):
    return runner.invoke(
        app, ["verify", "--rpc", record["rpc"], "--trust", record["record"], *map(str, args)]
    )


@pytest.mark.integration
def test_cli_verify_governor_key_file(record, tmp_path):
    """`talentproof verify data/governor-key` said INVALID, "found '0xac0974'"."""
    f = tmp_path / "governor-key"
    f.write_text(GOVERNOR + "\n")
    r = _verify(record, f)
    assert r.exit_code == 3, r.output
    out = " ".join(r.output.split())
    assert "NOT VERIFIABLE" in out and "INVALID" not in out, out
    assert "looks like a private key" in out and "nothing of it is shown" in out, out
    assert "ac0974" not in r.output.lower()
    data = json.loads(_verify(record, f, "--json").output)
    assert data["outcome"]["code"] == "NOT_VERIFIABLE"
    assert "ac0974" not in json.dumps(data).lower()


@pytest.mark.integration
def test_cli_verify_readme(record, tmp_path):
    f = tmp_path / "README.md"
    f.write_text("# TalentProof\n\n" + "Some prose about the project.\n" * 4000)
    r = _verify(record, f)
    assert r.exit_code == 3, r.output
    out = " ".join(r.output.split())
    assert "a credential JSON file" in out and "not JSON and not a QR payload" in out, out
