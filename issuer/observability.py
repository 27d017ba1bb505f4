"""Prometheus metrics and structured (JSON) logs of the issuer service.

Metrics live in a registry per service instance (several services may share a test process).
Logs never carry keys or personal data: credential ids, hashes, counts and states only.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily


class GcPauses:
    """Pause times of this process's cyclic garbage collector, per generation (``gc.callbacks``).

    One per process (:data:`GC_PAUSES`); ``talentproof issuer serve`` installs it, and every
    service's ``/metrics`` reports it (``talentproof_issuer_gc_*``). Costs two clock reads per
    collection.
    """

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.total = [0.0, 0.0, 0.0]
        self.max = [0.0, 0.0, 0.0]
        self._started = 0.0
        self._lock = threading.Lock()
        self._gauges: tuple[Gauge, Gauge, Gauge] | None = None
        self._flushers: list[Any] = []

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause = time.perf_counter() - self._started
        generation = int(info.get("generation", 2))
        self.count[generation] += 1
        self.total[generation] += pause
        self.max[generation] = max(self.max[generation], pause)

    @property
    def installed(self) -> bool:
        """Whether pauses are being recorded."""
        return self._callback in gc.callbacks

    def install(self) -> None:
        """Start recording (idempotent).

        With several ``serve`` worker processes (Prometheus multiprocess mode) the figures are
        also copied every second into per-process gauges (label ``pid``), so ``/metrics`` of any
        worker shows every process's pauses. The copy is never made inside the GC callback (it
        could fire while the metric's own lock is held).
        """
        with self._lock:
            if not self.installed:
                gc.callbacks.append(self._callback)
            if multiprocess_dir() and self._gauges is None:

                def gauge(name: str, doc: str) -> Gauge:
                    return Gauge(name, doc, ["generation"], registry=None, multiprocess_mode="all")

                self._gauges = (
                    gauge("talentproof_issuer_gc_collections_total", "Garbage collections."),
                    gauge("talentproof_issuer_gc_pause_seconds_total", "Time paused in GC."),
                    gauge("talentproof_issuer_gc_pause_max_seconds", "Longest GC pause."),
                )
                threading.Thread(target=self._flush_loop, name="gc-stats", daemon=True).start()

    def _flush_loop(self) -> None:
        while True:
            time.sleep(1.0)
            self.flush()

    def also_flush(self, flush: Any) -> None:
        """Run ``flush`` with this object's own (other per-process figures)."""
        self._flushers.append(flush)

    def flush(self) -> None:
        """Copy the figures into the multiprocess gauges (no-op in a single process)."""
        for flush in list(self._flushers):
            flush()
        gauges = self._gauges
        if gauges is None:
            return
        for generation in range(3):
            label = str(generation)
            gauges[0].labels(label).set(self.count[generation])
            gauges[1].labels(label).set(self.total[generation])
            gauges[2].labels(label).set(self.max[generation])

    def uninstall(self) -> None:
        """Stop recording."""
        with self._lock:
            if self.installed:
                gc.callbacks.remove(self._callback)

    def collect(self) -> Iterator[Any]:
        """Prometheus collector interface (this process only)."""
        if not self.installed or self._gauges is not None:
            return
        count = CounterMetricFamily(
            "talentproof_issuer_gc_collections",
            "Garbage collections of this process (recorded since start-up).",
            labels=["generation"],
        )
        total = CounterMetricFamily(
            "talentproof_issuer_gc_pause_seconds",
            "Time this process spent paused in garbage collections.",
            labels=["generation"],
        )
        longest = GaugeMetricFamily(
            "talentproof_issuer_gc_pause_max_seconds",
            "Longest single garbage-collection pause of this process.",
            labels=["generation"],
        )
        for generation in range(3):
            label = [str(generation)]
            count.add_metric(label, self.count[generation])
            total.add_metric(label, self.total[generation])
            longest.add_metric(label, self.max[generation])
        yield count
        yield total
        yield longest


GC_PAUSES = GcPauses()


class WriterLockWaits:
    """How long this process waited for the database's writer lock (`store.locks.WriterLock`): another
    thread or process was writing. Reported by ``/metrics`` as ``talentproof_issuer_db_write_
    lock_*``; in multiprocess mode copied into per-process gauges (label ``pid``)."""

    _NAMES = (
        ("talentproof_issuer_db_write_lock_waits_total", "Writes that had to wait for the lock."),
        ("talentproof_issuer_db_write_lock_wait_seconds_total", "Time spent waiting for it."),
        ("talentproof_issuer_db_write_lock_wait_max_seconds", "Longest single wait."),
    )

    def __init__(self, lock: Any) -> None:
        self.lock = lock
        self._gauges: tuple[Gauge, ...] | None = None
        if multiprocess_dir():
            self._gauges = tuple(
                Gauge(name, doc, registry=None, multiprocess_mode="all")
                for name, doc in self._NAMES
            )
            GC_PAUSES.also_flush(self.flush)

    def _values(self) -> tuple[float, float, float]:
        return (
            float(getattr(self.lock, "waits", 0)),
            float(getattr(self.lock, "wait_seconds", 0.0)),
            float(getattr(self.lock, "wait_max", 0.0)),
        )

    def flush(self) -> None:
        """Copy the figures into the multiprocess gauges."""
        if self._gauges is not None:
            for gauge, value in zip(self._gauges, self._values(), strict=True):
                gauge.set(value)

    def collect(self) -> Iterator[Any]:
        """Prometheus collector interface (single process)."""
        if self._gauges is not None or not hasattr(self.lock, "waits"):
            return
        (waits_name, waits_doc), (seconds_name, seconds_doc), (max_name, max_doc) = self._NAMES
        waits, seconds, longest = self._values()
        yield CounterMetricFamily(waits_name.removesuffix("_total"), waits_doc, value=waits)
        yield CounterMetricFamily(seconds_name.removesuffix("_total"), seconds_doc, value=seconds)
        yield GaugeMetricFamily(max_name, max_doc, value=longest)


def multiprocess_dir() -> str | None:
    """Prometheus multiprocess mode's folder: set by ``serve --workers N`` (N > 1)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def enable_multiprocess_metrics(folder: str) -> None:
    """Switch this process (and the processes it starts, through the environment) to
    Prometheus multiprocess mode: metric values live in files under ``folder`` and ``/metrics``
    of any process reports the sum (counters, histograms) or latest value (gauges) of all."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]  # untyped in prometheus_client


def exposition(metrics: Metrics) -> bytes:
    """The ``/metrics`` body: this process's registry, or every process's values in
    multiprocess mode."""
    if multiprocess_dir():
        GC_PAUSES.flush()
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped in prometheus_client
        return generate_latest(registry)
    return generate_latest(metrics.registry)


#: Young-generation threshold set by `freeze_after_warm_up` (CPython's default is 700: with a
#: request allocating a few thousand container objects, that is a collection per request).
GC_GEN0_THRESHOLD = 20_000


def freeze_after_warm_up() -> None:
    """Collect once, then move every surviving object to the permanent generation.

    Called after start-up and warm-up (every module the request path and the workers import is
    loaded): the collector then never traverses those objects again, so a full collection costs
    in proportion to the objects created since, not to the whole heap (web3 alone brings ~100,000
    container objects). The young-generation threshold is raised so short-lived request objects
    are collected less often (each collection then finds them mostly freed by reference counting).
    """
    gc.collect()
    gc.freeze()
    _gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


class Metrics:
    """The service's metrics: issued, anchored, pending, anchoring latency, chain errors."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(GC_PAUSES)
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
            "Credentials accepted but not yet anchored (counted by the worker's passes: each one "
            "that changed anything, and an idle one at least once a second).",
            registry=self.registry,
            multiprocess_mode="mostrecent",
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
            multiprocess_mode="mostrecent",
        )
        self.issue_groups = Counter(
            "talentproof_issuer_issue_groups",
            "Commits of single-credential issuance (POST /credentials): the requests of one "
            "event-loop step are committed together; issued{mode=single} / this = mean group.",
            registry=self.registry,
        )
        self.status_changes = Counter(
            "talentproof_issuer_status_changes",
            "Revocations, suspensions and reinstatements by outcome (applied on chain, or "
            "failed: the registry refused them).",
            ["outcome"],
            registry=self.registry,
        )
        self.lease_held = Gauge(
            "talentproof_issuer_anchor_lease_held",
            "1 while this replica's anchoring worker holds the anchoring lease (it alone sends "
            "chain transactions; summed over the replicas: 1), else 0.",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.lease_taken = Counter(
            "talentproof_issuer_anchor_lease_taken",
            "Times this replica's anchoring worker took the anchoring lease.",
            registry=self.registry,
        )
        self.status_changes_queued = Gauge(
            "talentproof_issuer_status_changes_queued",
            "Status changes accepted but not yet applied on chain (as of the worker's last pass).",
            registry=self.registry,
            multiprocess_mode="mostrecent",
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


def lower_thread_priority(nice: int) -> None:
    """Give the calling thread a lower CPU priority (Linux: a thread's own nice value, also
    inherited by processes it starts); nothing elsewhere or when ``nice`` is 0. The anchoring
    and bulk workers call it so that on a busy machine their bursts (forming batches, signing
    ledger transactions, storing bulk chunks) yield the CPU to HTTP requests; with the CPU to
    themselves they run as fast as before."""
    if nice <= 0 or not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), nice))
    except OSError:  # a sandbox without setpriority: run at the inherited priority
        logging.getLogger(__name__).debug(
            "could not lower the worker thread's priority", exc_info=True
        )
