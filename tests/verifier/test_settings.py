"""The verifier service's settings come from the environment through pydantic-settings (issue
13.5); a bad value is a usage error naming the variable."""

from __future__ import annotations

import pytest

from talentproof.errors import EXIT_USAGE, exit_code
from talentproof.verifier.errors import SettingsError
from talentproof.verifier.settings import ServiceSettings


def test_settings_read_the_documented_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALENTPROOF_RPC_URL", "http://node.example:8545")
    monkeypatch.setenv("TALENTPROOF_DEPLOYMENT", "0x" + "11" * 20)
    monkeypatch.setenv("TALENTPROOF_VERIFIER_DOMAIN", "border.example")
    monkeypatch.setenv("TALENTPROOF_VERIFIER_KEY", "/keys/verifier.json")
    monkeypatch.setenv("TALENTPROOF_VERIFIER_CHALLENGES_MAX", "7")
    s = ServiceSettings()
    assert (s.rpc_url, s.trust, s.domain, str(s.receipt_key)) == (
        "http://node.example:8545",
        "0x" + "11" * 20,
        "border.example",
        "/keys/verifier.json",
    )
    assert s.limits.challenges_max == 7
    assert ServiceSettings(rpc_url="http://other:1").rpc_url == "http://other:1"  # arguments win


@pytest.mark.parametrize(
    "name,value,expected",
    [
        ("TALENTPROOF_VERIFIER_MIN_CONFIRMATIONS", "0", "expected at least 1, found '0'"),
        ("TALENTPROOF_VERIFIER_CHALLENGE_TTL", "soon", "expected a number, found 'soon'"),
        ("TALENTPROOF_VERIFIER_VERIFY_BURST", "many", "expected a number, found 'many'"),
    ],
)
def test_a_bad_setting_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as err:
        ServiceSettings()
    assert str(err.value) == f"{name}: {expected}"
    assert exit_code(err.value) == EXIT_USAGE
