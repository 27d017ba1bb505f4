"""One ledger transaction of the issuer's, from broadcast to receipt, resumable after a crash.

The anchoring worker's ``anchorRoot`` (`anchoring.AnchorWorker`) and the queued status changes
(`usecases.status_changes.StatusChanges.apply`) send, record, resume and wait through
`LedgerTransaction`; they differ only in what a transaction not mined in time gets
(`StuckPolicy`): ``anchorRoot`` is replaced with higher fees, a status change is left to the
next pass.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from .chain import ChainGateway
from .errors import LedgerUnavailable


@dataclass(frozen=True, slots=True)
class StuckPolicy:
    """What a transaction not mined within the timeout gets: with ``replace``, up to ``rounds``
    waits, each stuck one replaced (same nonce, higher fees) and recorded; without, the timeout
    is raised (the transaction stays recorded; the next pass rebroadcasts it)."""

    replace: bool
    rounds: int = 1
    #: what a failed rebroadcast of a recorded transaction may be (ignored: the wait decides)
    rebroadcast_ignores: tuple[type[Exception], ...] = ()


#: ``anchorRoot``: replaced when stuck, five waits at most (then the caller asks the chain).
REPLACE_WHEN_STUCK = StuckPolicy(replace=True, rounds=5)
#: Status changes: never replaced; a stuck one is rebroadcast and awaited again on the next
#: pass, with the changes behind it waiting (their order is the registry's order).
RESEND_NEXT_PASS = StuckPolicy(replace=False, rebroadcast_ignores=(LedgerUnavailable,))


class LedgerTransaction:
    """The transactions of one account (``account_key``) through ``chain``, each awaited at
    most ``timeout`` seconds, stuck ones handled by ``policy``. ``on_replaced(stuck,
    replacement)`` is called after each replacement (a log line, a metric)."""

    def __init__(
        self,
        chain: ChainGateway,
        account_key: bytes,
        timeout: float,
        policy: StuckPolicy,
        *,
        on_replaced: Callable[[Any, Any], None] | None = None,
    ) -> None:
        self.chain = chain
        self.account_key = account_key
        self.timeout = timeout
        self.policy = policy
        self.on_replaced = on_replaced

    def resume(self, recorded: str | None) -> Any:
        """The recorded transaction (``recorded``: its `PendingTx` as JSON), broadcast again
        (the node may have lost its pool), or None if none was recorded."""
        if not recorded:
            return None
        # ledger.tx loads eth-account (~0.5 s): only a process that sends pays for it
        from talentproof.ledger.errors import LedgerError  # noqa: PLC0415 (start-up time)
        from talentproof.ledger.tx import PendingTx  # noqa: PLC0415 (start-up time)

        pending = PendingTx.from_json(orjson.loads(recorded))
        with contextlib.suppress(LedgerError, *self.policy.rebroadcast_ignores):
            self.chain.rebroadcast(self.account_key, pending)
        return pending

    def wait(
        self,
        pending: Any,
        *,
        record: Callable[[Any], None],
        landed: Callable[[], bool] = lambda: False,
    ) -> Any:
        """The receipt of ``pending`` (or of its replacement). When stuck: raises
        `TransactionTimeout` unless the policy replaces it; then, unless ``landed()`` says the
        chain shows its effect, it is replaced and the replacement recorded (``record``) and
        awaited. None when it landed or the rounds ran out (the caller asks the chain)."""
        from talentproof.ledger.errors import TransactionTimeout  # noqa: PLC0415 (start-up time)

        for _round in range(self.policy.rounds):
            try:
                return self.chain.wait(self.account_key, pending, self.timeout)
            except TransactionTimeout:
                if not self.policy.replace:
                    raise
                if landed():
                    return None
                stuck, pending = pending, self.chain.replace(self.account_key, pending)
                if self.on_replaced is not None:
                    self.on_replaced(stuck, pending)
                record(pending)
        return None


__all__ = ["REPLACE_WHEN_STUCK", "RESEND_NEXT_PASS", "LedgerTransaction", "StuckPolicy"]
