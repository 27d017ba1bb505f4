"""What a write use case answers: a domain result (`WriteOutcome`: its `Kind`, its JSON body and the
resource it names), recorded and replayed by the idempotency store. The HTTP rendering (status
code, ``Location``, ``Idempotent-Replayed``) is `api.responses.respond`'s alone."""

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Kind(Enum):
    """What a write did."""

    DONE = "done"  #: took effect (a change made, a status change already applied)
    CREATED = "created"  #: made a new resource (an institution, an API key)
    ACCEPTED = "accepted"  #: queued, finished later (anchoring, a bulk job, a status change)


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """A write's result: what it did (``kind``), its JSON ``body``, the path of the resource it
    made or that tells how it goes on (``link``), and whether it is the recorded answer of an
    earlier request with the same Idempotency-Key (``replayed``)."""

    kind: Kind
    body: dict[str, Any]
    link: str | None = None
    replayed: bool = False


def done(body: dict[str, Any]) -> WriteOutcome:
    """A write that took effect."""
    return WriteOutcome(Kind.DONE, body)


def created(body: dict[str, Any], link: str | None = None) -> WriteOutcome:
    """A write that made the resource at ``link``."""
    return WriteOutcome(Kind.CREATED, body, link)


def accepted(body: dict[str, Any], link: str) -> WriteOutcome:
    """A write queued to finish later; ``link`` is where to follow it."""
    return WriteOutcome(Kind.ACCEPTED, body, link)


def status_change(body: dict[str, Any]) -> WriteOutcome:
    """A status change's result: done once applied (with its transaction), else accepted
    (queued); its ``poll`` link is the link either way."""
    return WriteOutcome(
        Kind.DONE if body["state"] == "applied" else Kind.ACCEPTED, body, body["poll"]
    )


__all__ = ["Kind", "WriteOutcome", "accepted", "created", "done", "status_change"]
