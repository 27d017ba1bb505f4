"""The issuer's operator API withdraws what the chain holds open, not what its own table lists.

Attack: the consortium grants an institution a type or a degree level with the governance CLI
(`talentproof governance grant-type`), which the issuer service's table never hears of. Told
later through the operator API to withdraw it, the service filtered the names by its table,
sent nothing, and answered 200 with the type gone from the list: the grant stayed open on chain
and every credential the institution went on signing under it verified VALID. And withdrawing
``DegreeCredential`` left a level granted beside the whole type open (the CLI's withdraw-type
closes every open grant of the type since 2fe5a36; this API did not).
"""

from __future__ import annotations

from typing import Any

import pytest

from .issuer_helpers import onboard, operator_headers

pytestmark = pytest.mark.integration


def _governance(issuer_chain: dict[str, Any]) -> Any:
    from web3 import Web3

    from talentproof.ledger.client import RegistryClient
    from talentproof.ledger.deploy import Deployment

    w3 = Web3(Web3.HTTPProvider(issuer_chain["rpc_url"]))
    return RegistryClient(
        w3, Deployment.load(issuer_chain["deployment_file"]), issuer_chain["governor_key"]
    )


def _open(gov: Any, issuer_id: int, name: str) -> bool:
    window = gov.credential_type(issuer_id, name)
    return bool(window.registered) and window.valid_until == 0


def test_withdraw_reaches_grants_the_service_never_made(client, issuer_chain) -> None:
    gov = _governance(issuer_chain)
    inst = onboard(client, types=["DegreeCredential"])
    slug, issuer_id = inst["slug"], inst["chain_issuer_id"]
    # the consortium's own grants, made beside the service
    gov.grant_credential_type(issuer_id, "EmploymentCredential")
    gov.grant_credential_type(issuer_id, "DegreeCredential#level=bachelor")
    assert _open(gov, issuer_id, "EmploymentCredential")

    r = client.post(
        f"/operator/institutions/{slug}/credential-types",
        headers=operator_headers(),
        json={"grant": [], "withdraw": ["EmploymentCredential", "DegreeCredential"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["credential_types"] == []
    for name in ("EmploymentCredential", "DegreeCredential", "DegreeCredential#level=bachelor"):
        assert not _open(gov, issuer_id, name), f"{name} still open on chain"


def test_the_answer_lists_what_the_chain_holds_open(client, issuer_chain) -> None:
    """A grant made beside the service shows in the operator's answer (it is what verifiers
    read), and granting a type the chain holds open already sends nothing."""
    gov = _governance(issuer_chain)
    inst = onboard(client, types=["DegreeCredential"])
    slug, issuer_id = inst["slug"], inst["chain_issuer_id"]
    gov.grant_credential_type(issuer_id, "OpenBadgeCredential")
    before = gov.credential_type(issuer_id, "OpenBadgeCredential")
    r = client.post(
        f"/operator/institutions/{slug}/credential-types",
        headers=operator_headers(),
        json={"grant": ["OpenBadgeCredential"], "withdraw": []},
    )
    assert r.status_code == 200, r.text
    assert r.json()["credential_types"] == ["DegreeCredential", "OpenBadgeCredential"]
    assert gov.credential_type(issuer_id, "OpenBadgeCredential") == before
