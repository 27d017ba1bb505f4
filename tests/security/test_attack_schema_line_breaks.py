"""An accredited key signs credentials whose pattern-checked values end in a line break (real
Anvil, the verifier's every surface).

The attack (red team, 2026-12-07): check 2 passed a credential when either schema validator
accepted it, and the reference (``jsonschema``) applied each ``$``-anchored pattern with Python's
``re.search``, whose ``$`` also matches before a final ``"\\n"``. A university's key signed, and
the chain anchored, a degree whose id, issuing country or identity commitment ends in ``"\\n"``;
a badge whose achievement id or alignment URL does: VALID on every path.

What must hold: each fails check 2 naming the field (INVALID; the VC API: not verified), with a
value ending in ``"\\n"`` or ``"\\r\\n"`` or holding a line break inside, on the CLI given the
file, a folder with one and two workers (the C recognizer of checks 1, 3 and 4 on and off),
``POST /api/v1/verify`` and the VC API; the same credentials without the line break stay VALID.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, anchor_batch, build, holder
from tests.chainkit import sign as sign_credential
from tests.security.surfaces import cli_verify, folder_verdicts

pytestmark = pytest.mark.integration

#: (kind, field path) of values a ``$``-anchored pattern checks, one of each pattern's families.
FIELDS: list[tuple[str, tuple[Any, ...]]] = [
    (DEGREE, ("id",)),
    (DEGREE, ("credentialSubject", "identityDocument", "issuingCountry")),
    (DEGREE, ("credentialSubject", "identityDocument", "commitment")),
    (DEGREE, ("credentialSubject", "degree", "awardDate")),
    (EMPLOYMENT, ("credentialSubject", "identityDocument", "issuingCountry")),
    (EMPLOYMENT, ("credentialSubject", "employment", "startDate")),
    (BADGE, ("credentialSubject", "achievement", "id")),
    (BADGE, ("credentialSubject", "achievement", "alignment", 0, "targetUrl")),
]
FORMS = {
    "lf": lambda v: v + "\n",
    "crlf": lambda v: v + "\r\n",
    "inside": lambda v: v[:1] + "\n" + v[1:],
}


def _dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _unsigned(kind: str, issuer: Any, subject: str) -> dict[str, Any]:
    if kind == DEGREE:
        return build(kind, issuer.did, subject, institution=issuer.name)
    if kind == EMPLOYMENT:
        return build(kind, issuer.did, subject, employer=issuer.name, start="2012-01-01")
    return build(kind, issuer.did, subject, issuer_name=issuer.name)


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):  # type: ignore[no-untyped-def]
    d = tmp_path_factory.mktemp("schema-line-breaks")
    record = vchain.save_deployment(d)
    bank = vchain.issuers.get("Bank of East Asia") or vchain.add_issuer(
        "Bank of East Asia", (EMPLOYMENT,), fresh_account=True
    )
    by_kind = {
        DEGREE: vchain.issuers["University of Hong Kong"],
        EMPLOYMENT: bank,
        BADGE: vchain.issuers["HKIB"],
    }
    s = holder().public_key.did_key
    attacks: dict[str, tuple[str, dict[str, Any]]] = {}
    honest: dict[str, dict[str, Any]] = {}
    for kind, issuer in by_kind.items():
        names: list[str] = []
        docs: list[dict[str, Any]] = []
        for k, path in FIELDS:
            if k != kind:
                continue
            for form, change in FORMS.items():
                doc = _unsigned(kind, issuer, s)
                parent = doc
                for part in path[:-1]:
                    parent = parent[part]
                parent[path[-1]] = change(parent[path[-1]])
                names.append(f"{kind}-{_dotted(path)}-{form}")
                docs.append(doc)
        names.append(f"{kind}-honest")
        docs.append(_unsigned(kind, issuer, s))
        signed = [sign_credential(doc, issuer.key) for doc in docs]
        for name, cred in zip(
            names, anchor_batch(signed, issuer.client, vchain.deployment), strict=True
        ):
            if name.endswith("-honest"):
                honest[name] = cred
            else:
                attacks[name] = (name.split("-")[1], cred)
    folder = d / "folder"
    folder.mkdir()
    for name, doc in {**{n: c for n, (_, c) in attacks.items()}, **honest}.items():
        (folder / f"{name}.json").write_text(json.dumps(doc))
    with vchain.service_client(record) as client:
        yield {
            "chain": vchain,
            "record": str(record),
            "attacks": attacks,
            "honest": honest,
            "folder": folder,
            "client": client,
        }


def _check2(report: dict[str, Any]) -> str:
    (cred,) = report["credentials"]
    (two,) = [c for c in cred["checks"] if int(c["number"]) == 2]
    return json.dumps(two)


def _surfaces(env: dict[str, Any], name: str, doc: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """(verdict, check 2 or the errors) of ``doc`` on each single-credential surface."""
    c = env["client"]
    out: dict[str, tuple[str, str]] = {}
    report = cli_verify(env, str(env["folder"] / f"{name}.json"))
    out["cli file"] = (report["outcome"]["code"], _check2(report))
    r = c.post("/api/v1/verify", json={"documents": [doc]})
    assert r.status_code == 200, r.text
    out["api documents"] = (r.json()["outcome"]["code"], _check2(r.json()))
    r = c.post("/credentials/verify", json={"verifiableCredential": doc})
    body = r.json()
    out["vc api"] = (
        "VALID" if body.get("verified") else f"not verified {r.status_code}",
        json.dumps(body),
    )
    return out


def _names_check_2_field(text: str, field: str) -> bool:
    return field in text


def test_attack_a_line_break_in_a_pattern_checked_value_is_not_verified(env):  # type: ignore[no-untyped-def]
    wrong: dict[str, Any] = {}
    for name, (field, doc) in env["attacks"].items():
        for surface, (verdict, text) in _surfaces(env, name, copy.deepcopy(doc)).items():
            expected = "not verified 400" if surface == "vc api" else "INVALID"
            if verdict != expected or not _names_check_2_field(text, field):
                wrong[f"{name} / {surface}"] = (verdict, text[:300])
    for mode, results in folder_verdicts(env).items():
        for name, (field, _) in env["attacks"].items():
            verdict, text = results[name]
            if verdict != "INVALID" or not _names_check_2_field(text, field):
                wrong[f"{name} / folder {mode}"] = (verdict, text[:300])
    assert not wrong, json.dumps(wrong, indent=1)


def test_the_same_credentials_without_the_line_break_stay_valid(env):  # type: ignore[no-untyped-def]
    wrong: dict[str, Any] = {}
    for name, doc in env["honest"].items():
        for surface, (verdict, text) in _surfaces(env, name, doc).items():
            if verdict != "VALID":
                wrong[f"{name} / {surface}"] = (verdict, text[:300])
    for mode, results in folder_verdicts(env).items():
        for name in env["honest"]:
            if results[name][0] != "VALID":
                wrong[f"{name} / folder {mode}"] = (results[name][0], results[name][1][:300])
    assert not wrong, json.dumps(wrong, indent=1)
