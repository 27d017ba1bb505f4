"""What a write use case answers (`Outcome`), as the idempotency store records and replays it."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a write operation answers: status code, JSON body and extra headers."""

    status_code: int
    body: dict[str, Any]
    headers: dict[str, str]
