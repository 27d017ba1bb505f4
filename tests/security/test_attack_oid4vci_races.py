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
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from talentproof.issuer.app import create_app
from talentproof.issuer.usecases.oid4vci import MAX_TX_CODE_FAILURES
from tests.issuer.conftest import (  # noqa: F401
    issuer_chain,
    make_service,
    pg_server,
    pg_url,
)
from tests.issuer.issuer_helpers import onboard
from tests.issuer.test_oid4vci import Holder, c_nonce, make_offer, redeem, request_credential

pytestmark = pytest.mark.integration

RACERS = 12


def _race(n: int, attempt: Callable[[int], Any]) -> list[Any]:
    """``n`` threads call ``attempt`` at the same moment; their results."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        results[i] = attempt(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


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
    answers = _race(RACERS, lambda _i: redeem(client, offer))
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
    answers = _race(len(guesses), lambda i: redeem(client, offer, guesses[i]))
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
    answers = _race(
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
    answers = _race(
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
