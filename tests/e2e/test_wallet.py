"""`talentproof wallet` against the real services (`talentproof run --chain anvil`): the applicant
receives three credentials over OpenID4VCI (offer URI pasted, and the offer's QR image), lists
them (signature, anchor, status lists over HTTP), and answers an officer's OpenID4VP request
for the hk-dlt-expert profession; the verdict arrives on the officer's side. Also the refusals
the applicant meets: a wrong transaction code, a replayed offer, a request whose client_id is
not the key that signed it, a declined consent, an answered request.

The durations printed (offer to credential in the wallet, request to verdict) are measured
here, never asserted.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.demo import demo_subjects
from talentproof.wallet.store import Wallet

from .stack import Stack

pytestmark = pytest.mark.integration

PROFESSION = "hk-dlt-expert"
ID_NUMBER = "A123456(7)"
LABELS = {"harbour-university": "degree", "osl": "employment", "hk-blockchain-academy": "training"}


@pytest.fixture(
    scope="module", params=[pytest.param("anvil", marks=pytest.mark.xdist_group("e2e-wallet"))]
)
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """One stack for the module (one xdist group: one worker owns it)."""
    running = Stack(tmp_path_factory.mktemp("e2e-wallet") / "data", chain=request.param)
    running.start()
    try:
        yield running
    finally:
        assert running.stop() == 0, running.output()


def wallet(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["wallet", *args], input=input)
    return result.exit_code, result.output


def named(made: dict[str, Any]) -> tuple[str, str]:
    """``--issuer`` with the institution's credential issuer, as it gives it with the code."""
    return "--issuer", made["credentialOffer"]["credential_issuer"]


def offer(stack: Stack, slug: str, request: dict[str, Any]) -> dict[str, Any]:
    """The institution's offer of ``request``'s claims (no credentialSubject.id)."""
    body = json.loads(json.dumps(request))
    del body["credentialSubject"]["id"]
    r = httpx.post(
        f"{stack.issuer_url}/credential-offers",
        json=body,
        headers={"Authorization": f"Bearer {stack.api_key(slug)}"},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    made: dict[str, Any] = r.json()
    return made


def new_wallet(tmp_path: Path) -> tuple[Path, Wallet, dict[str, str]]:
    folder = tmp_path / "wallet"
    code, out = wallet("init", "--wallet-dir", str(folder))
    assert code == 0, out
    code, out = wallet(
        "commit-id",
        "--type",
        "HKID",
        "--country",
        "HK",
        "--number",
        ID_NUMBER,
        "--wallet-dir",
        str(folder),
    )
    assert code == 0, out
    return folder, Wallet(folder), json.loads(out)


def request_presentation(stack: Stack) -> dict[str, Any]:
    r = httpx.post(
        f"{stack.verifier_url}/oid4vp/requests",
        json={"profession": PROFESSION, "idNumber": ID_NUMBER},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def poll(stack: Stack, request_id: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        r = httpx.get(f"{stack.verifier_url}/oid4vp/requests/{request_id}", timeout=30)
        state: dict[str, Any] = r.json()
        if state["state"] != "pending" or time.monotonic() > deadline:
            return state
        time.sleep(0.25)


def checks_named(node: Any, check_id: str) -> list[dict[str, Any]]:
    """Every check object ``{"id": check_id, ...}`` anywhere in a report."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("id") == check_id and "status" in node:
            found.append(node)
        for value in node.values():
            found += checks_named(value, check_id)
    elif isinstance(node, list):
        for value in node:
            found += checks_named(value, check_id)
    return found


def test_wallet_receives_lists_and_presents(stack: Stack, tmp_path: Path) -> None:
    folder, w, id_doc = new_wallet(tmp_path)
    wd = ("--wallet-dir", str(folder))
    requests = demo_subjects(w.did(), id_doc)
    timings: dict[str, float] = {}
    for slug, request in requests.items():
        made = offer(stack, slug, request)
        assert made["credentialOfferUri"].startswith(
            "openid-credential-offer://?credential_offer_uri="
        )
        started = time.monotonic()
        if LABELS[slug] == "employment":  # scanned from the offer's QR image
            png = httpx.get(f"{stack.issuer_url}{urlsplit(made['qr']).path}", timeout=30)
            assert png.status_code == 200, png.text
            image = tmp_path / "offer.png"
            image.write_bytes(png.content)
            code, out = wallet(
                "accept", "--image", str(image), "--tx-code", made["txCode"], *named(made), *wd
            )
        else:
            code, out = wallet(
                "accept", made["credentialOfferUri"], "--tx-code", made["txCode"], *named(made), *wd
            )
        timings[LABELS[slug]] = time.monotonic() - started
        assert code == 0, out
        assert "received" in out and LABELS[slug] in out, out
    print(
        f"offer to credential in the wallet (s): { {k: round(v, 2) for k, v in timings.items()} }"
    )
    stored = w.credentials()
    assert len(stored) == 3
    for s in stored:
        assert s.document["credentialSubject"]["id"] == w.did()
        assert s.document["credentialSubject"]["identityDocument"] == id_doc
    code, out = wallet("list", "--json", *wd)
    assert code == 0, out
    rows = json.loads(out)["credentials"]
    assert sorted(r["kind"] for r in rows) == ["degree", "employment", "training"]
    for row in rows:
        # OSL's employment: its own did:web (did:web:osl.com), whose document this machine
        # cannot read at its address: its key is not confirmed (the others' are listed)
        want = "not confirmed" if row["kind"] == "employment" else "valid"
        assert row["validity"] == want, row
        assert row["issuerKey"].startswith("not confirmed" if want != "valid" else "listed in")
        assert row["signature"] == "valid" and row["anchor"] == "anchored"
        assert row["status"] == {"revocation": "clear", "suspension": "clear"}, row
    code, out = wallet("list", *wd)
    assert "master in Financial Technology, Harbour University" in out
    assert "Senior blockchain engineer (senior) at OSL Digital Securities Limited" in out

    # the officer's request, answered with consent typed
    req = request_presentation(stack)
    started = time.monotonic()
    code, out = wallet("present", req["authorizationRequest"], *wd, input="y\n")
    assert code == 0, out
    assert "your degree credential: master in Financial Technology" in out
    # the least the request accepts: blockchain-in-finance is met by the employment's domains,
    # so the training credential (an alternative) stays in the wallet
    assert "sent 2 credential(s)" in out, out
    assert "training: not shared: the request accepts what is shared above in its place" in out
    state = poll(stack, req["id"])
    print(f"request to verdict (s): {time.monotonic() - started:.2f}")
    assert state["state"] == "answered", state
    assert state["outcome"]["code"] == "VALID_MEETS", state
    # the salt was disclosed: the officer's document number matched the commitment
    statuses = {c.get("status") for c in checks_named(state["report"], "identity_document")}
    assert statuses == {"pass"}, state["report"]

    # the same request again: already answered
    code, out = wallet("present", req["authorizationRequest"], "--yes", *wd)
    assert code == 1, out
    assert "the verifier refused the presentation (HTTP 400) invalid_request" in out, out

    # the offline QR of a received credential stays available
    code, out = wallet("qr", "1", "--out", str(tmp_path / "q.png"), *wd)
    assert code == 0 and (tmp_path / "q.png").read_bytes().startswith(b"\x89PNG"), out


def test_wrong_tx_code_and_replayed_offer(stack: Stack, tmp_path: Path) -> None:
    folder, w, id_doc = new_wallet(tmp_path)
    wd = ("--wallet-dir", str(folder))
    made = offer(stack, "harbour-university", demo_subjects(w.did(), id_doc)["harbour-university"])
    wrong = "000000" if made["txCode"] != "000000" else "111111"
    code, out = wallet("accept", made["credentialOfferUri"], "--tx-code", wrong, *named(made), *wd)
    assert code == 1, out
    assert "refused the transaction code (invalid_grant: wrong transaction code" in out, out
    assert "Check the 6-digit transaction code" in out
    code, out = wallet("accept", made["credentialOfferUri"], *named(made), *wd)
    assert code == 2 and "--tx-code" in out, out
    code, out = wallet(
        "accept", made["credentialOfferUri"], "--tx-code", made["txCode"], *named(made), *wd
    )
    assert code == 0 and "received" in out, out
    code, out = wallet(
        "accept", made["credentialOfferUri"], "--tx-code", made["txCode"], *named(made), *wd
    )
    assert code == 1, out
    assert (
        "the issuer refused the offer (invalid_grant: the pre-authorized code was already used)"
        in out
    ), out
    assert "ask the institution for a new one" in out
    assert len(w.credentials()) == 1


def test_pending_credential_is_kept_and_refreshed(stack: Stack, tmp_path: Path) -> None:
    """--wait 0: the transaction is kept; `wallet refresh` receives the anchored credential."""
    folder, w, id_doc = new_wallet(tmp_path)
    wd = ("--wallet-dir", str(folder))
    made = offer(stack, "osl", demo_subjects(w.did(), id_doc)["osl"])
    code, out = wallet(
        "accept",
        made["credentialOfferUri"],
        "--tx-code",
        made["txCode"],
        "--wait",
        "0",
        *named(made),
        *wd,
    )
    assert code == 0, out
    if "received" not in out:  # (the anchor batch may, rarely, have closed already)
        assert "pending:" in out and "talentproof wallet refresh" in out, out
        code, out = wallet("list", *wd)
        assert "waiting for its anchor" in out, out
        deadline = time.monotonic() + 120
        while "1 received" not in out and time.monotonic() < deadline:
            time.sleep(1)
            code, out = wallet("refresh", *wd)
            assert code == 0, out
        assert "1 received, 0 still pending" in out, out
    assert [s.document["type"][-1] for s in w.credentials()] == ["EmploymentCredential"]
    assert list(w.pending()) == []


def revoke(stack: Stack, slug: str, held: dict[str, Any]) -> None:
    """The institution revokes the credential a wallet holds (and the change is applied)."""
    auth = {"Authorization": f"Bearer {stack.api_key(slug)}"}
    listed = httpx.get(f"{stack.issuer_url}/credentials?limit=1000", headers=auth).json()
    items = next(v for v in listed.values() if isinstance(v, list))
    cred_id = next(  # the issuer's id of the credential the wallet holds
        item["id"]
        for item in items
        if httpx.get(f"{stack.issuer_url}/credentials/{item['id']}", headers=auth).json().get("id")
        == held["id"]
    )
    r = httpx.post(
        f"{stack.issuer_url}/credentials/{cred_id}/revoke",
        json={"reason": "employment record corrected"},
        headers=auth,
        timeout=60,
    )
    assert r.status_code in (200, 202), r.text
    change = r.json()
    deadline = time.monotonic() + 60
    while change["state"] != "applied" and time.monotonic() < deadline:
        time.sleep(0.2)
        change = httpx.get(f"{stack.issuer_url}{change['poll']}", headers=auth).json()
    assert change["state"] == "applied", change


def test_list_says_revoked(stack: Stack, tmp_path: Path) -> None:
    """The institution revokes a credential the wallet holds: `wallet list` reads it from the
    issuer's status list."""
    folder, w, id_doc = new_wallet(tmp_path)
    wd = ("--wallet-dir", str(folder))
    made = offer(stack, "osl", demo_subjects(w.did(), id_doc)["osl"])
    code, out = wallet(
        "accept", made["credentialOfferUri"], "--tx-code", made["txCode"], *named(made), *wd
    )
    assert code == 0, out
    (stored,) = w.credentials()
    revoke(stack, "osl", stored.document)
    code, out = wallet("list", "--json", *wd)
    assert code == 0, out
    (row,) = json.loads(out)["credentials"]
    assert row["status"] == {"revocation": "set", "suspension": "clear"}, row
    assert row["validity"] == "revoked"
    code, out = wallet("list", "--offline", *wd)
    assert "VALID" in out and "not checked (offline)" in out, out


def test_present_refusals(stack: Stack, tmp_path: Path) -> None:
    folder, w, id_doc = new_wallet(tmp_path)
    wd = ("--wallet-dir", str(folder))
    req = request_presentation(stack)
    # nothing matching in the wallet: said, nothing sent
    code, out = wallet("present", req["authorizationRequest"], "--yes", *wd)
    assert code == 1 and "holds no valid credential for" in out, out
    # each query named as one the wallet cannot answer, not as 'an alternative is shared instead'
    for qid in ("degree", "employment", "training"):
        assert f"{qid}: you hold no valid credential that answers it" in out, out
    assert "an alternative" not in out, out
    for slug, request in demo_subjects(w.did(), id_doc).items():
        made = offer(stack, slug, request)
        code, out = wallet(
            "accept", made["credentialOfferUri"], "--tx-code", made["txCode"], *named(made), *wd
        )
        assert code == 0, out
    # declined: nothing sent, the request stays open
    code, out = wallet("present", req["authorizationRequest"], *wd, input="n\n")
    assert code == 1 and "nothing sent" in out, out
    assert poll(stack, req["id"], timeout=0)["state"] == "pending"
    # the real request object under another verifier's client_id: not signed by that key
    query = parse_qs(urlsplit(req["authorizationRequest"]).query)
    impostor = "decentralized_identifier:" + Ed25519SigningKey.generate().public_key.did_key
    forged = (
        f"openid4vp://?client_id={quote(impostor, safe='')}"
        f"&request_uri={quote(query['request_uri'][0], safe='')}"
    )
    code, out = wallet("present", forged, "--yes", *wd)
    assert code == 1, out
    assert "expected a key of the client_id" in out or "does not verify" in out, out
    assert "Do not answer it" in out
    # an unknown request
    gone = req["authorizationRequest"].replace(
        quote(urlsplit(query["request_uri"][0]).path, safe=""),
        quote(f"/oid4vp/requests/{uuid.uuid4().hex}/request.jwt", safe=""),
    )
    code, out = wallet("present", gone, "--yes", *wd)
    assert code == 1 and "unknown, expired or already answered" in out, out
    # the request's QR code, scanned, and answered
    png = httpx.get(req["qr"], timeout=30)
    assert png.status_code == 200, png.text
    image = tmp_path / "request.png"
    image.write_bytes(png.content)
    code, out = wallet("present", "--image", str(image), "--yes", *wd)
    assert code == 0 and "sent 2 credential(s)" in out, out
    assert poll(stack, req["id"])["outcome"]["code"] == "VALID_MEETS"


def test_present_holds_back_a_revoked_credential(stack: Stack, tmp_path: Path) -> None:
    """`wallet present` reads the status lists first: a revoked credential is named and not
    sent (nothing is sent when the request then cannot be met); --include-invalid sends it and
    the verifier refuses the application."""
    folder, w, id_doc = new_wallet(tmp_path)
    wd = ("--wallet-dir", str(folder))
    requests = demo_subjects(w.did(), id_doc)
    for slug in ("harbour-university", "osl"):
        made = offer(stack, slug, requests[slug])
        code, out = wallet(
            "accept", made["credentialOfferUri"], "--tx-code", made["txCode"], *named(made), *wd
        )
        assert code == 0, out
    employment = next(
        s for s in w.credentials() if s.document["type"][-1] == "EmploymentCredential"
    )
    revoke(stack, "osl", employment.document)
    req = request_presentation(stack)
    code, out = wallet("present", req["authorizationRequest"], "--yes", *wd)
    assert code == 1, out
    assert (
        f"held back: credential {employment.name}, your employment credential: Senior "
        "blockchain engineer" in out
    ), out
    assert "REVOKED (the issuer's revocation status list says so)" in out, out
    assert "holds no valid credential for" in out and "--include-invalid sends them" in out, out
    assert poll(stack, req["id"], timeout=0)["state"] == "pending"
    # --include-invalid: sent, flagged; the verifier reads the revocation on chain
    code, out = wallet("present", req["authorizationRequest"], "--yes", "--include-invalid", *wd)
    assert code == 0, out
    assert "REVOKED, the verifier will say so" in out and "sent 2 credential(s)" in out, out
    state = poll(stack, req["id"])
    assert state["state"] == "answered", state
    assert state["outcome"]["code"] != "VALID_MEETS", state
    # --offline: the status lists are not read, so the wallet cannot tell: it says so and sends
    again = request_presentation(stack)
    code, out = wallet("present", again["authorizationRequest"], "--yes", "--offline", *wd)
    assert code == 0 and "sent 2 credential(s)" in out, out
    assert "the issuers' status lists were not read" in out and "held back" not in out, out
    assert poll(stack, again["id"])["outcome"]["code"] == state["outcome"]["code"]
