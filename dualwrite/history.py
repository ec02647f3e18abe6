"""Write history for the dashboard chart: per-minute totals that survive restarts and add up
across processes.

Each serving or worker process runs a `HistorySampler`: every few seconds it adds the growth of
its own Prometheus counters since the last flush (mirror writes that landed, writes that failed,
and the sum and count of Postgres write durations) to the document of the current minute in a
MongoDB collection, with `$inc`, so that several processes add up. A flush attributes everything
since the previous flush to the current minute, so a minute's figures can be off by up to one
flush interval. Latency here is the duration of the engine's Postgres write statements, not the
time until a queued retry lands.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING
from pymongo.collection import Collection
from pymongo.errors import PyMongoError

from dualwrite import metrics

logger = logging.getLogger(__name__)

HISTORY_COLLECTION = "dualwrite_write_history"
# Index specs of the history collection (created by the MongoDB connection manager).
HISTORY_INDEXES: tuple[tuple[tuple[str, ...], bool], ...] = ((("minute",), False),)
FIELDS = ("writes", "failures", "latency_sum", "latency_count")


def _minute(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(second=0, microsecond=0)


@dataclass(frozen=True)
class Minute:
    minute: dt.datetime
    writes: int
    failures: int
    latency_sum: float
    latency_count: int

    @property
    def mean_latency_ms(self) -> float | None:
        return self.latency_sum / self.latency_count * 1000 if self.latency_count else None


def counter_snapshot() -> dict[str, dict[str, float]]:
    """{collection: {field: value}} of this process's engine counters."""
    out: dict[str, dict[str, float]] = {}
    for metric in metrics.WRITE_EVENTS.collect():
        for sample in metric.samples:
            if not sample.name.endswith("_total"):
                continue
            event = sample.labels["event"]
            name = "writes" if event == "succeeded" else "failures" if event == "failed" else None
            if name is not None:
                per = out.setdefault(sample.labels["collection"], dict.fromkeys(FIELDS, 0.0))
                per[name] += sample.value
    for metric in metrics.WRITE_LATENCY.collect():
        for sample in metric.samples:
            if sample.name.endswith("_sum"):
                name = "latency_sum"
            elif sample.name.endswith("_count"):
                name = "latency_count"
            else:
                continue
            per = out.setdefault(sample.labels["collection"], dict.fromkeys(FIELDS, 0.0))
            per[name] += sample.value
    return out


class WriteHistory:
    """The per-minute documents."""

    def __init__(self, collection: Callable[[], Collection[dict[str, Any]]]) -> None:
        self._collection = collection

    @property
    def coll(self) -> Collection[dict[str, Any]]:
        return self._collection()

    def add(self, moment: dt.datetime, deltas: dict[str, dict[str, float]]) -> None:
        increments = {
            f"by_collection.{collection}.{name}": value
            for collection, per in deltas.items()
            for name, value in per.items()
            if value
        }
        if not increments:
            return
        minute = _minute(moment)
        self.coll.update_one(
            {"_id": minute.isoformat()}, {"$set": {"minute": minute}, "$inc": increments}, upsert=True
        )

    def purge_before(self, cutoff: dt.datetime) -> int:
        """Delete the minutes before `cutoff` (the retention purge; the chart shows the last hour)."""
        return int(self.coll.delete_many({"minute": {"$lt": cutoff}}).deleted_count)

    def last_hour(self, now: dt.datetime | None = None) -> list[Minute]:
        """Sixty minutes ending with the current one (minutes without writes are zeros)."""
        end = _minute(now or dt.datetime.now(dt.UTC))
        start = end - dt.timedelta(minutes=59)
        found: dict[dt.datetime, dict[str, float]] = {}
        for doc in self.coll.find({"minute": {"$gte": start}}).sort("minute", ASCENDING):
            minute = doc["minute"] if doc["minute"].tzinfo else doc["minute"].replace(tzinfo=dt.UTC)
            totals = dict.fromkeys(FIELDS, 0.0)
            for per in doc.get("by_collection", {}).values():
                for name in FIELDS:
                    totals[name] += float(per.get(name, 0))
            found[minute] = totals
        out = []
        for step in range(60):
            minute = start + dt.timedelta(minutes=step)
            totals = found.get(minute, dict.fromkeys(FIELDS, 0.0))
            out.append(
                Minute(
                    minute,
                    int(totals["writes"]),
                    int(totals["failures"]),
                    totals["latency_sum"],
                    int(totals["latency_count"]),
                )
            )
        return out


class HistorySampler:
    """Adds this process's counter growth to the history (see module docstring)."""

    def __init__(self, history: WriteHistory) -> None:
        self.history = history
        self._lock = threading.Lock()
        self._last = counter_snapshot()

    def flush(self) -> None:
        with self._lock:
            current = counter_snapshot()
            deltas: dict[str, dict[str, float]] = {}
            for collection, per in current.items():
                before = self._last.get(collection, {})
                deltas[collection] = {name: per[name] - before.get(name, 0.0) for name in FIELDS}
            try:
                self.history.add(dt.datetime.now(dt.UTC), deltas)
            except PyMongoError as exc:  # kept for the next flush
                logger.warning("write history not recorded (%s)", type(exc).__name__)
                return
            self._last = current

    def run(self, stop: threading.Event, interval: float = 15.0) -> None:
        while not stop.wait(interval):
            self.flush()
        self.flush()

    def start(self, interval: float = 15.0) -> threading.Event:
        """Flush every `interval` seconds in a daemon thread; set the returned event to stop."""
        stop = threading.Event()
        threading.Thread(target=self.run, args=(stop, interval), name="write-history", daemon=True).start()
        return stop
