"""Run Digital Bazaar's verifier (tests/interop/js/verify.mjs: @digitalbazaar/vc with the
eddsa-jcs-2022 cryptosuite) on a document, offline: the contexts are the files the Python
package ships (credential/contexts), the DID documents those given. Node and the npm packages
come from ``make setup`` (``npm ci``: package.json pins them)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("js") / "verify.mjs"
CONTEXTS = Path(str(resources.files("talentproof.credential.contexts")))


def node_ready() -> str | None:
    """Why the harness cannot run here (None when it can)."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (ROOT / "node_modules" / "@digitalbazaar" / "vc").is_dir():
        return "node_modules lacks @digitalbazaar/vc: run `make setup` (npm ci)"
    return None


def verify_with_vc(
    document: Mapping[str, Any],
    did_documents: Iterable[Mapping[str, Any]] = (),
    *,
    status_lists: Iterable[Mapping[str, Any]] = (),
    presentation: bool = False,
    challenge: str | None = None,
    domain: str | None = None,
    contexts: Path = CONTEXTS,
) -> dict[str, Any]:
    """``{"verified": bool, "errors": [{"name", "message"}...], "status": [{"statusPurpose",
    "statusListCredential", "statusListIndex", "status"}...], "requested": [URLs]}``.

    A ``credentialStatus`` is checked by @digitalbazaar/vc-bitstring-status-list against the
    ``status_lists`` given (status list credentials, found by their ``id``); one not given fails
    the verification ("Could not load ...")."""
    problem = node_ready()
    assert problem is None, problem
    with tempfile.TemporaryDirectory() as tmp:
        args = ["node", str(SCRIPT), "--contexts", str(contexts)]
        for i, did_doc in enumerate(did_documents):
            path = Path(tmp) / f"did-{i}.json"
            path.write_text(json.dumps(did_doc))
            args += ["--did-document", str(path)]
        for i, status_list in enumerate(status_lists):
            path = Path(tmp) / f"status-{i}.json"
            path.write_text(json.dumps(status_list))
            args += ["--status-list", str(path)]
        if presentation:
            args.append("--presentation")
        if challenge is not None:
            args += ["--challenge", challenge]
        if domain is not None:
            args += ["--domain", domain]
        args.append("-")
        run = subprocess.run(
            args,
            input=json.dumps(document),
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            check=False,
        )
    assert run.returncode == 0, run.stderr
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def messages(result: Mapping[str, Any]) -> list[str]:
    """The error messages of a result."""
    return [e["message"] for e in result["errors"]]


CANONIZE = Path(__file__).with_name("js") / "canonize.mjs"


def canonize_with_jsonld_js(
    document: Mapping[str, Any], contexts: Path = CONTEXTS
) -> dict[str, Any]:
    """jsonld.js in safe mode, offline: ``{"ok": True, "nquads"}`` or ``{"ok": False, "error"}``."""
    problem = node_ready()
    assert problem is None, problem
    run = subprocess.run(
        ["node", str(CANONIZE), "--contexts", str(contexts), "-"],
        input=json.dumps(document),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def canonize_many_with_jsonld_js(
    documents: Iterable[Mapping[str, Any]], contexts: Path | None = None
) -> list[dict[str, Any]]:
    """`canonize_with_jsonld_js` of each document, in one Node run (in order)."""
    problem = node_ready()
    assert problem is None, problem
    run = subprocess.run(
        ["node", str(CANONIZE), "--contexts", str(contexts or CONTEXTS), "--many", "-"],
        input=json.dumps(list(documents)),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    results: list[dict[str, Any]] = json.loads(run.stdout)
    return results
