"""``talentproof deploy | governance | status | node`` through the real CLI app."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.keys import Ed25519PublicKey, Ed25519SigningKey
from talentproof.ledger.chain import connect
from talentproof.ledger.client import RegistryClient
from talentproof.ledger.deploy import Deployment
from talentproof.ledger.models import IssuerStatus
from talentproof.ledger.nodes import free_port

runner = CliRunner()
TALENTPROOF = str(Path(sys.executable).parent / "talentproof")


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.integration
def test_deploy_governance_and_status(anvil_node, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rpc, key = anvil_node.rpc_url, anvil_node.private_keys[0]
    record = tmp_path / "deployment.json"
    env = {"TALENTPROOF_OPERATOR_KEY": key}
    code, out, err = _run("deploy", "--rpc", rpc, "--out", str(record), env=env)
    assert code == 0, err
    dep = Deployment.load(record)
    assert json.loads(out)["registry"] == dep.registry and dep.chain_id == anvil_node.chain_id
    # --reuse finds the same registry again
    code, out, _ = _run("deploy", "--rpc", rpc, "--out", str(record), "--reuse", env=env)
    assert code == 0 and json.loads(out)["registry"] == dep.registry

    key_file = tmp_path / "operator.key"
    key_file.write_text(key)
    common = ["--rpc", rpc, "--deployment", str(record), "--key-file", str(key_file)]
    issuer_account = anvil_node.accounts[5]
    pub = "0x" + "ab" * 32
    code, out, err = _run(
        "governance",
        "register-issuer",
        "HKU",
        "did:web:hku.hk",
        "--account",
        issuer_account,
        "--signing-key",
        pub,
        "--type",
        "DegreeCredential",
        "--levels",
        "all",
        *common,
    )
    assert code == 0, err
    issuer_id = int(out.strip())
    client = RegistryClient(connect(rpc), dep)
    assert client.issuer(issuer_id).name == "HKU"
    assert client.issuer_of_account(issuer_account) == issuer_id
    assert client.signing_key(issuer_id, pub).registered
    assert client.credential_type(issuer_id, "DegreeCredential").registered

    for args in (
        ("add-account", str(issuer_id), anvil_node.accounts[6]),
        ("grant-type", str(issuer_id), "EmploymentCredential"),
        ("withdraw-type", str(issuer_id), "EmploymentCredential"),
        ("revoke-key", str(issuer_id), pub),
        ("suspend", str(issuer_id)),
    ):
        code, out, err = _run("governance", *args, *common)
        assert code == 0, (args, err)
        assert "tx 0x" in out
    assert client.issuer_of_account(anvil_node.accounts[6]) == issuer_id
    assert client.signing_key(issuer_id, pub).valid_until > 0
    assert client.issuer(issuer_id).status is IssuerStatus.SUSPENDED

    code, out, err = _run("status", "--rpc", rpc, "--deployment", str(record), "--json")
    assert code == 0, err
    status = json.loads(out)
    assert status["deployment"]["registry"] == dep.registry
    assert status["issuers"][0]["status"] == "suspended"
    assert anvil_node.accounts[6] in status["issuers"][0]["accounts"]
    code, out, _ = _run("status", "--rpc", rpc, "--deployment", str(record))
    assert code == 0 and f"#{issuer_id} HKU (did:web:hku.hk): suspended" in out

    # a revert is one line naming the error, exit 1
    code, _, err = _run("governance", "suspend", str(issuer_id), *common)
    assert code == 1 and err.startswith("error: suspendIssuer reverted with IssuerAlreadySuspended")
    assert len(err.strip().splitlines()) == 1
    # a non-governor is refused by the contract
    other_key = tmp_path / "other.key"
    other_key.write_text(anvil_node.private_keys[7])
    code, _, err = _run(
        "governance",
        "add-governor",
        Account.create().address,
        "--rpc",
        rpc,
        "--deployment",
        str(record),
        "--key-file",
        str(other_key),
    )
    assert code == 1 and "GovernanceUnauthorizedAccount" in err


@contextlib.contextmanager
def _refusing_url() -> Iterator[str]:
    """A node URL whose port is held bound and never listening: connections are refused, and no
    node another test worker starts can take it (a port free_port() found free may be a node's
    by the time it is asked)."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{held.getsockname()[1]}"


def test_errors_have_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TALENTPROOF_OPERATOR_KEY", raising=False)
    with _refusing_url() as dead:
        code, _, err = _run("deploy", "--rpc", dead, "--key", "0x" + "11" * 32)
        assert code == 3 and err.startswith("error: chain unreachable")
        code, _, err = _run("deploy", "--rpc", dead)
        assert code == 1 and "no operator key" in err
    code, _, err = _run("status", "--deployment", str(tmp_path / "none.json"))
    assert code == 1 and "no deployment record" in err
    code, _, _ = _run("governance", "suspend", "not-a-number")
    assert code == 2
    code, _, err = _run("node", "start", "--client", "geth")
    assert code == 2 and "anvil or ganache" in err


def _node_start(port: int, state_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [TALENTPROOF, "node", "start", "--port", str(port), "--state-dir", str(state_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stopped(proc: subprocess.Popen[str], state_dir: Path) -> None:
    """Wait for `node start` to exit after a signal; on failure show what it and Anvil said.

    Its stop waits up to 10 s for Anvil to dump its state, then 5 s after SIGTERM and 5 s after
    SIGKILL; 60 s leaves room for a loaded CI machine."""
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        log = state_dir / "anvil.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
        pytest.fail(
            f"node start did not exit within 60 s: stdout {out!r} stderr {err!r} log {tail}"
        )
    assert proc.returncode == 0, (out, err)


@pytest.mark.integration
def test_node_start_runs_until_interrupted_and_persists_state(tmp_path: Path) -> None:
    port = free_port()
    proc = _node_start(port, tmp_path)
    try:
        first = proc.stdout.readline()  # type: ignore[union-attr]
        assert first.startswith("anvil/") and f"127.0.0.1:{port}" in first
        w3 = connect(f"http://127.0.0.1:{port}")
        w3.provider.make_request("evm_mine", [])
        mined = w3.eth.block_number
        assert mined >= 1
    finally:
        proc.send_signal(signal.SIGINT)
        _stopped(proc, tmp_path)
    assert (tmp_path / "anvil-state.json").exists()
    proc = _node_start(port, tmp_path)
    try:
        proc.stdout.readline()  # type: ignore[union-attr]
        assert connect(f"http://127.0.0.1:{port}").eth.block_number == mined
    finally:
        proc.send_signal(signal.SIGTERM)
        _stopped(proc, tmp_path)


GOVERNANCE_COMMANDS = (
    "register-issuer", "add-account", "remove-account", "suspend", "reinstate", "remove",
    "add-governor", "remove-governor", "transfer-admin", "accept-admin", "add-key", "revoke-key",
    "grant-type", "withdraw-type",
)  # fmt: skip
CONNECTION_OPTIONS = (
    "--rpc", "--deployment", "--key", "--key-file", "--confirmations", "--gas-price",
)  # fmt: skip


@pytest.mark.parametrize("command", GOVERNANCE_COMMANDS)
def test_every_governance_command_documents_the_connection_options(command: str) -> None:
    result = runner.invoke(app, ["governance", command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for option in CONNECTION_OPTIONS:
        assert f" {option} " in result.output, (command, option)
    assert "TALENTPROOF_RPC_URL" in result.output and "TALENTPROOF_DEPLOYMENT" in result.output


@pytest.mark.integration
def test_every_governance_command_acts_on_chain(anvil_node, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Each command with its arguments, the connection taken from the environment."""
    rpc, admin_key = anvil_node.rpc_url, anvil_node.private_keys[0]
    record = tmp_path / "deployment.json"
    env = {
        "TALENTPROOF_RPC_URL": rpc,
        "TALENTPROOF_DEPLOYMENT": str(record),
        "TALENTPROOF_OPERATOR_KEY": admin_key,
    }
    assert _run("deploy", "--out", str(record), env=env)[0] == 0
    client = RegistryClient(connect(rpc), Deployment.load(record))
    code, out, err = _run("governance", "register-issuer", "HKUST", "did:web:hkust.edu.hk", env=env)
    assert code == 0, err
    issuer = out.strip()
    acc, gov, new_admin = anvil_node.accounts[8], anvil_node.accounts[9], anvil_node.accounts[10]
    pub = "0x" + "cd" * 32
    signer = Ed25519SigningKey.from_seed(bytes(range(32)))
    multikey, multikey_hex = signer.public_key.multibase, "0x" + signer.public_key.raw.hex()
    code, _, err = _run("governance", "add-key", issuer, "z6MkNotAKey", env=env)
    assert code == 1 and err.startswith("error: signing key 'z6MkNotAKey'"), err
    for args, printed in (
        (("add-account", issuer, acc), f"add-account {issuer} {acc}"),
        (("remove-account", issuer, acc), f"remove-account {issuer} {acc}"),
        # a key is echoed as status, did.json and credentials show it (z6Mk...), however given
        (
            ("add-key", issuer, pub, "--valid-until", "4000000000"),
            f"add-key {issuer} {Ed25519PublicKey.from_raw(bytes.fromhex(pub[2:])).multibase}",
        ),
        (("add-key", issuer, multikey), f"add-key {issuer} {multikey}"),
        (("suspend", issuer), f"suspend {issuer}"),
        (("reinstate", issuer), f"reinstate {issuer}"),
        (("add-governor", gov), f"add-governor {gov}"),
        (("remove-governor", gov), f"remove-governor {gov}"),
        (("remove", issuer), f"remove {issuer}"),
        (("transfer-admin", new_admin), f"transfer-admin {new_admin}"),
    ):
        code, out, err = _run("governance", *args, env=env)
        assert code == 0, (args, err)
        assert out.startswith(f"{printed} (tx 0x"), out
    assert client.issuer_of_account(acc) is None
    assert client.signing_key(int(issuer), pub).valid_until == 4_000_000_000
    assert client.signing_key(int(issuer), multikey_hex).registered
    assert client.issuer(int(issuer)).status is IssuerStatus.REMOVED
    assert client.governor_count() == 1 and client.pending_admin() == new_admin
    code, out, err = _run(
        "governance", "accept-admin", "--key", anvil_node.private_keys[10], env=env
    )
    assert code == 0, err
    assert out.startswith("accept-admin (tx 0x") and client.admin() == new_admin


@pytest.mark.integration
def test_degree_levels_granted_and_withdrawn(anvil_node, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A training centre accredited for associate and bachelor degrees only: one on-chain type id
    per level (``DegreeCredential#level=<level>``), never the whole type; a level is granted and
    withdrawn alone; granting DegreeCredential without saying which levels is refused."""
    rpc, key = anvil_node.rpc_url, anvil_node.private_keys[0]
    record = tmp_path / "deployment.json"
    env = {"TALENTPROOF_OPERATOR_KEY": key}
    code, _, err = _run("deploy", "--rpc", rpc, "--out", str(record), env=env)
    assert code == 0, err
    common = ["--rpc", rpc, "--deployment", str(record)]
    code, out, err = _run(
        "governance", "register-issuer", "Centre", "did:web:centre.example.hk",
        "--type", "DegreeCredential", "--levels", "associate,bachelor", *common, env=env,
    )  # fmt: skip
    assert code == 0, err
    issuer_id = out.strip()
    client = RegistryClient(connect(rpc), Deployment.load(record))
    granted = {
        level: client.credential_type(int(issuer_id), f"DegreeCredential#level={level}").registered
        for level in ("associate", "bachelor", "master", "doctorate")
    }
    assert granted == {"associate": True, "bachelor": True, "master": False, "doctorate": False}
    assert not client.credential_type(int(issuer_id), "DegreeCredential").registered
    code, _, err = _run("governance", "grant-type", issuer_id, "DegreeCredential", *common, env=env)
    assert code == 1 and "say which levels it may award with --levels" in err, err
    assert not client.credential_type(int(issuer_id), "DegreeCredential").registered
    code, out, err = _run(
        "governance", "grant-type", issuer_id, "DegreeCredential", "--levels", "master",
        *common, env=env,
    )  # fmt: skip
    assert code == 0 and "grant-type 1 DegreeCredential#level=master (tx 0x" in out, (out, err)
    code, out, err = _run(
        "governance", "withdraw-type", issuer_id, "DegreeCredential#level=bachelor",
        *common, env=env,
    )  # fmt: skip
    assert code == 0, err
    bachelor = client.credential_type(int(issuer_id), "DegreeCredential#level=bachelor")
    assert bachelor.registered and bachelor.valid_until > 0
    assert client.credential_type(int(issuer_id), "DegreeCredential#level=master").valid_until == 0
    code, _, err = _run(
        "governance", "grant-type", issuer_id, "EmploymentCredential", "--levels", "master",
        *common, env=env,
    )  # fmt: skip
    assert code == 1 and "--levels applies to DegreeCredential" in err, err
    code, _, err = _run(
        "governance", "grant-type", issuer_id, "DegreeCredential", "--levels", "phd",
        *common, env=env,
    )  # fmt: skip
    assert code == 1 and "degree level 'phd': expected one of associate" in err, err
    code, out, err = _run(
        "governance", "grant-type", issuer_id, "DegreeCredential", "--levels", "all",
        *common, env=env,
    )  # fmt: skip
    assert code == 0 and client.credential_type(int(issuer_id), "DegreeCredential").registered


@pytest.mark.parametrize(
    "args",
    [
        ("grant-type", "1", "DegreeCredentail"),
        ("withdraw-type", "1", "degree"),
        ("register-issuer", "X", "did:web:x.example", "--type", "Nonsense"),
    ],
)
def test_unknown_credential_type_names_are_refused_before_connecting(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    """A typo must not accredit a type nobody issues: refused (exit 1) before the chain is
    contacted (an unreachable --rpc would otherwise give exit 3)."""
    key = "0x" + "11" * 32
    result = runner.invoke(
        app,
        [
            "governance",
            *args,
            "--rpc",
            "http://127.0.0.1:9",
            "--deployment",
            str(tmp_path / "none.json"),
            "--key",
            key,
        ],
    )
    assert result.exit_code == 1, result.output
    assert (
        "expected one of DegreeCredential, EmploymentCredential, OpenBadgeCredential"
        in result.output
    )


@pytest.mark.integration
def test_governance_credential_status_commands(anvil_node, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from talentproof.ledger.models import StatusActor

    rpc, key = anvil_node.rpc_url, anvil_node.private_keys[0]
    record = tmp_path / "deployment.json"
    env = {"TALENTPROOF_OPERATOR_KEY": key}
    code, _, err = _run("deploy", "--rpc", rpc, "--out", str(record), env=env)
    assert code == 0, err
    common = ["--rpc", rpc, "--deployment", str(record)]
    code, out, err = _run(
        "governance", "register-issuer", "HKU", "did:web:hku.hk", *common, env=env
    )
    assert code == 0, err
    issuer_id = out.strip()
    client = RegistryClient(connect(rpc), Deployment.load(record))
    cred = "0x" + "c1" * 32
    # the reason is required and must not be blank: refused before anything is sent
    code, _, err = _run("governance", "suspend-credential", issuer_id, cred, *common, env=env)
    assert code == 2 and "--reason" in err
    code, _, err = _run(
        "governance", "suspend-credential", issuer_id, cred, "--reason", " ", *common, env=env
    )
    assert code == 2 and "--reason must not be empty" in err
    code, _, err = _run(
        "governance", "revoke-credential", issuer_id, "0x12", "--reason", "x", *common, env=env
    )
    assert code == 1 and "credential hash must be 32 bytes" in err
    assert client.credential_status(int(issuer_id), cred).suspended_at == 0

    code, out, err = _run(
        "governance",
        "suspend-credential",
        issuer_id,
        cred,
        "--reason",
        "under review",
        *common,
        env=env,
    )
    assert code == 0, err
    assert out.startswith(f"suspend-credential {issuer_id} {cred} under review (tx 0x")
    status = client.credential_status(int(issuer_id), cred)
    assert status.suspended and status.suspended_by is StatusActor.GOVERNANCE
    (event,) = client.events("CredentialSuspendedByGovernance")
    assert event.args["reason"] == "under review"
    assert event.args["governor"] == Account.from_key(key).address
    code, _, err = _run(
        "governance",
        "reinstate-credential",
        issuer_id,
        cred,
        "--reason",
        "cleared",
        *common,
        env=env,
    )
    assert code == 0, err
    code, _, err = _run(
        "governance", "revoke-credential", issuer_id, cred, "--reason", "forged", *common, env=env
    )
    assert code == 0, err
    status = client.credential_status(int(issuer_id), cred)
    assert status.revoked_at > 0 and status.revoked_by is StatusActor.GOVERNANCE
    # a revert is named; an unknown issuer too
    code, _, err = _run(
        "governance", "revoke-credential", issuer_id, cred, "--reason", "again", *common, env=env
    )
    assert code == 1 and "AnchorCredentialAlreadyRevoked" in err
    code, _, err = _run(
        "governance", "revoke-credential", "99", cred, "--reason", "x", *common, env=env
    )
    assert code == 1 and "IssuerUnknown" in err
    # a duplicate DID is refused by the registry
    code, _, err = _run("governance", "register-issuer", "X", "did:web:hku.hk", *common, env=env)
    assert code == 1 and "IssuerDidAlreadyRegistered" in err


@pytest.mark.parametrize("command", ["add-key", "revoke-key"])
@pytest.mark.parametrize(
    "given", ["null", "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"]
)
def test_a_signing_key_that_is_neither_form_names_both(
    command: str, given: str, tmp_path: Path
) -> None:
    """`add-key 1 $(jq -r .did holder.json ...)` gave 'signing key must be 32 bytes hex, got
    'null'' (fresh-clone walk-through), not naming the z6Mk... form the README shows; a did:key
    is not taken either. Refused before connecting, naming both forms and what was found."""
    result = runner.invoke(
        app,
        [
            "governance",
            command,
            "1",
            given,
            "--rpc",
            "http://127.0.0.1:9",
            "--deployment",
            str(tmp_path / "none.json"),
            "--key",
            "0x" + "11" * 32,
        ],
    )
    assert result.exit_code == 1, result.output
    assert "expected a Multikey (z6Mk..." in result.output, result.output
    assert "0x-hex of 32 bytes" in result.output and repr(given[:24]) in result.output


def test_governance_with_the_node_down_names_the_remedy(tmp_path: Path) -> None:
    """Trying the README in a clean clone: `governance suspend 2` with the node down printed only
    urllib's 'HTTPConnectionPool(...): Max retries exceeded', where `verify` names the node and
    --rpc. Every governance and status command now says nothing was sent and what to check."""
    record = tmp_path / "deployment.json"
    record.write_text(
        json.dumps(
            {
                "chainId": 31337,
                "registry": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
                "deploymentBlock": 1,
                "deployer": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
                "compiler": "0.8.37+commit.f401782d",
            }
        )
    )
    env = {"TALENTPROOF_OPERATOR_KEY": "0x" + "11" * 32}
    with _refusing_url() as rpc:
        common = ["--rpc", rpc, "--deployment", str(record)]
        for args in (["governance", "suspend", "2", *common], ["status", *common]):
            code, _, err = _run(*args, env=env)
            assert code == 3, (args, code, err)
            assert "nothing was read or sent" in err and "Check that the node is running" in err
            assert rpc in err


@pytest.mark.integration
def test_governance_credential_commands_say_what_a_hash_is(anvil_node, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A governor who gives the credential's id (urn:uuid:...) instead of its hash is told where
    the hash is; a status change names the issuer it was recorded for, since the ledger cannot
    tell whether that issuer signed the credential (trying revoke-credential with another
    issuer's id in a clean clone: the transaction succeeded, the credential stayed VALID)."""
    rpc, key = anvil_node.rpc_url, anvil_node.private_keys[0]
    record = tmp_path / "deployment.json"
    env = {"TALENTPROOF_OPERATOR_KEY": key}
    assert _run("deploy", "--rpc", rpc, "--out", str(record), env=env)[0] == 0
    common = ["--rpc", rpc, "--deployment", str(record)]
    code, out, err = _run(
        "governance", "register-issuer", "HKU", "did:web:hku.hk", *common, env=env
    )
    assert code == 0, err
    issuer_id = out.strip()
    urn = "urn:uuid:01a252ef-4860-702f-b9f6-21f13599aa11"
    code, _, err = _run(
        "governance", "revoke-credential", issuer_id, urn, "--reason", "x", *common, env=env
    )
    assert code == 1 and "credential hash must be 32 bytes" in err
    assert "`credentialHash`" in err and "GET /credentials/{id}/anchor" in err
    cred = "0x" + "c2" * 32
    code, out, err = _run(
        "governance", "suspend-credential", issuer_id, cred, "--reason", "review", *common, env=env
    )
    assert code == 0, err
    assert f"recorded for issuer {issuer_id}'s credential" in out
    assert "applies only if that issuer signed it" in out
