"""A second JSON-LD processor: jsonld.js (npm ``jsonld`` 9.0.0) in safe mode, offline, with only
the shipped contexts, expands and canonicalizes (RDFC-1.0) every kind of credential (anchored:
the proof set with the TalentProofAnchor entry) and a bound presentation, and its canonical
N-Quads are PyLD's byte for byte. With an empty stand-in for the TalentProof context (what
issue 14 found), safe mode refuses them."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from talentproof.credential import examples, presentation
from talentproof.credential.keys import Ed25519SigningKey
from tests.credential._cred_support import BUILDERS, anchor_in_batch, sign

from .jsonld_support import canonicalize
from .node_vc import CONTEXTS, canonize_with_jsonld_js


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    issuer = Ed25519SigningKey.from_seed(hashlib.sha256(b"issuer").digest())
    holder = Ed25519SigningKey.from_seed(hashlib.sha256(b"holder").digest())
    did = holder.public_key.did_key
    docs = {kind: anchor_in_batch(sign(build(did), issuer)) for kind, build in BUILDERS.items()}
    docs["VerifiablePresentation"] = presentation.create_presentation(
        [docs[k] for k in sorted(docs)],
        holder,
        challenge="c-123",
        domain="verifier.example",
        created=examples.WHEN + timedelta(days=1),
        identity_document_salt=examples.ID_SALT,
    )
    return docs


@pytest.mark.parametrize("name", [*sorted(BUILDERS), "VerifiablePresentation"])
def test_safe_mode_canonical_form_is_pylds(name: str, documents: dict[str, dict[str, Any]]) -> None:
    result = canonize_with_jsonld_js(documents[name])
    assert result["ok"], result["error"]
    assert result["nquads"] == canonicalize(documents[name])


def test_without_the_context_safe_mode_refuses(
    documents: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    stand_in = tmp_path / "contexts"
    shutil.copytree(CONTEXTS, stand_in, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    (stand_in / "talentproof-v1.jsonld").write_text(json.dumps({"@context": {}}))
    result = canonize_with_jsonld_js(documents["DegreeCredential"], stand_in)
    assert not result["ok"]
    assert result["error"]["message"] == "Safe mode validation error."
