"""Attack: a folder verified "as of today" across midnight UTC reads a revoked credential VALID
(real Anvil, the verifier's clock made to pass midnight during the run).

``--as-of`` given today's date means now (``checks.today_means_now``): read as 00:00 UTC it hid
the day's revocations and suspensions. A folder's files were verified task by task, each task
resolving the as-of again against the clock when it started; a folder run begun before midnight
with ``--as-of`` today (a script passing ``--as-of $(date +%F)``, the date the officer read) had
its later tasks find that date no longer today, and judged their files as of its 00:00: a
credential anchored before then and revoked today (the fraud found this afternoon) read VALID in
every file verified after midnight, INVALID in those before, in one folder "at block N". The as-of
is now resolved once, when the folder's block is pinned, for every file of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.ledger.nodes import anvil
from talentproof.verifier import bulk, engine
from tests.chainkit import DEGREE, holder, issue, populate, setup_chain

pytestmark = pytest.mark.integration
DAY = 86400


@pytest.fixture(scope="module")
def revoked_today(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A degree anchored two days ago on the chain's clock and revoked now."""
    with anvil() as node:
        chain = populate(setup_chain(node))
        uni = chain.issuers["University of Hong Kong"]
        doc = issue(chain, uni, DEGREE, holder().public_key.did_key)
        chain.rpc("evm_increaseTime", [2 * DAY])
        chain.rpc("evm_mine", [])
        uni.client.revoke_credential(credential_hash(split_anchor(doc)[0]))
        d = tmp_path_factory.mktemp("midnight")
        folder = d / "folder"
        folder.mkdir()
        for name in ("a", "b", "c"):  # one task each: the clock passes midnight after the first
            (folder / f"{name}.json").write_text(json.dumps(doc))
        yield {
            "chain": chain,
            "record": str(chain.save_deployment(d)),
            "folder": folder,
            "now": chain.latest_timestamp() + 5,
        }


@pytest.mark.parametrize("full", [True, False])  # --json's reports; the text's compact results
def test_attack_a_folder_as_of_today_is_judged_as_of_now_in_every_file(
    revoked_today, monkeypatch, full
) -> None:  # type: ignore[no-untyped-def]
    env = revoked_today
    today = datetime.fromtimestamp(env["now"], UTC)
    clock = {"now": today}

    class Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:  # the verifier's clock (engine.Verifier.clock)
            return clock["now"] if tz is not None else clock["now"].replace(tzinfo=None)

    monkeypatch.setattr(engine, "datetime", Clock)
    monkeypatch.setattr(bulk, "TASK", 1)

    def passed_midnight(done: int, total: int) -> None:  # after the first file's task
        clock["now"] = (today + timedelta(days=1)).replace(hour=0, minute=0, second=30)

    results, _, _ = bulk.run_folder(
        Path(env["folder"]),
        rpc=env["chain"].rpc_url,
        trust=env["record"],
        as_of=today.date(),
        workers=1,
        full=full,
        progress=passed_midnight,
    )
    codes = {Path(r["source"]).stem: r["outcome"]["code"] for r in results}
    assert codes == {"a": "INVALID", "b": "INVALID", "c": "INVALID"}, codes
    for r in results:
        if full:
            status = next(c for c in r["credentials"][0]["checks"] if c["number"] == 8)
            assert status["status"] == "fail", (r["source"], status)
        else:
            assert r["problem"].startswith("8. "), r
