"""What `talentproof run` prints and writes for the person at the keyboard (no stack needed)."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from talentproof import devstack


def test_cli_command_is_typable_in_this_shell(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    script = Path(sys.executable).parent / "talentproof"
    assert script.exists()  # the editable install's console script
    monkeypatch.setenv("PATH", str(tmp_path))  # the venv is not activated
    monkeypatch.chdir(script.parent.parent.parent)  # the folder holding .venv
    assert devstack.cli_command() == str(Path(script.parent.parent.name) / "bin" / "talentproof")
    monkeypatch.chdir(tmp_path)  # elsewhere: the absolute path
    assert devstack.cli_command() == str(script.absolute())
    monkeypatch.setenv("PATH", str(script.parent))  # activated: the bare name works
    assert devstack.cli_command() == "talentproof"


def test_governor_key_file_is_private_and_rewritten_only_when_it_differs(tmp_path: Path) -> None:
    key = "0x" + "ab" * 32
    path = devstack.write_governor_key(tmp_path, key)
    assert path == tmp_path / "governor-key"
    assert path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.stat().st_mtime_ns
    devstack.write_governor_key(tmp_path, key[2:])  # the same key without 0x: unchanged
    assert path.stat().st_mtime_ns == before and path.read_text().strip() == key


def test_printed_summary_names_the_governance_key_and_operator_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    seed = {"governing_authority": {"account": "0xf39F"}, "institutions": {}}
    devstack.print_seed(
        seed, [], "http://127.0.0.1:8000", "tok123", tmp_path, tmp_path / "governor-key"
    )
    out = capsys.readouterr().out
    assert f"export TALENTPROOF_OPERATOR_KEY=$(cat {tmp_path / 'governor-key'})" in out
    assert f"tok123  (development only; OP=$(cat {tmp_path / 'issuer-operator-token'}))" in out
    assert "the whole story: talentproof demo" in out


def test_printed_summary_names_the_address_a_wallet_accepts_offers_from(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Since a wallet sends a transaction code only to an issuer the holder named (--issuer),
    make run names that address: the public URL's (localhost), not the 127.0.0.1 it serves on."""
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    seed = {
        "governing_authority": {"account": "0xf39F"},
        "institutions": {
            "osl": {"chain_issuer_id": 3, "credential_types": ["E"], "api_key": "tpk_x"}
        },
    }
    devstack.print_seed(
        seed,
        [],
        "http://127.0.0.1:8010",
        "tok123",
        tmp_path,
        tmp_path / "governor-key",
        public_url="http://localhost:8010",
    )
    out = capsys.readouterr().out
    assert "talentproof wallet init" in out
    assert "--issuer http://localhost:8010/institutions/<slug>" in out, out


def test_demo_shows_a_verify_command_that_names_a_non_default_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from talentproof.demo import DemoConfig, verify_command_line

    monkeypatch.chdir(tmp_path)
    images = [tmp_path / "out" / "degree.png", tmp_path / "out" / "my employment.png"]
    default = verify_command_line(DemoConfig(), images)
    assert default == (
        "talentproof verify out/degree.png 'out/my employment.png' --profession hk-dlt-expert"
    )
    other = verify_command_line(
        DemoConfig(rpc_url="http://127.0.0.1:9545", data_dir=Path("/srv/tp")), images
    )
    assert other.endswith("--rpc http://127.0.0.1:9545 --deployment /srv/tp/deployment.json")


def test_root_cli_still_registers_run_and_demo() -> None:
    from talentproof.cli import app

    out = CliRunner().invoke(app, ["--help"]).output
    assert " run " in out and " demo " in out


def test_a_network_stack_issuer_waits_for_confirmations_unless_told(tmp_path: Path) -> None:
    """Clique reorganises single blocks now and then: on ``--chain network`` the issuer reports
    an anchor final after 3 blocks and says when the head stops moving; Anvil needs neither, and
    what the environment (or the stack's own settings) says wins."""
    network = devstack.StackConfig(tmp_path, chain="network", block_period=2)
    assert devstack.network_issuer_defaults(network, {}) == {
        "TALENTPROOF_ISSUER_CONFIRMATIONS": "3",
        "TALENTPROOF_ISSUER_HEAD_STALE_S": "10",
        "TALENTPROOF_ISSUER_STATUS_MAX_HEAD_AGE_S": "30",
        "TALENTPROOF_ISSUER_TX_TIMEOUT_S": "30",
    }
    assert devstack.network_issuer_defaults(devstack.StackConfig(tmp_path), {}) == {}
    told = {"TALENTPROOF_ISSUER_CONFIRMATIONS": "1", "TALENTPROOF_ISSUER_TX_TIMEOUT_S": "45"}
    assert devstack.network_issuer_defaults(network, told) == {
        "TALENTPROOF_ISSUER_HEAD_STALE_S": "10",
        "TALENTPROOF_ISSUER_STATUS_MAX_HEAD_AGE_S": "30",
    }
    extra = devstack.StackConfig(tmp_path, chain="network", extra_env=told)
    assert "TALENTPROOF_ISSUER_CONFIRMATIONS" not in devstack.network_issuer_defaults(extra, {})


def test_a_network_stack_verifier_calls_a_stale_head_not_verifiable(tmp_path: Path) -> None:
    """On ``--chain network`` the verifier service refuses to judge on a head older than 5
    block periods (at least 30 s): an RPC node cut off from the signers would otherwise read a
    revoked credential VALID (tests/security/test_attack_stale_rpc_node.py). Anvil mines only on
    transactions: no bound there. The environment wins."""
    name = "TALENTPROOF_VERIFIER_MAX_HEAD_AGE_S"
    network = devstack.StackConfig(tmp_path, chain="network", block_period=2)
    assert devstack.network_verifier_defaults(network, {}) == {name: "30"}
    slow = devstack.StackConfig(tmp_path, chain="network", block_period=20)
    assert devstack.network_verifier_defaults(slow, {}) == {name: "100"}
    assert devstack.network_verifier_defaults(devstack.StackConfig(tmp_path), {}) == {}
    assert devstack.network_verifier_defaults(network, {name: "0"}) == {}


def test_a_slow_network_stack_issuer_waits_ten_blocks_before_replacing_a_tx(
    tmp_path: Path,
) -> None:
    """With 20 s blocks the issuer's default 30 s transaction timeout is 1.5 blocks: it would
    replace transactions that are merely waiting. ``run --chain network`` gives it 10 blocks."""
    slow = devstack.StackConfig(tmp_path, chain="network", block_period=20)
    chosen = devstack.network_issuer_defaults(slow, {})
    assert chosen["TALENTPROOF_ISSUER_TX_TIMEOUT_S"] == "200"
    told = {"TALENTPROOF_ISSUER_TX_TIMEOUT_S": "60"}
    assert "TALENTPROOF_ISSUER_TX_TIMEOUT_S" not in devstack.network_issuer_defaults(slow, told)


def test_the_verifier_vc_api_token_is_kept_private_and_its_hash_is_the_tokens_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`talentproof run` gives its verifier a VC API token (issue 14.4): the token in a private
    file (the README's VT=$(cat ...)), its hash in the tokens file the verifier reads, the same
    on the next start; printed beside the operator token."""
    from talentproof.verifier.settings import ServiceSettings

    token, hashes = devstack.vc_api_token(tmp_path)
    token_file = tmp_path / "verifier-vc-api-token"
    assert token_file.read_text().strip() == token and token.startswith("tpv_")
    for path in (token_file, hashes):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert token not in hashes.read_text()
    tokens = ServiceSettings(vc_api_tokens_file=hashes).vc_api_tokens
    assert tokens is not None and tokens.accepts(token) and len(tokens) == 1
    before = hashes.stat().st_mtime_ns
    assert devstack.vc_api_token(tmp_path) == (token, hashes)  # the next start: the same
    assert hashes.stat().st_mtime_ns == before
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    seed = {"governing_authority": {"account": "0xf39F"}, "institutions": {}}
    devstack.print_seed(
        seed, [], "http://127.0.0.1:8000", "tok", tmp_path, tmp_path / "k", vc_api_token=token
    )
    out = capsys.readouterr().out
    assert f"verifier VC API token {token}  (development only; VT=$(cat {token_file}))" in out


def test_the_printed_demo_command_reaches_a_stack_on_other_ports(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`talentproof run --issuer-port 8010` printed 'the whole story: talentproof demo', which
    went to port 8000 and answered another program's 404 page (fresh-clone walk-through): the
    printed command names every port and the data folder that differ from the defaults."""
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    monkeypatch.chdir(tmp_path)
    assert devstack.demo_command(devstack.StackConfig(Path("data"))) == "talentproof demo"
    other = devstack.StackConfig(
        tmp_path / "my data", chain_port=9545, issuer_port=8010, verifier_port=8011
    )
    assert devstack.demo_command(other) == (
        "talentproof demo --issuer-url http://127.0.0.1:8010 --verifier-url "
        f"http://127.0.0.1:8011 --rpc http://127.0.0.1:9545 --data-dir '{tmp_path / 'my data'}'"
    )
    from talentproof.cli import app

    args = devstack.demo_command(other).split(" ")[2:6]  # the options parse as `demo` takes them
    assert CliRunner().invoke(app, ["demo", *args, "--help"]).exit_code == 0


def test_busy_port_says_how_to_choose_another(tmp_path: Path) -> None:
    """`make run` with port 8000 taken said 'choose other ports' without saying how; make run
    takes no port option: the message names `talentproof run`'s and `make run ARGS=...`."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        config = devstack.StackConfig(tmp_path, issuer_port=port, chain_port=1, verifier_port=1)
        with pytest.raises(devstack.DevStackError) as caught:
            devstack.check_ports(config)
    message = str(caught.value)
    assert f"port {port} (--issuer-port)" in message
    assert (
        "make run ARGS='--issuer-port " in message and "talentproof run --issuer-port " in message
    )


def test_demo_names_the_remedy_when_governance_stopped_an_institution() -> None:
    """After the README's governance by hand (an institution suspended on the ledger or by the
    issuer's operator, removed, its key revoked), `talentproof demo` stopped at the issuer's 403
    or 409 alone; it now names the command that lets it go on. The refusals are the issuer's own
    texts (seen against `make run`); their codes are the issuer's error classes."""
    from talentproof.demo import DemoConfig, governance_hint
    from talentproof.issuer.errors import InstitutionRemoved, InstitutionSuspended

    config = DemoConfig()
    inst = {"chain_issuer_id": 3}
    answered = "POST http://127.0.0.1:8000/credentials answered 403: "
    on_chain = answered + (
        f'{{"error":"{InstitutionSuspended.code}","message":"institution \'osl\' is suspended on '
        "the ledger (issuer 3) since 2026-12-07T21:08:49Z; no new credentials until the ledger's "
        'governance reinstates it"}'
    )
    assert "talentproof governance reinstate 3`" in governance_hint(on_chain, "osl", inst, config)
    by_operator = answered + (
        f'{{"error":"{InstitutionSuspended.code}","message":"institution \'osl\' is suspended by '
        "this service's operator; its API keys work again once it is reactivated\"}"
    )
    hint = governance_hint(by_operator, "osl", inst, config)
    assert "/operator/institutions/osl/status" in hint and '"status":"active"' in hint
    assert "governance reinstate" not in hint
    removed = answered + f'{{"error":"{InstitutionRemoved.code}","message":"..."}}'
    assert "osl was removed on the ledger" in governance_hint(removed, "osl", inst, config)
    key = (
        "POST .../credentials answered 409: the institution's signing key was revoked on the ledger"
    )
    assert "/operator/institutions/osl/signing-keys/rotate" in governance_hint(
        key, "osl", inst, config
    )
    assert governance_hint(answered + '{"error":"invalid_request"}', "osl", inst, config) == ""
