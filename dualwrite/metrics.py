"""Engine metrics: Prometheus counters and histograms (exported by /metrics), plus a bounded
in-process sample of recent Postgres write latencies for percentiles in `get_sync_metrics()`.

Counters are per process, as Prometheus expects; the backlog is read from the retry queue, which
all processes share.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from prometheus_client import Counter, Histogram

EVENTS = ("attempted", "succeeded", "failed", "retried", "skipped")

WRITE_EVENTS = Counter(
    "dualwrite_events_total",
    "Dual-write events by collection, operation and event (attempted, succeeded, failed, retried, skipped)",
    ["collection", "operation", "event"],
)
WRITE_LATENCY = Histogram(
    "dualwrite_postgres_write_seconds",
    "Duration of the engine's Postgres write statements",
    ["collection"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)

BACKFILL_DOCUMENTS = Counter(
    "dualwrite_backfill_documents_total",
    "Documents handled by backfill, by collection and outcome (written, kept: Postgres held a newer"
    " version or a tombstone, rejected: the mapping cannot hold it)",
    ["collection", "outcome"],
)
VERIFY_DOCUMENTS = Counter(
    "dualwrite_verify_documents_total",
    "Documents compared by verify, by collection",
    ["collection"],
)
SHADOW_READ_MISMATCHES = Counter(
    "dualwrite_shadow_read_mismatches_total",
    "Shadow reads whose Postgres answer differed from MongoDB's, by collection and field",
    ["collection", "field"],
)
READ_FALLBACKS = Counter(
    "dualwrite_read_fallbacks_total",
    "Reads routed to Postgres (read_migration) that MongoDB answered instead, by collection and reason"
    " (pending: a write of the read's documents is not yet known to be in Postgres; stale: a returned"
    " row is older than its document; postgres_error: Postgres could not answer)",
    ["collection", "reason"],
)


class LatencySample:
    """The most recent write latencies (seconds), for percentiles."""

    def __init__(self, size: int = 10_000) -> None:
        self._values: deque[float] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, seconds: float) -> None:
        with self._lock:
            self._values.append(seconds)

    def percentiles(self) -> dict[str, Any]:
        with self._lock:
            values = sorted(self._values)
        if not values:
            return {"count": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None}

        def at(q: float) -> float:
            return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 3)

        return {"count": len(values), "p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99)}


LATENCIES = LatencySample()


def count(collection: str, operation: str, event: str, amount: int = 1) -> None:
    WRITE_EVENTS.labels(collection, operation, event).inc(amount)


def observe(collection: str, seconds: float) -> None:
    WRITE_LATENCY.labels(collection).observe(seconds)
    LATENCIES.add(seconds)


def count_backfill(collection: str, outcome: str, amount: int) -> None:
    if amount:
        BACKFILL_DOCUMENTS.labels(collection, outcome).inc(amount)


def count_verified(collection: str, amount: int) -> None:
    if amount:
        VERIFY_DOCUMENTS.labels(collection).inc(amount)


def count_shadow_mismatch(collection: str, field: str) -> None:
    """For shadow reads (phase 2): one field of one read differed."""
    SHADOW_READ_MISMATCHES.labels(collection, field).inc()


def count_read_fallback(collection: str, reason: str) -> None:
    """For Postgres reads in read_migration: MongoDB answered instead (see READ_FALLBACKS)."""
    READ_FALLBACKS.labels(collection, reason).inc()


def event_counts() -> dict[str, dict[str, dict[str, int]]]:
    """{collection: {operation: {event: n}}} from this process's counters."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for metric in WRITE_EVENTS.collect():
        for sample in metric.samples:
            if not sample.name.endswith("_total"):
                continue
            labels = sample.labels
            per_op = out.setdefault(labels["collection"], {}).setdefault(
                labels["operation"], dict.fromkeys(EVENTS, 0)
            )
            per_op[labels["event"]] = int(sample.value)
    return out
