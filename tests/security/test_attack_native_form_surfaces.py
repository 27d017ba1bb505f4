"""Check 2 in C (`validation.NATIVE_FORM`) on the verifier's surfaces (real Anvil): credentials
signed and anchored by the accredited university and bank whose texts sit at the C's edges
(lengths in code points with astral characters and combining marks, line ends and controls
after ``$``-anchored patterns, an enum in another case, a leap day) are judged alike with the C
on and off, and as the reference (`reference_validate_credential`) judges them, on the CLI (a
file and QR text), /api/v1/verify, the VC API and the folder (1 and 2 workers). Wherever the C
answered in this process, the object it was given (from each surface's own parse) is one the
reference accepts with the same kind, and it did answer for the valid ones (so the C was
exercised, not skipped)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from talentproof.credential import validation
from talentproof.credential.anchor import split_anchor
from talentproof.credential.errors import CredentialError
from talentproof.credential.qr import encode_payload
from talentproof.verifier import bulk
from tests.chainkit import DEGREE, EMPLOYMENT, anchor_batch, build, holder
from tests.chainkit import sign as sign_credential
from tests.security.surfaces import cli_verify

pytestmark = pytest.mark.integration


def test_the_c_form_is_built() -> None:
    """The surfaces below compare check 2 with its C on and off: without the C (not built) they
    would compare the Python path with itself, so a tree without it fails here, never skips."""
    assert validation.NATIVE_FORM is not None, "credential/native_verify.c form_kind is not built"


def _subject(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        node = doc
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = value

    return edit


#: (label, kind, the edit of the built credential before signing)
CASES: list[tuple[str, str, Callable[[dict[str, Any]], None]]] = [
    ("plain", DEGREE, lambda d: None),
    ("name-200-astral", DEGREE, _subject("credentialSubject.name", "\U0001f600" * 200)),
    ("name-201-astral", DEGREE, _subject("credentialSubject.name", "\U0001f600" * 201)),
    ("name-200-combining", DEGREE, _subject("credentialSubject.name", "Chan" + "\u0301" * 196)),
    ("name-nul", DEGREE, _subject("credentialSubject.name", "Chan\x00Tai Man")),
    ("name-line-end", DEGREE, _subject("credentialSubject.name", "Chan Tai Man\n")),
    ("field-500-astral", DEGREE, _subject("credentialSubject.degree.fieldOfStudy", "𠀀" * 500)),
    ("field-501-astral", DEGREE, _subject("credentialSubject.degree.fieldOfStudy", "𠀀" * 501)),
    ("level-capital", DEGREE, _subject("credentialSubject.degree.level", "Bachelor")),
    ("country-line-end", DEGREE, _subject("credentialSubject.identityDocument.issuingCountry", "HK\n")),
    ("country-nel", DEGREE, _subject("credentialSubject.identityDocument.issuingCountry", "HK\u0085")),
    ("id-nbsp", DEGREE, _subject("id", "urn:uuid:00000000-0000-4000-8000-000000000001\u00a0")),
    ("valid-from-leap-day", DEGREE, _subject("validFrom", "2024-02-29T00:00:00Z")),
    ("valid-from-2100-02-29", DEGREE, _subject("validFrom", "2100-02-29T00:00:00Z")),
    ("employment-plain", EMPLOYMENT, lambda d: None),
    ("role-500-astral", EMPLOYMENT, _subject("credentialSubject.employment.role", "\U0001f600" * 500)),
    ("role-501-astral", EMPLOYMENT, _subject("credentialSubject.employment.role", "\U0001f600" * 501)),
    ("start-line-end", EMPLOYMENT, _subject("credentialSubject.employment.startDate", "2012-01-01\n")),
]  # fmt: skip


def _reference(doc: Any) -> str | None:
    try:
        return validation.reference_validate_credential(doc)
    except CredentialError:
        return None


@pytest.fixture(scope="module")
def env(vchain: Any, tmp_path_factory: Any) -> Iterator[dict[str, Any]]:
    d = tmp_path_factory.mktemp("native-form-surfaces")
    record = vchain.save_deployment(d)
    issuers = {
        DEGREE: vchain.issuers["University of Hong Kong"],
        EMPLOYMENT: vchain.issuers["HSBC"],
    }
    s = holder().public_key.did_key
    docs: dict[str, dict[str, Any]] = {}
    for kind, issuer in issuers.items():
        plans = [(label, edit) for label, k, edit in CASES if k == kind]
        signed = []
        for _, edit in plans:
            if kind == DEGREE:
                doc = build(kind, issuer.did, s, institution=issuer.name)
            else:
                doc = build(kind, issuer.did, s, employer=issuer.name, start="2012-01-01")
            edit(doc)
            signed.append(sign_credential(doc, issuer.key))
        anchored = anchor_batch(signed, issuer.client, vchain.deployment)
        docs.update(zip([label for label, _ in plans], anchored, strict=True))
    folder = d / "folder"
    folder.mkdir()
    for name, doc in docs.items():
        (folder / f"{name}.json").write_text(json.dumps(doc))
    with vchain.service_client(record) as client:
        yield {
            "chain": vchain,
            "record": str(record),
            "docs": docs,
            "folder": folder,
            "client": client,
        }


def _expected(doc: dict[str, Any]) -> str:
    """What check 2 should say of the credential (its anchor proof split off, as check 1 hands
    it on): the reference's verdict."""
    return "pass" if _reference(split_anchor(copy.deepcopy(doc))[0]) else "fail"


def _check2(report: dict[str, Any]) -> str:
    (cred,) = report["credentials"]
    two = [c for c in cred["checks"] if int(c["number"]) == 2]
    return str(two[0]["status"]) if two else "none"


def _surfaces(env: dict[str, Any], name: str) -> dict[str, str]:
    c, doc = env["client"], env["docs"][name]
    out: dict[str, str] = {}
    report = cli_verify(env, str(Path(env["folder"]) / f"{name}.json"))
    out["cli file"] = f"{report['outcome']['code']} check2={_check2(report)}"
    try:
        payload = encode_payload(doc)
    except (CredentialError, ValueError):
        payload = None  # (a text the QR form does not carry)
    if payload is not None:
        report = cli_verify(env, payload)
        out["cli qr text"] = f"{report['outcome']['code']} check2={_check2(report)}"
    r = c.post("/api/v1/verify", json={"documents": [doc]})
    assert r.status_code == 200, r.text
    out["api documents"] = f"{r.json()['outcome']['code']} check2={_check2(r.json())}"
    r = c.post("/credentials/verify", json={"verifiableCredential": doc})
    out["vc api credential"] = "VALID" if r.json()["verified"] else f"not verified {r.status_code}"
    return out


def _folder(env: dict[str, Any]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for workers in ("1", "2"):
        report = cli_verify(env, str(env["folder"]), "--workers", workers)
        out[workers] = {Path(x["source"]).stem: x["outcome"]["code"] for x in report["results"]}
    return out


def test_the_c_and_the_reference_agree_on_every_surface(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = validation.NATIVE_FORM
    answered: list[tuple[str, Any]] = []

    def spy(doc: Any) -> Any:
        kind = real(doc)
        if kind is not None:
            answered.append((kind, copy.deepcopy(doc)))
        return kind

    runs: dict[str, dict[str, Any]] = {}
    for mode in ("on", "off"):
        monkeypatch.setattr(validation, "NATIVE_FORM", spy if mode == "on" else None)
        monkeypatch.setattr(bulk, "NATIVE", mode == "on")
        runs[mode] = {name: _surfaces(env, name) for name, _, _ in CASES}
        runs[mode]["folder"] = _folder(env)
    wrong: dict[str, Any] = {}
    for name, _, _ in CASES:
        want = _expected(env["docs"][name])
        if runs["on"][name] != runs["off"][name]:
            wrong[f"{name}: C on / off"] = (runs["on"][name], runs["off"][name])
        for surface, got in runs["on"][name].items():
            if surface == "vc api credential":
                ok = (got == "VALID") == (want == "pass")
            else:
                ok = f"check2={want}" in got and (want == "fail") == got.startswith("INVALID")
            if not ok:
                wrong[f"{name} / {surface}"] = (got, f"reference: check 2 {want}")
        for workers in ("1", "2"):
            on, off = runs["on"]["folder"][workers][name], runs["off"]["folder"][workers][name]
            if on != off or (on == "INVALID") != (want == "fail"):
                wrong[f"{name} / folder {workers} workers"] = (on, off, want)
    assert not wrong, json.dumps(wrong, indent=1, ensure_ascii=True)
    # each object the C answered for, from each surface's own read, the reference accepts alike
    assert answered, "the C answered for none of the valid credentials"
    for kind, doc in answered:
        assert _reference(doc) == kind, doc
    valid = {name for name, _, _ in CASES if _expected(env["docs"][name]) == "pass"}
    assert len(valid) >= 6, valid
