"""`talentproof run` itself: first start seeds, Ctrl-C stops every process, the next start finds
the same deployment, institutions and API keys (no second seeding); development only."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from talentproof.devstack import port_in_use

from .stack import REPO, Stack, alive

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("e2e-run")]


def test_run_seeds_once_stops_on_ctrl_c_and_resumes(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "data")
    first = stack.start()
    try:
        assert "registry  0x" in first and "(deployed at block" in first
        assert "institutions seeded now" in first
        seed = stack.seed()
        assert sorted(seed["institutions"]) == [
            "harbour-university",
            "hk-blockchain-academy",
            "osl",
        ]
        assert oct((stack.data_dir / "dev-keys.json").stat().st_mode & 0o777) == "0o600"
        # the printed curl command issues a first credential as printed
        curl = next(line.strip() for line in first.splitlines() if line.strip().startswith("curl "))
        assert stack.api_key("harbour-university") in curl
        issued = subprocess.run(
            ["sh", "-c", curl], capture_output=True, text=True, check=False, timeout=60
        )
        assert '"status":"pending_anchor"' in issued.stdout, issued.stdout + issued.stderr
        # the verifier's VC API takes the printed token (VT=$(cat ...)); the page stays public
        vc_api_token = vc_api_needs_the_printed_token(stack, first)
        # the printed governance line makes `talentproof governance ...` act as the governing
        # authority (development account 0), from the key file it names (owner-only)
        export = next(
            line for line in first.splitlines() if "export TALENTPROOF_OPERATOR_KEY=" in line
        )
        key_file = stack.data_dir / "governor-key"
        assert str(key_file) in export
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
        governor = "0x" + secrets.token_hex(20)
        shell = (
            export.split(": ", 1)[1] + f" && {sys.executable} -m talentproof governance "
            f"add-governor {governor} --rpc {stack.rpc_url} -d {stack.deployment_file}"
        )
        added = subprocess.run(
            ["sh", "-c", shell],
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO,
            timeout=120,
            env={k: v for k, v in os.environ.items() if k != "TALENTPROOF_OPERATOR_KEY"},
        )
        assert added.returncode == 0, added.stdout + added.stderr
        status = subprocess.run(
            [
                sys.executable,
                "-m",
                "talentproof",
                "status",
                "--json",
                "--rpc",
                stack.rpc_url,
                "-d",
                str(stack.deployment_file),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert json.loads(status.stdout)["governorCount"] == 2, status.stdout + status.stderr
        token_file = stack.data_dir / "issuer-operator-token"  # the README's OP=$(cat ...)
        assert f"OP=$(cat {token_file})" in first and token_file.read_text().strip() in first
        children = set(stack.descendants)
        assert len(children) >= 3  # chain, issuer, verifier
        # the verifier's OpenID4VP client_id is its key's, kept in the data folder
        client_id = oid4vp_client_id(stack)
        key_file = stack.data_dir / "verifier-key.json"
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
        assert client_id.endswith(json.loads(key_file.read_text())["publicKeyMultibase"])
    finally:
        code = stack.stop()
    assert code == 0, stack.output()
    assert "stopped; chain state kept in" in stack.output()
    assert not [pid for pid in children if alive(pid)]
    for port in (stack.chain_port, stack.issuer_port, stack.verifier_port):
        assert not port_in_use(port)

    again = stack.start()
    try:
        assert "(found again at block" in again
        assert "institutions found again" in again and "seeded now" not in again
        assert stack.seed()["institutions"] == seed["institutions"]
        # the same API key still works and sees the credential issued before the restart
        listed = httpx.get(
            f"{stack.issuer_url}/credentials",
            headers={"Authorization": f"Bearer {stack.api_key('harbour-university')}"},
        )
        assert listed.status_code == 200, listed.text
        assert len(listed.json()["items"]) == 1
        token = (stack.data_dir / "issuer-operator-token").read_text().strip()
        institutions = httpx.get(
            f"{stack.issuer_url}/operator/institutions",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert [i["slug"] for i in institutions.json()] == [
            "harbour-university",
            "hk-blockchain-academy",
            "osl",
        ]
        # a wallet that trusted the verifier before the restart sees the same client_id
        assert oid4vp_client_id(stack) == client_id
        assert vc_api_needs_the_printed_token(stack, again) == vc_api_token  # kept
    finally:
        assert stack.stop() == 0, stack.output()


def vc_api_needs_the_printed_token(stack: Stack, printed: str) -> str:
    """The verifier VC API's development token as printed: refused (401) without it, taken
    with it (a request that then gets the VC API's own 400 for an empty credential)."""
    token_file = stack.data_dir / "verifier-vc-api-token"
    token = token_file.read_text().strip()
    assert f"verifier VC API token {token}  (development only; VT=$(cat {token_file}))" in printed
    body = {"verifiableCredential": {}, "options": {}}
    url = f"{stack.verifier_url}/credentials/verify"
    refused = httpx.post(url, json=body, timeout=30)
    assert refused.status_code == 401, refused.text
    assert refused.headers["WWW-Authenticate"].startswith("Bearer ")
    taken = httpx.post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert taken.status_code == 400 and taken.json()["verified"] is False, taken.text
    assert httpx.get(f"{stack.verifier_url}/", timeout=30).status_code == 200
    ready = httpx.get(f"{stack.verifier_url}/readyz", timeout=30).json()
    assert ready["vcApi"] == {"authentication": "bearer token required"}
    return token


def oid4vp_client_id(stack: Stack) -> str:
    """The client_id of a new OpenID4VP request of the stack's verifier."""
    r = httpx.post(
        f"{stack.verifier_url}/oid4vp/requests", json={"profession": "hk-dlt-expert"}, timeout=30
    )
    assert r.status_code == 201, r.text
    (client_id,) = parse_qs(urlsplit(r.json()["authorizationRequest"]).query)["client_id"]
    assert client_id.startswith("decentralized_identifier:did:key:z6Mk"), client_id
    return client_id


def test_run_refuses_outside_development(tmp_path: Path) -> None:
    env = {**os.environ, "TALENTPROOF_ENV": "production"}
    result = subprocess.run(
        [sys.executable, "-m", "talentproof", "run", "--data-dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 1
    assert "TALENTPROOF_ENV=production" in result.stderr and "development" in result.stderr
    assert not (tmp_path / "data").exists()


def test_issuer_ignores_the_development_operator_token_outside_development(tmp_path: Path) -> None:
    """The token `talentproof run` writes is honoured only with TALENTPROOF_ENV=development."""
    from talentproof.devstack import operator_token
    from talentproof.issuer.errors import Unauthenticated
    from talentproof.issuer.service import IssuerService
    from talentproof.issuer.settings import IssuerSettings

    token = operator_token(tmp_path)
    dev = IssuerService(IssuerSettings(data_dir=tmp_path, env="development", key_passphrase="p"))
    prod = IssuerService(
        IssuerSettings(
            data_dir=tmp_path,
            env="production",
            key_passphrase="p",
            governor_key="0x" + secrets.token_hex(32),  # not a development key
        )
    )
    try:
        assert dev.authenticate(token).is_operator
        with pytest.raises(Unauthenticated):
            prod.authenticate(token)
    finally:
        dev.close()
        prod.close()


def test_issuer_refuses_development_chain_keys_outside_development(tmp_path: Path) -> None:
    from talentproof.issuer.errors import ConfigurationError
    from talentproof.issuer.service import IssuerService
    from talentproof.issuer.settings import IssuerSettings
    from talentproof.ledger.nodes import dev_private_keys

    with pytest.raises(ConfigurationError, match="development"):
        IssuerService(
            IssuerSettings(
                data_dir=tmp_path,
                env="production",
                key_passphrase="p",
                operator_token="t" * 32,
                governor_key=dev_private_keys(1)[0],
            )
        )


def test_issuer_accepts_development_chain_keys_only_in_development(tmp_path: Path) -> None:
    # Any of the mnemonic's accounts, in any spelling, is refused outside development ...
    from talentproof.issuer.errors import ConfigurationError
    from talentproof.issuer.service import IssuerService
    from talentproof.issuer.settings import IssuerSettings
    from talentproof.ledger.nodes import dev_private_keys

    for key in (dev_private_keys(5)[3].upper().replace("0X", ""), " " + dev_private_keys(1)[0]):
        with pytest.raises(ConfigurationError, match="public development keys"):
            IssuerSettings(
                data_dir=tmp_path, env="production", governor_key=key, key_passphrase="p"
            ).refuse_development_secrets()
    # ... and accepted in development.
    service = IssuerService(
        IssuerSettings(
            data_dir=tmp_path,
            env="development",
            key_passphrase="p",
            operator_token="t" * 32,
            governor_key=dev_private_keys(1)[0],
        )
    )
    service.close()


def test_issuer_needs_its_own_secrets_outside_development(tmp_path: Path) -> None:
    from talentproof.issuer.errors import ConfigurationError, LedgerUnavailable
    from talentproof.issuer.service import IssuerService
    from talentproof.issuer.settings import IssuerSettings

    # No key passphrase: refused in production (development generates a file) ...
    with pytest.raises(ConfigurationError, match="no key passphrase configured"):
        IssuerService(
            IssuerSettings(data_dir=tmp_path / "p", env="production", operator_token="t" * 32)
        )
    assert not (tmp_path / "p" / "issuer-passphrase").exists()
    # ... and no governor key: no silent fallback to Anvil's account 0 for governance.
    service = IssuerService(
        IssuerSettings(
            data_dir=tmp_path / "g", env="production", key_passphrase="p", operator_token="t" * 32
        )
    )
    try:
        with pytest.raises(ConfigurationError, match="no governor key configured"):
            service.chain.governor()
    finally:
        service.close()
    dev = IssuerService(IssuerSettings(data_dir=tmp_path / "d", env="development"))
    try:
        assert (tmp_path / "d" / "issuer-passphrase").exists()
        # development: Anvil's account 0 is taken, so it goes on to the chain (none here)
        with pytest.raises(LedgerUnavailable, match="no deployment record"):
            dev.chain.governor()
    finally:
        dev.close()
