"""Every form of a credential the holder receives from the issuer, of the three kinds, verified by
Digital Bazaar's ``@digitalbazaar/vc`` (eddsa-jcs-2022, offline, the issuer's DID document) with
the credential's status checked by ``@digitalbazaar/vc-bitstring-status-list`` against the status
list credentials the issuer serves (issue 14, point 2):

* ``POST /credentials``: the 202 body's credential, and its replay (same Idempotency-Key) before
  and after anchoring;
* ``GET /credentials/{id}``, pending and anchored (the JSON download);
* the W3C VC API: ``POST /credentials/issue``'s 201 body (``verifiableCredential``, pending its
  anchor), and once anchored the credential at the answer's ``Location``;
* the QR code the issuer serves (``GET /credentials/{id}/qr.png``) read back and decoded to JSON
  (``qr.svg`` is the same code: the decoded text drawn again is its bytes);
* bulk jobs: each result row's credential, pending and anchored, and its ``qrPayload`` decoded;
* the holder CLI's output: ``talentproof present`` writes a presentation of the anchored
  credentials (verified as a presentation, with its challenge and domain).

Every one of those documents, and the status list credentials served, is also complete JSON-LD
(issue 14, point 1): PyLD and jsonld.js in safe mode expand and canonicalize it with only the
shipped contexts, no term dropped, no relative IRI, every claim in the N-Quads, the two
processors' canonical forms equal (`jsonld_support.assert_complete_in_both_processors`). The
bulk rows are signed by the C signer (credential/native_sign.c), as the issuer signs them today.

Then a credential the issuer revokes: verified live, and reported revoked by the independent
library once the issuer publishes the new status list.

The counts per form and kind are printed at the end of the module (``-s`` not needed: the
terminal summary) and must be non-zero for every form and kind.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential import examples
from talentproof.credential.anchor import split_anchor
from talentproof.credential.issuance import CONTEXTS
from talentproof.credential.issuance.template import NATIVE_SIGN
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.qr import decode_image, decode_payload, render_svg
from talentproof.issuer.bulk import BulkRunner
from tests.issuer.issuer_helpers import bearer, onboard

from .jsonld_support import assert_complete_in_both_processors
from .node_vc import messages, verify_with_vc

pytestmark = [
    pytest.mark.integration,
]

KINDS = ("DegreeCredential", "EmploymentCredential", "OpenBadgeCredential")
FORMS = (
    "POST 202 body",
    "POST replay (pending)",
    "POST replay (anchored)",
    "GET pending",
    "GET anchored",
    "VC API 201 body",
    "VC API Location anchored",
    "QR image decoded",
    "bulk result pending",
    "bulk result anchored",
    "bulk QR payload decoded",
    "CLI presentation",
)
COUNTS: Counter[tuple[str, str]] = Counter()
#: every document `_check` verified in the running test, for the JSON-LD check at its end
SEEN: list[tuple[str, dict[str, Any]]] = []
BULK_ROWS = 3
runner = CliRunner()


@pytest.fixture(scope="module", autouse=True)
def report_counts(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or not COUNTS:
        return
    with capture.global_and_fixture_disabled():
        _write_counts(reporter)


def _write_counts(reporter: Any) -> None:
    reporter.write_line("")
    reporter.write_line("credentials @digitalbazaar/vc 7.3.0 verified, per form and kind:")
    reporter.write_line(f"  {'form':<26}" + "".join(f"{k:>22}" for k in KINDS))
    for form in FORMS:
        row = "".join(f"{COUNTS[form, k]:>22}" for k in KINDS)
        reporter.write_line(f"  {form:<26}{row}")
    totals = "".join(f"{sum(COUNTS[f, k] for f in FORMS):>22}" for k in KINDS)
    reporter.write_line(f"  {'total':<26}{totals}")


INSTITUTION = "University of Testing"  # (onboard's default name; an issuer attests for itself)
OWN_PARTY = {
    "DegreeCredential": {"institution": INSTITUTION},
    "EmploymentCredential": {"employer_name": INSTITUTION},
}


def _subject(kind: str, holder: str) -> dict[str, Any]:
    """The examples' subject of ``kind`` for ``holder``, naming the issuing institution."""
    built = examples.BUILDERS[kind](holder, **OWN_PARTY.get(kind, {}))
    subject: dict[str, Any] = built["credentialSubject"]
    return subject


def _kind(doc: dict[str, Any]) -> str:
    (kind,) = [t for t in doc["type"] if t in KINDS]
    return kind


class Published:
    """What the issuer publishes for one institution: its DID document and status lists."""

    def __init__(self, client: Any, slug: str) -> None:
        self.client, self.slug = client, slug
        self.refresh()

    def refresh(self) -> None:
        get = self.client.get
        self.did_document = get(f"/institutions/{self.slug}/did.json").json()
        self.status_lists = [
            get(f"/institutions/{self.slug}/status/{p}").json()
            for p in ("revocation", "suspension")
        ]

    def verify(self, doc: dict[str, Any], form: str, **kw: Any) -> dict[str, Any]:
        result = verify_with_vc(doc, [self.did_document], status_lists=self.status_lists, **kw)
        assert result["verified"], (form, messages(result))
        return result


def _live(result: dict[str, Any], entries: int) -> None:
    """Every status entry was read from the served list, and none is set."""
    assert len(result["status"]) == entries, result["status"]
    assert not any(s["status"] for s in result["status"]), result["status"]


def _check(published: Published, doc: dict[str, Any], form: str) -> None:
    result = published.verify(doc, form)
    _live(result, len(doc["credentialStatus"]))
    COUNTS[form, _kind(doc)] += 1
    SEEN.append((f"{form} ({_kind(doc)})", doc))


def _keygen(path: Path) -> str:
    r = runner.invoke(app, ["keygen", "--out", str(path)])
    assert r.exit_code == 0, r.output
    holder: str = r.output.strip().splitlines()[-1]
    assert holder.startswith("did:key:")
    return holder


@pytest.mark.parametrize("kind", KINDS)
def test_every_form_the_holder_receives_verifies_with_digital_bazaar(
    kind: str, client: Any, service: Any, tmp_path: Path
) -> None:
    assert NATIVE_SIGN is not None, "the C signer (credential/native_sign.c) is not built"
    SEEN.clear()
    inst = onboard(client, types=list(KINDS))
    token, slug = inst["api_key"]["token"], inst["slug"]
    key_file = tmp_path / "holder-key.json"
    holder = _keygen(key_file)
    published = Published(client, slug)
    request = {"type": kind, "credentialSubject": _subject(kind, holder)}
    retry = bearer(token, **{"Idempotency-Key": f"interop-{kind}"})

    issued = client.post("/credentials", headers=retry, json=request)
    assert issued.status_code == 202, issued.text
    cred_id = issued.json()["id"]
    _check(published, issued.json()["credential"], "POST 202 body")
    replay = client.post("/credentials", headers=retry, json=request)
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json()["id"] == cred_id
    _check(published, replay.json()["credential"], "POST replay (pending)")
    pending = client.get(f"/credentials/{cred_id}", headers=bearer(token)).json()
    assert isinstance(pending["proof"], dict)
    _check(published, pending, "GET pending")

    # the W3C VC API's answer: the unsigned VC 2.0 form of the same request
    vc_request = {
        "credential": {
            "@context": CONTEXTS[kind],
            "type": ["VerifiableCredential", kind],
            "issuer": inst["did"],
            "credentialSubject": _subject(kind, holder),
        },
        "options": {},
    }
    vc_issued = client.post("/credentials/issue", headers=bearer(token), json=vc_request)
    assert vc_issued.status_code == 201, vc_issued.text
    assert list(vc_issued.json()) == ["verifiableCredential"]
    vc_pending = vc_issued.json()["verifiableCredential"]
    assert isinstance(vc_pending["proof"], dict) and _kind(vc_pending) == kind
    location = vc_issued.headers["Location"]
    assert location == f"/credentials/{vc_pending['id']}"
    _check(published, vc_pending, "VC API 201 body")

    rows = b"".join(orjson.dumps(_subject(kind, holder)) + b"\n" for _ in range(BULK_ROWS))
    job = client.post(
        "/bulk-jobs",
        headers=bearer(token),
        files={"file": ("rows.jsonl", rows, "application/octet-stream")},
        data={"type": kind},
    )
    assert job.status_code == 202, job.text
    BulkRunner(service, processes=1).run_pending()
    results_url = f"/bulk-jobs/{job.json()['id']}/results"
    before = [
        orjson.loads(x) for x in client.get(results_url, headers=bearer(token)).text.splitlines()
    ]
    assert len(before) == BULK_ROWS
    for row in before:
        _check(published, row["credential"], "bulk result pending")

    client.app.state.worker.drain(30)
    published.refresh()
    anchored = client.get(f"/credentials/{cred_id}", headers=bearer(token)).json()
    assert [p["type"] for p in anchored["proof"]] == ["DataIntegrityProof", "TalentProofAnchor"]
    _check(published, anchored, "GET anchored")
    # the single-proof form (docs/architecture.md): the anchored one without its anchor entry
    # is the signed credential served before anchoring, byte for byte
    assert orjson.dumps(split_anchor(anchored)[0]) == orjson.dumps(pending)
    late = client.post("/credentials", headers=retry, json=request)
    assert late.json()["id"] == cred_id
    _check(published, late.json()["credential"], "POST replay (anchored)")
    vc_anchored = client.get(location, headers=bearer(token)).json()
    assert [p["type"] for p in vc_anchored["proof"]] == ["DataIntegrityProof", "TalentProofAnchor"]
    # the same credential as the 201 body (as a JSON value: the stored form is served with its
    # members in another order, which neither JCS nor the signature sees)
    assert split_anchor(vc_anchored)[0] == vc_pending
    _check(published, vc_anchored, "VC API Location anchored")
    png = client.get(f"/credentials/{cred_id}/qr.png", headers=bearer(token))
    assert png.status_code == 200
    from_qr = decode_payload(decode_image(png.content))
    assert from_qr == anchored
    _check(published, from_qr, "QR image decoded")
    # the SVG is the same code: the decoded PNG text drawn again is the served SVG, byte for byte
    svg = client.get(f"/credentials/{cred_id}/qr.svg", headers=bearer(token))
    assert svg.status_code == 200 and svg.text == render_svg(decode_image(png.content))

    after = [
        orjson.loads(x) for x in client.get(results_url, headers=bearer(token)).text.splitlines()
    ]
    assert len(after) == BULK_ROWS
    for row in after:
        assert row["status"] == "anchored"
        _check(published, row["credential"], "bulk result anchored")
        decoded = decode_payload(row["qrPayload"])
        assert decoded == row["credential"]
        _check(published, decoded, "bulk QR payload decoded")

    files = []
    for i, doc in enumerate([anchored, *(row["credential"] for row in after[:1])]):
        files.append(tmp_path / f"credential-{i}.json")
        files[-1].write_text(json.dumps(doc))
    out = tmp_path / "presentation.json"
    r = runner.invoke(
        app,
        [
            "present",
            *map(str, files),
            "--key",
            str(key_file),
            "--challenge",
            "c-interop-1",
            "--domain",
            "verifier.example",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    vp = json.loads(out.read_text())
    result = published.verify(
        vp,
        "CLI presentation",
        presentation=True,
        challenge="c-interop-1",
        domain="verifier.example",
    )
    _live(result, sum(len(c["credentialStatus"]) for c in vp["verifiableCredential"]))
    for doc in vp["verifiableCredential"]:
        COUNTS["CLI presentation", _kind(doc)] += 1
    lists = [
        (f"status list {s['credentialSubject']['statusPurpose']}", s)
        for s in published.status_lists
    ]
    assert assert_complete_in_both_processors([*SEEN, ("CLI presentation", vp), *lists]) >= 10


def test_a_revoked_credential_is_reported_revoked_by_the_status_list_library(
    client: Any, service: Any
) -> None:
    inst = onboard(client)
    token, slug = inst["api_key"]["token"], inst["slug"]
    holder = Ed25519SigningKey.from_seed(bytes([11]) * 32).public_key.did_key
    request = {
        "type": "DegreeCredential",
        "credentialSubject": _subject("DegreeCredential", holder),
    }
    issued = client.post("/credentials", headers=bearer(token), json=request)
    assert issued.status_code == 202, issued.text
    cred_id = issued.json()["id"]
    client.app.state.worker.drain(30)
    doc = client.get(f"/credentials/{cred_id}", headers=bearer(token)).json()
    published = Published(client, slug)
    live = published.verify(doc, "live")
    assert {s["statusPurpose"]: s["status"] for s in live["status"]} == {
        "revocation": False,
        "suspension": False,
    }
    stale = published.status_lists

    r = client.post(
        f"/credentials/{cred_id}/revoke", headers=bearer(token), json={"reason": "rescinded"}
    )
    assert r.status_code in (200, 202), r.text
    client.app.state.worker.drain(30)
    published.refresh()
    revoked = published.verify(doc, "revoked")
    # the library verifies the signature and both status list credentials, and reads the bit
    assert {s["statusPurpose"]: s["status"] for s in revoked["status"]} == {
        "revocation": True,
        "suspension": False,
    }
    by_purpose = {s["statusPurpose"]: s for s in revoked["status"]}
    index = next(
        e["statusListIndex"] for e in doc["credentialStatus"] if e["statusPurpose"] == "revocation"
    )
    assert by_purpose["revocation"]["statusListIndex"] == index
    # the list published before the revocation still reads live: the status list is the evidence
    before = verify_with_vc(doc, [published.did_document], status_lists=stale)
    assert before["verified"] and not any(s["status"] for s in before["status"])
    # without the status list the library cannot check the status: not verified
    blind = verify_with_vc(doc, [published.did_document])
    assert not blind["verified"]
    assert any("Could not load" in m for m in messages(blind)), messages(blind)
