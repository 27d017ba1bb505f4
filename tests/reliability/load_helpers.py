"""What the reliability tests that issue under load share: onboarding the institution, the client
threads posting credentials, the issuer's settings from its environment, and the end tally of
every accepted credential (in the database, in an anchored batch, its root among the registry's
``RootAnchored`` events) and its verification. One copy for the load, replica, RPC-failover,
rollback and network-fault tests."""

from __future__ import annotations

import collections
import threading
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.issuer.issuer_helpers import OPERATOR_TOKEN, degree_request, settings_env


def onboard(issuer_url: str, slug: str, timeout: float = 60) -> dict[str, Any]:
    """The operator onboards "University of Testing" (``slug``, degrees); its JSON (201)."""
    onboarded = httpx.post(
        f"{issuer_url}/operator/institutions",
        headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
        json={
            "name": "University of Testing",
            "slug": slug,
            "credential_types": ["DegreeCredential"],
        },
        timeout=timeout,
    )
    assert onboarded.status_code == 201, onboarded.text
    inst: dict[str, Any] = onboarded.json()
    return inst


def post_degree(http: httpx.Client, token: str, name: str, i: int) -> httpx.Response:
    """``POST /credentials`` of a degree for ``name`` (subject seed from ``i``), a fresh
    ``Idempotency-Key``, on ``http`` (its base URL the issuer's)."""
    return http.post(
        "/credentials",
        json=degree_request(name, seed_byte=1 + i % 200),
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
    )


def client_loop(
    url: str,
    token: str,
    stop: threading.Event,
    accepted: list[str],
    errors: collections.Counter[str],
    *,
    tag: str,
    timeout: float,
    no_answer: str,
    no_answer_pause_s: float,
    refused_pause_s: float,
) -> None:
    """Post degree credentials until ``stop``: a 2xx answer's id goes to ``accepted``; no answer
    counts as ``no_answer`` (then a pause of ``no_answer_pause_s``), another status as its code
    (then ``refused_pause_s``)."""
    with httpx.Client(base_url=url, timeout=timeout) as http:
        i = 0
        while not stop.is_set():
            i += 1
            try:
                r = post_degree(http, token, f"{tag} {threading.get_ident()} {i}", i)
            except httpx.HTTPError as exc:
                errors[f"{no_answer} ({type(exc).__name__})"] += 1
                time.sleep(no_answer_pause_s)
                continue
            if 200 <= r.status_code < 300:
                accepted.append(r.json()["id"])
            else:
                errors[f"HTTP {r.status_code}"] += 1
                time.sleep(refused_pause_s)


class ClientLoad:
    """``clients`` threads running `client_loop` against one issuer (its ``loop_options``), from
    `start` to `stop`; what they got in ``accepted`` and ``errors``."""

    def __init__(self, url: str, token: str, clients: int, **loop_options: Any) -> None:
        self.stopping = threading.Event()
        self.accepted: list[str] = []
        self.errors: collections.Counter[str] = collections.Counter()
        self.threads = [
            threading.Thread(
                target=client_loop,
                args=(url, token, self.stopping, self.accepted, self.errors),
                kwargs=loop_options,
            )
            for _ in range(clients)
        ]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def stop(self, join_s: float) -> None:
        """Tell every client to stop, and wait up to ``join_s`` for each."""
        self.stopping.set()
        for t in self.threads:
            t.join(join_s)


def issuer_settings(chain: dict[str, Any], data: Path, **values: Any) -> Any:
    """The `IssuerSettings` an issuer process gets from ``settings_env(chain, data, **values)``."""
    from talentproof.issuer.settings import IssuerSettings

    fields = {
        k.removeprefix("TALENTPROOF_ISSUER_").lower(): v
        for k, v in settings_env(chain, data, **values).items()
    }
    return IssuerSettings(**fields)


@dataclass
class Tally:
    """Where the accepted credentials stand in the issuer's database and on the chain."""

    batches: dict[int, Any]  # AnchorBatch rows by id
    rows: dict[str, Any]  # CredentialRow objects by id
    lost: list[str]  # accepted, not in the database
    unanchored: list[str]  # in the database, not in an anchored batch
    docs: list[dict[str, Any]]  # the holder documents of those in the database
    event_roots: list[bytes]  # the roots of the issuer's RootAnchored events
    anchored_roots: list[bytes]  # the roots of the anchored batches

    def check(self) -> None:
        """Nothing accepted is lost or left unanchored, no root is anchored twice, and the
        anchored batches' roots are the ``RootAnchored`` events' roots."""
        assert not self.lost, f"{len(self.lost)} accepted credentials are missing from the database"
        assert not self.unanchored, f"{len(self.unanchored)} accepted credentials are not anchored"
        assert len(self.event_roots) == len(set(self.event_roots)), "a root was anchored twice"
        assert sorted(self.event_roots) == sorted(self.anchored_roots), (
            "batches and RootAnchored differ"
        )


def tally(
    settings: Any,
    accepted: list[str],
    rpc_url: str,
    registry: str,
    issuer_id: int,
    *,
    run_migrations: bool = True,
    leave_out: Collection[str] = (),
) -> Tally:
    """Read the issuer's database (``settings``) and the registry's ``RootAnchored`` events for
    ``issuer_id`` through ``rpc_url``; the documents leave out the ids in ``leave_out``."""
    from sqlalchemy import select
    from web3 import Web3

    from talentproof.issuer.db import AnchorBatch, CredentialRow
    from talentproof.issuer.service import IssuerService
    from talentproof.ledger.artifacts import load_artifact

    service = IssuerService(settings, run_migrations=run_migrations)
    try:
        with service.sessions() as session:
            batches = {b.id: b for b in session.scalars(select(AnchorBatch))}
            rows = {c.id: c for c in session.scalars(select(CredentialRow))}
            lost = [cid for cid in accepted if cid not in rows]
            unanchored = [
                cid
                for cid in accepted
                if cid in rows
                and (rows[cid].batch_id is None or batches[rows[cid].batch_id].state != "anchored")
            ]
            docs = [
                service.holder_document(session, rows[cid])[0]
                for cid in accepted
                if cid in rows and cid not in leave_out
            ]
    finally:
        service.close()
    w3 = Web3(Web3.HTTPProvider(rpc_url))
    contract = w3.eth.contract(address=registry, abi=load_artifact("TalentProofRegistry").abi)
    events = contract.events.RootAnchored().get_logs(
        from_block=0, argument_filters={"issuerId": issuer_id}
    )
    event_roots = [bytes(e["args"]["root"]) for e in events]
    anchored_roots = [b.root for b in batches.values() if b.state == "anchored"]
    return Tally(batches, rows, lost, unanchored, docs, event_roots, anchored_roots)


def verify_documents(
    rpc_url: str | list[str], record: Path, docs: list[dict[str, Any]]
) -> tuple[list[Any], Any]:
    """Verify ``docs`` in-process against the deployment in ``record`` through ``rpc_url`` (one
    URL, or several for failover); the reports, and the `RegistryReader` used."""
    from talentproof.ledger.reader import RegistryReader
    from talentproof.verifier.bulk import verify_items_bulk
    from talentproof.verifier.engine import Item, Verifier
    from talentproof.verifier.trust import TrustedDeployment

    trust = TrustedDeployment.load(record)
    reader = RegistryReader(rpc_url, trust.registry)
    reports = verify_items_bulk(
        Verifier(reader, trust), [Item(f"c{i}", d) for i, d in enumerate(docs)]
    )
    return reports, reader
