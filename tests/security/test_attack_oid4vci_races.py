"""Attacks on OpenID4VCI issuance by concurrent requests, on PostgreSQL (where the issuer takes no
writer lock: row locks and unique constraints must serialize what is used once) and on a SQLite
file, through the issuer's HTTP routes.

- A pre-authorized code redeemed by several token requests at once: one access token only.
- Wrong transaction codes sent at once: at most ``MAX_TX_CODE_FAILURES`` of them are compared
  with the code; the failure count was read and written back without a row lock, so concurrent
  guesses were lost updates and a six-digit code could be guessed far past five tries (whoever
  reads the offer object, which carries the pre-authorized code, then gets the holder's
  credential bound to their own key).
- One ``c_nonce`` in several key proofs at once: it is used once.
- (Already refused, kept:) one access token raced by several keys issues one credential,
  bound to one of them; another wallet's transaction id with my token gives nothing.
- One access token raced by one key (a wallet's retries): one transaction, never a 500 (on
  PostgreSQL the losers' inserts of the offer's transaction failed on its unique constraint).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from talentproof.issuer.app import create_app
from talentproof.issuer.outcome import created
from talentproof.issuer.usecases.oid4vci import MAX_TX_CODE_FAILURES, OAuthError
from tests.issuer.conftest import (  # noqa: F401
    issuer_chain,
    make_service,
    pg_server,
    pg_url,
)
from tests.issuer.issuer_helpers import onboard
from tests.issuer.test_oid4vci import (
    Holder,
    c_nonce,
    ci_path,
    make_offer,
    redeem,
    request_credential,
)
from tests.replica_stores import race

pytestmark = pytest.mark.integration

RACERS = 12


@pytest.fixture(params=["sqlite", "postgresql"])
def client(request: pytest.FixtureRequest, make_service: Any) -> Any:
    if request.param == "postgresql":
        service = make_service(database_url=request.getfixturevalue("pg_url"))
    else:
        service = make_service()
    with TestClient(create_app(service, run_worker=False)) as c:
        yield c


def test_attack_a_pre_authorized_code_redeemed_at_once_gives_one_access_token(
    client: TestClient,
) -> None:
    offer = make_offer(client, onboard(client)["api_key"]["token"])
    answers = race(RACERS, lambda _i: redeem(client, offer))
    tokens = [r.json()["access_token"] for r in answers if r.status_code == 200]
    assert len(tokens) == 1, [(r.status_code, r.text[:80]) for r in answers]
    assert all(r.json()["error"] == "invalid_grant" for r in answers if r.status_code != 200), [
        r.text for r in answers
    ]


def test_attack_wrong_transaction_codes_at_once_are_counted_every_one(
    client: TestClient,
) -> None:
    offer = make_offer(client, onboard(client)["api_key"]["token"])
    right = offer["txCode"]
    guesses = [f"{(int(right) + 1 + i) % 1_000_000:06d}" for i in range(RACERS * 2)]
    answers = race(len(guesses), lambda i: redeem(client, offer, guesses[i]))
    said = [r.json()["error_description"] for r in answers]
    assert all(r.status_code == 400 for r in answers), said
    compared = [s for s in said if s.startswith("wrong transaction code")]
    assert len(compared) <= MAX_TX_CODE_FAILURES, said
    # the offer is dead: the right code no longer redeems it
    dead = redeem(client, offer)
    assert dead.status_code == 400 and "dead" in dead.json()["error_description"], dead.text


def test_attack_one_c_nonce_in_proofs_sent_at_once_is_used_once(client: TestClient) -> None:
    key = onboard(client)["api_key"]["token"]
    offers = [make_offer(client, key) for _ in range(RACERS)]
    tokens = [redeem(client, o).json()["access_token"] for o in offers]
    ci = offers[0]["credentialOffer"]["credential_issuer"]
    nonce = c_nonce(client, offers[0])
    holder = Holder(44)
    answers = race(
        RACERS,
        lambda i: request_credential(client, offers[i], tokens[i], holder.proof(ci, nonce)),
    )
    taken = [r for r in answers if r.status_code == 202]
    assert len(taken) == 1, [(r.status_code, r.text[:80]) for r in answers]
    assert all(r.json()["error"] == "invalid_nonce" for r in answers if r.status_code != 202), [
        r.text for r in answers
    ]


def test_attack_one_access_token_raced_by_two_keys_issues_one_credential(
    client: TestClient,
) -> None:
    """Whoever stole the wallet's access token races its credential request with their own key:
    one credential is issued, bound to one key, and the other request is refused."""
    offer = make_offer(client, onboard(client)["api_key"]["token"])
    access = redeem(client, offer).json()["access_token"]
    ci = offer["credentialOffer"]["credential_issuer"]
    keys = [Holder(50 + i) for i in range(RACERS)]
    nonces = [c_nonce(client, offer) for _ in keys]
    answers = race(
        RACERS,
        lambda i: request_credential(client, offer, access, keys[i].proof(ci, nonces[i])),
    )
    taken = [i for i, r in enumerate(answers) if r.status_code == 202]
    assert len(taken) == 1, [(r.status_code, r.text[:100]) for r in answers]
    assert all(r.status_code in (400, 403) for r in answers if r.status_code != 202), [
        (r.status_code, r.text[:100]) for r in answers
    ]
    client.app.state.worker.drain(30)  # type: ignore[attr-defined]
    path = offer["credentialOffer"]["credential_issuer"].split("://", 1)[1].split("/", 1)[1]
    done = client.post(
        f"/{path}/deferred_credential",
        headers={"Authorization": f"Bearer {access}"},
        json=answers[taken[0]].json(),
    )
    assert done.status_code in (200, 202), done.text
    if done.status_code == 200:
        (entry,) = done.json()["credentials"]
        assert entry["credential"]["credentialSubject"]["id"] == keys[taken[0]].did


def test_attack_another_wallets_transaction_id_gives_nothing(client: TestClient) -> None:
    key = onboard(client)["api_key"]["token"]
    mine, theirs = make_offer(client, key), make_offer(client, key)
    ci = mine["credentialOffer"]["credential_issuer"]
    tokens = [redeem(client, o).json()["access_token"] for o in (mine, theirs)]
    answers = [
        request_credential(client, o, t, Holder(60 + i).proof(ci, c_nonce(client, o)))
        for i, (o, t) in enumerate(zip((mine, theirs), tokens, strict=True))
    ]
    assert [r.status_code for r in answers] == [202, 202]
    client.app.state.worker.drain(30)  # type: ignore[attr-defined]
    path = ci.split("://", 1)[1].split("/", 1)[1]
    stolen = client.post(
        f"/{path}/deferred_credential",
        headers={"Authorization": f"Bearer {tokens[0]}"},
        json=answers[1].json(),  # the other wallet's transaction id, with my token
    )
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_transaction_id"
    assert "credentials" not in stolen.json()


def test_one_access_token_raced_by_one_key_answers_one_transaction_never_500(
    client: TestClient,
) -> None:
    """A wallet that sends its credential request again before the first answered (a retry on a
    timeout, several tabs), each with a fresh nonce and the same key: the same credential is
    issued once. The requests that passed the check for an issued credential before the first
    one recorded its transaction inserted a second transaction of the offer: on PostgreSQL (no
    writer lock) the unique constraint refused it and the wallet got a 500. Now each answer is
    the one transaction (an idempotent repeat), or ``invalid_credential_request`` when the
    transaction was already recorded when it was checked (as for a later replay)."""
    offer = make_offer(client, onboard(client)["api_key"]["token"])
    access = redeem(client, offer).json()["access_token"]
    ci = offer["credentialOffer"]["credential_issuer"]
    holder = Holder(70)
    nonces = [c_nonce(client, offer) for _ in range(RACERS)]

    def attempt(i: int) -> Any:
        try:
            return request_credential(client, offer, access, holder.proof(ci, nonces[i]))
        except Exception as exc:  # a server error re-raised by the test client
            return exc

    answers = race(RACERS, attempt)
    said = [a if isinstance(a, Exception) else (a.status_code, a.text[:120]) for a in answers]
    assert not any(isinstance(a, Exception) for a in answers), said
    assert all(a.status_code in (202, 400) for a in answers), said
    accepted = [a.json() for a in answers if a.status_code == 202]
    assert accepted, said
    assert len({a["transaction_id"] for a in accepted}) == 1, said
    assert all(
        a.json()["error"] == "invalid_credential_request" for a in answers if a.status_code == 400
    ), said
    client.app.state.worker.drain(30)  # type: ignore[attr-defined]
    path = ci.split("://", 1)[1].split("/", 1)[1]
    done = client.post(
        f"/{path}/deferred_credential",
        headers={"Authorization": f"Bearer {access}"},
        json={"transaction_id": accepted[0]["transaction_id"]},
    )
    assert done.status_code in (200, 202), done.text
    if done.status_code == 200:
        (entry,) = done.json()["credentials"]
        assert entry["credential"]["credentialSubject"]["id"] == holder.did


@pytest.mark.parametrize("same_credential", [True, False])
def test_finish_credential_losing_the_insert_race_on_postgresql_is_not_a_500(
    make_service: Any, pg_url: str, same_credential: bool
) -> None:
    """The race above, made certain on PostgreSQL: another request's transaction of the offer is
    inserted, uncommitted, after this request read that the offer had none; this request's
    insert waits on the unique index and the other commits. Before: IntegrityError (HTTP 500).
    Now: the same credential gives the recorded transaction (an idempotent repeat); another
    gives ``invalid_credential_request``, the answer to a replayed access token."""
    import sqlalchemy as sa

    service = make_service(database_url=pg_url)
    with TestClient(create_app(service, run_worker=False)) as client:
        offer = make_offer(client, onboard(client)["api_key"]["token"])
        access = redeem(client, offer).json()["access_token"]
        ci = offer["credentialOffer"]["credential_issuer"]
        holder = Holder(80)
        first = request_credential(client, offer, access, holder.proof(ci, c_nonce(client, offer)))
        assert first.status_code == 202, first.text
        transaction_id = first.json()["transaction_id"]
        engine = sa.create_engine(pg_url)
        try:
            with engine.begin() as conn:  # the recorded transaction, taken away (committed)
                row = (
                    conn.execute(
                        sa.text("SELECT * FROM oid4vci_transactions WHERE id = :id"),
                        {"id": transaction_id},
                    )
                    .mappings()
                    .one()
                )
                conn.execute(sa.text("DELETE FROM oid4vci_transactions WHERE id = :id"), dict(row))
            oid4vci = client.app.state.oid4vci  # type: ignore[attr-defined]
            slug = ci_path(offer).rstrip("/").rsplit("/", 1)[1]
            pending = oid4vci.begin_credential(
                slug,
                access,
                {
                    "credential_configuration_id": offer["credentialOffer"][
                        "credential_configuration_ids"
                    ][0],
                    "proofs": {"jwt": [holder.proof(ci, c_nonce(client, offer))]},
                },
            )
            other = dict(row)
            if not same_credential:
                other["credential_id"] = "urn:uuid:00000000-0000-4000-8000-000000000000"
            locker = engine.connect()
            locker.begin()
            locker.execute(
                sa.text(
                    "INSERT INTO oid4vci_transactions (id, offer_id, credential_id, holder, "
                    "created_at) VALUES (:id, :offer_id, :credential_id, :holder, :created_at)"
                ),
                other,
            )
            result: list[Any] = []
            racer = threading.Thread(
                target=lambda: result.append(_outcome_of(oid4vci, pending, row["credential_id"]))
            )
            racer.start()
            # until its insert waits on the uncommitted row; each look in a transaction of its
            # own: pg_stat_activity is a snapshot taken once per transaction, so looking again in
            # one transaction never saw the racer arrive and the loop spun until the test timeout
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watch:
                while (
                    racer.is_alive()
                    and not watch.execute(
                        sa.text(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                            "AND query LIKE 'INSERT INTO oid4vci_transactions%'"
                        )
                    ).scalar()
                ):
                    threading.Event().wait(0.02)
            locker.commit()
            locker.close()
            racer.join(60)
        finally:
            engine.dispose()
    (answer,) = result
    if same_credential:
        assert isinstance(answer, dict), answer
        assert answer["transaction_id"] == transaction_id, answer
    else:
        assert isinstance(answer, OAuthError), answer
        assert answer.error == "invalid_credential_request", answer


def _outcome_of(oid4vci: Any, pending: Any, credential_id: str) -> Any:
    try:
        return oid4vci.finish_credential(pending, created({"id": credential_id}))
    except Exception as exc:  # the answer under test, whatever it is
        return exc
