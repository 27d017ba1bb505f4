"""Linking an issuer already on chain at onboarding (``chain_issuer_id``) (real Anvil).

Attack: the operator API (and ``talentproof issuer onboard --chain-issuer-id``) linked the
institution to whatever issuer the id named: onboarding "Harbour Polytechnic" with the id of
HSBC's on-chain record gave the new institution an account and a signing key on HSBC's record,
so every credential it then signed verified as HSBC's (the verifier reads the name and DID from
the ledger). The on-chain DID must be the institution's and the on-chain name its name (case,
punctuation and spacing aside, as a credential's institution is compared): otherwise 409 naming
both, and nothing is sent to the chain or stored. An id no issuer holds is refused (422).
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account

from .issuer_helpers import new_slug, operator_headers

pytestmark = pytest.mark.integration


def _governance(issuer_chain: dict[str, Any]) -> Any:
    from web3 import Web3

    from talentproof.ledger.client import RegistryClient
    from talentproof.ledger.deploy import Deployment

    w3 = Web3(Web3.HTTPProvider(issuer_chain["rpc_url"]))
    return RegistryClient(
        w3, Deployment.load(issuer_chain["deployment_file"]), issuer_chain["governor_key"]
    )


def _onboard(client: Any, **body: Any) -> Any:
    body = {"credential_types": ["EmploymentCredential"], **body}
    return client.post("/operator/institutions", headers=operator_headers(), json=body)


@pytest.fixture
def on_chain(issuer_chain):
    """An issuer the consortium registered on chain beside the service (no key, no type)."""
    gov = _governance(issuer_chain)
    tag = new_slug("linked")
    name, did = f"Linked Bank {tag}", f"did:web:{tag}.example"
    issuer_id = gov.register_issuer(name, did, [Account.create().address])
    return {"gov": gov, "id": issuer_id, "name": name, "did": did}


def _untouched(c: dict[str, Any], client: Any, slug: str) -> None:
    """Nothing was sent for the refused onboarding, nor stored."""
    gov = c["gov"]
    assert len(gov.issuer_accounts(c["id"])) == 1
    assert not gov.credential_type(c["id"], "EmploymentCredential").registered
    assert (
        client.get(f"/operator/institutions/{slug}", headers=operator_headers()).status_code == 404
    )


def test_linking_an_issuer_of_another_name_is_refused_naming_both(client, on_chain) -> None:
    slug = new_slug()
    r = _onboard(
        client,
        name="Harbour Polytechnic",
        slug=slug,
        did=on_chain["did"],
        chain_issuer_id=on_chain["id"],
    )
    assert r.status_code == 409, r.text
    message = r.json()["message"]
    assert "'Harbour Polytechnic'" in message and repr(on_chain["name"]) in message, message
    _untouched(on_chain, client, slug)


def test_linking_an_issuer_of_another_did_is_refused_naming_both(client, on_chain) -> None:
    for did in ("did:web:harbour-polytechnic.example", None):  # given, or derived from the slug
        slug = new_slug()
        body = {"name": on_chain["name"], "slug": slug, "chain_issuer_id": on_chain["id"]}
        r = _onboard(client, **body, **({"did": did} if did else {}))
        assert r.status_code == 409, r.text
        message = r.json()["message"]
        assert repr(on_chain["did"]) in message, message
        assert (did or slug) in message, message
        _untouched(on_chain, client, slug)


def test_linking_an_id_no_issuer_holds_is_refused(client, on_chain) -> None:
    slug = new_slug()
    missing = on_chain["gov"].issuer_count() + 1000
    r = _onboard(
        client, name="Nobody", slug=slug, did="did:web:nobody.example", chain_issuer_id=missing
    )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "chain_issuer_id" and str(missing) in r.json()["message"]


def test_linking_the_issuer_registered_under_its_did_and_name_works(client, on_chain) -> None:
    """The same DID, the name up to case, punctuation and spacing: linked; the account, key and
    type are added to that record."""
    slug = new_slug()
    written = "  " + on_chain["name"].upper().replace(" ", "  ") + ". "
    r = _onboard(
        client, name=written, slug=slug, did=on_chain["did"], chain_issuer_id=on_chain["id"]
    )
    assert r.status_code == 201, r.text
    assert r.json()["chain_issuer_id"] == on_chain["id"]
    gov = on_chain["gov"]
    assert len(gov.issuer_accounts(on_chain["id"])) == 2
    assert gov.credential_type(on_chain["id"], "EmploymentCredential").registered


def test_cli_onboard_refuses_linking_another_institution(
    issuer_chain, on_chain, tmp_path, monkeypatch
):  # type: ignore[no-untyped-def]
    """``talentproof issuer onboard --chain-issuer-id``: the same refusal, naming both names."""
    from typer.testing import CliRunner

    from talentproof.issuer.cli import issuer_app

    from .issuer_helpers import settings_env

    for key, value in settings_env(issuer_chain, tmp_path, log_json="false").items():
        monkeypatch.setenv(key, value)
    args = ["onboard", "--name", "Harbour Polytechnic", "--slug", new_slug("cli-link")]
    args += ["--type", "EmploymentCredential", "--did", on_chain["did"]]
    result = CliRunner().invoke(issuer_app, [*args, "--chain-issuer-id", str(on_chain["id"])])
    assert result.exit_code != 0, result.output
    assert "'Harbour Polytechnic'" in result.output and repr(on_chain["name"]) in result.output
    assert len(on_chain["gov"].issuer_accounts(on_chain["id"])) == 1
