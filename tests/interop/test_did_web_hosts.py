"""did:web names a host, never an IP (issue 14.3): the issuer refuses a public URL whose host
is an IP address outside development, and names the expected form."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from talentproof.issuer.errors import ConfigurationError
from talentproof.issuer.settings import IssuerSettings
from talentproof.issuer.usecases.common import did_web

ROOT = Path(__file__).resolve().parents[2]
_TEXT = {".py", ".md", ".js", ".mjs", ".html", ".json", ".jsonld", ".toml", ".txt", ".sh", ".yml"}


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


# did:web followed by an IPv4 literal, or a bracketed IPv6 one (%5B), as any file may spell it
_IP_DID_WEB = re.compile(r"did:web:(?:\d{1,3}(?:\.\d{1,3}){3}|%5B)", re.IGNORECASE)


def test_no_tracked_file_names_a_did_web_with_an_ip_host() -> None:
    """Development, tests, demo and docs name did:web by a host name (issue 14.3): no file of
    the tree (sources, tests, README, docs) writes a did:web of an IP address."""
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
    ).stdout.split(b"\0")
    found = []
    for name in filter(None, files):
        path = ROOT / name.decode()
        if path.suffix not in _TEXT or not path.is_file():
            continue
        for number, line in enumerate(path.read_text("utf-8", "replace").splitlines(), 1):
            if _IP_DID_WEB.search(line) and "_IP_DID_WEB" not in line:
                found.append(f"{name.decode()}:{number}: {line.strip()[:120]}")
    assert not found, (
        "did:web names an IP host (use localhost; a test of the refusal builds it from parts):\n"
        + "\n".join(found)
    )
