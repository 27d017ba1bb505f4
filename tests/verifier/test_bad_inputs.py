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
    item_from_image,
    item_from_json,
    item_from_path,
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


# --- TalentProof's own access tokens, saved as a text file and verified ----------------------


def _tokens(tmp_path) -> dict[str, str]:
    """Each token form, made by the code that makes it: the issuer's API key, its development
    operator token (<data>/issuer-operator-token), an OID4VCI access token, a VC API token."""
    import secrets

    from talentproof.issuer.auth import new_api_key
    from talentproof.issuer.usecases.oid4vci import ACCESS_TOKEN_PREFIX
    from talentproof.issuer.vault import dev_passphrase
    from talentproof.verifier.vc_api_tokens import new_token

    return {
        "api-key.txt": new_api_key().token,
        "issuer-operator-token": dev_passphrase(tmp_path, name="issuer-operator-token"),
        "oid4vci-token.txt": ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32),
        "vc-api-token.txt": new_token(),
    }


def _leaks(secret: str, text: str) -> list[str]:
    """Every 4-character piece of ``secret`` found in ``text`` (none may be)."""
    return sorted({secret[i : i + 4] for i in range(len(secret) - 3)} & _pieces(text))


def _pieces(text: str) -> set[str]:
    return {text[i : i + 4] for i in range(len(text) - 3)}


def _token_refusal_ok(error: str | None, secret: str) -> None:
    assert error is not None
    assert "looks like an access token" in error and "nothing of it is shown" in error, error
    assert not _leaks(secret, error), (_leaks(secret, error), error)


def test_an_access_token_is_not_verifiable_and_never_echoed(tmp_path):
    """A token saved as a .txt said INVALID, "found 'tpk_780c'" (part of the secret)."""
    for name, token in _tokens(tmp_path).items():
        for text in (token, token + "\n", f"Bearer {token}\n", f"Authorization: Bearer {token}"):
            item = item_from_bytes(text.encode(), name)
            assert not item.not_talentproof, (name, item.error)
            _token_refusal_ok(item.error, token)
        for item in (resolve_argument(token), item_from_text(token, "payload 1")):
            assert not item.not_talentproof, (name, item.error)
            _token_refusal_ok(item.error, token)


def test_a_json_answer_holding_a_token_is_refused_without_it(tmp_path):
    """The issuer's answer to a new API key, an OID4VCI token answer, saved as .json."""
    tokens = _tokens(tmp_path)
    for doc, token in (
        ({"key_id": "780cddd57fab0cc9", "token": tokens["api-key.txt"]}, tokens["api-key.txt"]),
        (
            {"access_token": tokens["oid4vci-token.txt"], "token_type": "Bearer"},
            tokens["oid4vci-token.txt"],
        ),
    ):
        item = item_from_json(json.dumps(doc), "document 1")
        _token_refusal_ok(item.error, token)


def test_a_json_file_holding_a_token_deeper_is_refused_without_it(tmp_path):
    """The issuer's answer to POST /operator/institutions (the first API key under
    ``api_key.token``) and `make run`'s <data>/dev-keys.json (``institutions.<slug>.api_key``),
    verified by mistake, said INVALID at check 2 ("@context should be a list"): the token was not
    shown, but the file was not named as a secret to keep. A credential (it has ``@context``) is
    never searched below its top level."""
    tokens = _tokens(tmp_path)
    key = tokens["api-key.txt"]
    onboarded = {
        "slug": "osl",
        "chain_issuer_id": 3,
        "signing_keys": [{"id": 1, "publicKeyMultibase": "z6Mk" + "a" * 44}],
        "api_key": {"id": "780cddd57fab0cc9", "token": key, "scopes": ["issue"]},
    }
    dev_keys = {"institutions": {"osl": {"name": "OSL", "api_key": key, "api_key_id": "780c"}}}
    for doc in (onboarded, dev_keys, {"keys": [{"token": key}]}):
        item = item_from_json(json.dumps(doc), "document 1")
        _token_refusal_ok(item.error, key)
    # deeper than the bound, or inside a credential: not looked for (never a refusal here)
    deep = {"a": {"b": {"c": {"d": {"e": key}}}}}
    assert "access token" not in (item_from_json(json.dumps(deep), "d").error or "")
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "credentialSubject": {"name": key},
    }
    assert "access token" not in (item_from_json(json.dumps(credential), "c").error or "")


def test_other_one_line_text_shows_its_length_and_kinds_not_its_characters():
    """Any other one-line text is still 'not a TalentProof payload' (INVALID), described by its
    length and the kinds of characters it holds, none of them shown."""
    secret = "hunter2-correct-horse"
    item = item_from_bytes(secret.encode(), "password.txt")
    assert item.not_talentproof and item.error is not None
    assert "expected the prefix 'TP1:'" in item.error, item.error
    assert f"{len(secret)} characters" in item.error, item.error
    assert "lower-case letters" in item.error and "digits" in item.error, item.error
    assert not _leaks(secret, item.error), item.error
    damaged = item_from_bytes(b"TP1;NCF9W", "scan.txt")  # a damaged prefix is still named
    assert damaged.not_talentproof and "'TP1;'" in (damaged.error or ""), damaged.error
    assert "NCF9W" not in (damaged.error or "")


@pytest.mark.integration
def test_cli_and_service_never_show_a_token(record, tmp_path):
    from fastapi.testclient import TestClient

    from talentproof.verifier.service import ServiceSettings, create_app

    tokens = _tokens(tmp_path)
    for name, token in tokens.items():
        f = tmp_path / name
        f.write_text(token + "\n")
        r = _verify(record, f)
        assert r.exit_code == 3, r.output
        out = " ".join(r.output.split())
        assert "NOT VERIFIABLE" in out and "looks like an access token" in out, out
        assert not _leaks(token, r.output), r.output
        j = _verify(record, f, "--json")
        assert json.loads(j.output)["outcome"]["code"] == "NOT_VERIFIABLE"
        assert not _leaks(token, j.output), j.output
    settings = ServiceSettings(rpc_url=record["rpc"], trust=record["record"], domain="v.example.hk")
    with TestClient(create_app(settings)) as client:
        for token in tokens.values():
            r = client.post("/api/v1/verify", json={"payloads": [token]})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["verdict"] != "valid" and body["outcome"]["code"] == "NOT_VERIFIABLE"
            assert "looks like an access token" in body["outcome"]["reason"], body
            assert not _leaks(token, r.text), r.text
        key = tokens["api-key.txt"]
        r = client.post("/api/v1/verify", json={"documents": [{"token": key}]})
        assert r.status_code == 200, r.text
        assert r.json()["outcome"]["code"] == "NOT_VERIFIABLE", r.text
        assert "looks like an access token" in r.text and not _leaks(key, r.text), r.text


def test_a_picture_file_that_is_no_picture_is_not_verifiable_as_on_the_page(tmp_path):
    """A ``.png`` holding text (a broken download, a renamed note), in a folder given to
    `talentproof verify`, was INVALID there ("Not a TalentProof payload ... 12 characters"),
    while the page said NOT VERIFIABLE ("not a readable image: the file is text, not a picture")
    and `verify FILE.png` exit 2: a folder now reads a picture file as a picture, whatever its
    bytes, and says what the page says."""
    for name, data in (
        ("scan.png", b"P5\n1 1\n255\n\x00"),
        ("photo.JPG", b"hello"),
        ("qr.jpeg", b'{"@context": []}'),
    ):
        f = tmp_path / name
        f.write_bytes(data)
        item = item_from_path(f)
        assert item.error is not None and not item.not_talentproof, (name, item.error)
        assert item.error == item_from_image(data, name).error, (name, item.error)
        assert "no TalentProof QR code could be read" in item.error, (name, item.error)
    good = tmp_path / "note.txt"  # another suffix: read by its bytes, as before
    good.write_bytes(b"hello")
    assert item_from_path(good).not_talentproof


@pytest.mark.parametrize(
    ("uri", "said"),
    [
        (
            "openid-credential-offer://?credential_offer_uri=http%3A%2F%2Flocalhost%3A8000%2F"
            "institutions%2Fharbour-university%2Fcredential-offers%2Fabc",
            "an institution's credential offer, for the applicant's wallet (`talentproof wallet "
            "accept",
        ),
        (
            "openid4vp://?client_id=decentralized_identifier%3Adid%3Akey%3Az6Mk&request_uri=x",
            "a verifier's request, for the applicant's wallet (`talentproof wallet present",
        ),
    ],
    ids=["offer", "request"],
)
def test_a_wallet_link_is_named_with_the_command_that_takes_it(uri, said):
    """`talentproof verify 'openid-credential-offer://...'` (a user trying what the issuer
    answered) said 'no such file or folder'; a wallet link is now named, a usage error (exit 2)
    before any chain is read (this RPC URL answers nothing)."""
    r = runner.invoke(app, ["verify", "--rpc", "http://127.0.0.1:9", uri])
    assert r.exit_code == 2, r.output
    out = " ".join(r.output.split())
    assert said in out and "no such file" not in out, out
