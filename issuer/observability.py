"""Prometheus metrics and structured (JSON) logs of the issuer service.

Metrics live in a registry per service instance (several services may share a test process).
Logs never carry keys or personal data: credential ids, hashes, counts and states only.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """The service's metrics: issued, anchored, pending, anchoring latency, chain errors."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.issued = Counter(
            "talentproof_issuer_credentials_issued",
            "Credentials accepted (signed and persisted).",
            ["mode"],
            registry=self.registry,
        )
        self.anchored = Counter(
            "talentproof_issuer_credentials_anchored",
            "Credentials whose Merkle root was anchored on chain.",
            registry=self.registry,
        )
        self.batches = Counter(
            "talentproof_issuer_batches_anchored", "Merkle roots anchored.", registry=self.registry
        )
        self.pending = Gauge(
            "talentproof_issuer_credentials_pending",
            "Credentials accepted but not yet anchored (as of the worker's last pass).",
            registry=self.registry,
        )
        self.latency = Histogram(
            "talentproof_issuer_anchoring_latency_seconds",
            "Time from a batch's oldest credential being accepted to its root being anchored.",
            buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300, 1800),
            registry=self.registry,
        )
        self.chain_errors = Counter(
            "talentproof_issuer_chain_errors",
            "Errors talking to the ledger.",
            ["kind"],
            registry=self.registry,
        )
        self.chain_up = Gauge(
            "talentproof_issuer_chain_available",
            "1 when the ledger answered last time.",
            registry=self.registry,
        )
        self.tx_replaced = Counter(
            "talentproof_issuer_transactions_replaced",
            "Anchoring transactions replaced after being dropped or stuck.",
            registry=self.registry,
        )


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's ``extra`` keys."""

    _RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in self._RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    """Send the ``talentproof`` loggers to stderr (the app and CLI call this, never the library)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json_lines else logging.Formatter("%(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger("talentproof")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
