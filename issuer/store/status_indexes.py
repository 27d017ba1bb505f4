"""Status-list indexes: reserved from the institution's row in blocks, handed out in memory."""

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..db import InstitutionRow

#: Indexes reserved per database write (a crash leaves the rest of a block unused: gaps only).
INDEX_BLOCK = 4096


class StatusIndexes:
    """Each institution's unused status-list indexes, thread safe; one per process."""

    def __init__(
        self,
        write_lock: contextlib.AbstractContextManager[Any],
        session: Callable[[], contextlib.AbstractContextManager[Session]],
    ) -> None:
        self._write_lock = write_lock
        self._session = session
        self._lock = threading.Lock()
        self._blocks: dict[int, list[int]] = {}

    def allocate(self, institution_id: int, count: int) -> list[int]:
        """``count`` unused status-list indexes; reserved in blocks, so gaps after a crash."""
        out: list[int] = []
        with self._write_lock, self._lock:  # always write_lock first: no lock-order inversion
            block = self._blocks.setdefault(institution_id, [0, 0])
            while len(out) < count:
                if block[0] >= block[1]:
                    self._reserve(institution_id, block, max(INDEX_BLOCK, count - len(out)))
                take = min(count - len(out), block[1] - block[0])
                out.extend(range(block[0], block[0] + take))
                block[0] += take
        return out

    def reserve(self, institution_id: int) -> bool:
        """Reserve the institution's next block now, as its first `allocate` would, unless it
        holds indexes already; whether it did. What the bulk runner warms at start-up
        (`bulk.BulkRunner.warm_institutions`): the block a first job would reserve, no more."""
        with self._write_lock, self._lock:
            block = self._blocks.setdefault(institution_id, [0, 0])
            if block[0] < block[1]:
                return False
            self._reserve(institution_id, block, INDEX_BLOCK)
            return True

    def _reserve(self, institution_id: int, block: list[int], size: int) -> None:
        """Take ``size`` indexes from the institution's row into ``block`` (locks held)."""
        with self._session() as session:
            session.execute(
                update(InstitutionRow)
                .where(InstitutionRow.id == institution_id)
                .values(next_status_index=InstitutionRow.next_status_index + size)
            )
            end = session.scalar(
                select(InstitutionRow.next_status_index).where(InstitutionRow.id == institution_id)
            )
        assert end is not None
        block[0], block[1] = end - size, end
