"""did:web names a host, never an IP (issue 14.3): the issuer refuses a public URL whose host
is an IP address outside development, and names the expected form."""

from __future__ import annotations

import pytest

from talentproof.issuer.errors import ConfigurationError
from talentproof.issuer.settings import IssuerSettings
from talentproof.issuer.usecases.common import did_web


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000", "https://203.0.113.5", "https://[2001:db8::1]:8443/api"]
)
def test_an_ip_public_url_is_refused_outside_development(url: str) -> None:
    settings = IssuerSettings(env="production", public_url=url)
    with pytest.raises(ConfigurationError, match=r"DNS host name.*https://<host name>"):
        settings.refuse_development_secrets()  # what the service runs at startup


def test_development_accepts_loopback_only_and_writes_localhost() -> None:
    dev = IssuerSettings(env="development", public_url="http://127.0.0.1:8000")
    dev.refuse_development_secrets()
    assert did_web(dev.public_url, "hku") == "did:web:localhost%3A8000:institutions:hku"
    with pytest.raises(ConfigurationError, match=r"192\.0\.2\.9"):
        IssuerSettings(env="development", public_url="http://192.0.2.9:8000").refuse_ip_public_url()


def test_host_names_are_accepted() -> None:
    for env in ("production", "development"):
        IssuerSettings(env=env, public_url="https://issuer.example.org").refuse_ip_public_url()
    assert IssuerSettings().public_url == "http://localhost:8000"  # the default is a host name
