"""Issue 12, point 2, on the whole product: after `talentproof run` has issued a credential,
run a bulk job and written its logs, its data folder is 0700 and every file in it is 0600 (a
folder left world-readable by an older version is tightened at start), and the bulk upload is
gone once its job ended while its results stay downloadable; `talentproof demo`'s files too."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest

from .stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("e2e-run")]


def _loose(root: Path) -> list[str]:
    found = []
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode != (0o700 if path.is_dir() else 0o600):
            found.append(f"{path.relative_to(root)} {oct(mode)}")
    return found


def test_run_keeps_its_data_folder_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    (data / "notes.txt").write_text("left by an older version\n")
    os.chmod(data / "notes.txt", 0o644)
    stack = Stack(data)
    first = stack.start()
    try:
        key = stack.api_key("harbour-university")
        curl_line = next(line for line in first.splitlines() if line.strip().startswith("curl "))
        argv = shlex.split(curl_line.strip())
        body = orjson.loads(argv[argv.index("-d") + 1])
        headers = {"Authorization": f"Bearer {key}"}
        assert (
            httpx.post(
                f"{stack.issuer_url}/credentials", headers=headers, json=body, timeout=30
            ).status_code
            == 202
        )
        subject = body["credentialSubject"]
        rows = b"\n".join(orjson.dumps(subject) for _ in range(3)) + b"\n"
        job = httpx.post(
            f"{stack.issuer_url}/bulk-jobs",
            headers=headers,
            data={"type": "DegreeCredential"},
            files={"file": ("rows.jsonl", rows, "application/x-ndjson")},
            timeout=30,
        )
        assert job.status_code == 202, job.text
        job_id = job.json()["id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            state = httpx.get(f"{stack.issuer_url}/bulk-jobs/{job_id}", headers=headers).json()
            if state["state"] in ("done", "failed"):
                break
            time.sleep(0.5)
        assert state["state"] == "done" and state["succeeded"] == 3, state
        results = httpx.get(f"{stack.issuer_url}/bulk-jobs/{job_id}/results", headers=headers)
        assert results.status_code == 200 and len(results.content.splitlines()) == 3
        assert not list((data / "bulk").iterdir())  # the upload is gone
        assert (data / "logs" / "issuer.log").exists() and (data / "issuer.db").exists()
        # `talentproof demo` writes its credentials and holder key in data/demo/<time>/
        demo = subprocess.run(
            [
                sys.executable,
                "-m",
                "talentproof",
                "demo",
                "--data-dir",
                str(data),
                "--issuer-url",
                stack.issuer_url,
                "--verifier-url",
                stack.verifier_url,
                "--rpc",
                stack.rpc_url,
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert list((data / "demo").rglob("holder-key.json"))
        assert not _loose(data), _loose(data)
    finally:
        assert stack.stop() == 0, stack.output()
    assert not _loose(data), _loose(data)
