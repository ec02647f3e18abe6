"""Gauges read from the shared stores at scrape time: the retry backlog and the last verify result.

Counters and histograms live in `dualwrite.metrics` (per process); these gauges describe state that
all processes share (MongoDB), so every process reports the same values. When MongoDB cannot be
read, `dualwrite_ops_source_up` is 0 and the other gauges are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pymongo.errors import PyMongoError

from dualwrite.status import StatusReader


class OperationsCollector(Collector):
    def __init__(self, status: StatusReader) -> None:
        self.status = status

    def describe(self) -> list[Metric]:
        return []  # read at scrape time only (no MongoDB access when registered)

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "dualwrite_ops_source_up", "1 when the backlog and verify results could be read"
        )
        try:
            backlog = self.status.backlog()
            reports = self.status.last_reports()
            unmirrored = self.status.unmirrored()
        except PyMongoError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        pending = GaugeMetricFamily(
            "dualwrite_retry_backlog",
            "Unresolved failed writes by collection and status",
            labels=["collection", "status"],
        )
        oldest = GaugeMetricFamily(
            "dualwrite_retry_oldest_pending_age_seconds",
            "Age of the oldest PENDING retry record by collection",
            labels=["collection"],
        )
        for collection in self.status.registry.collections:
            entry = backlog.get(collection)
            pending.add_metric([collection, "PENDING"], entry.pending if entry else 0)
            pending.add_metric([collection, "FAILED"], entry.failed if entry else 0)
            age = entry.oldest_pending_age_seconds if entry else None
            oldest.add_metric([collection], age or 0.0)
        yield pending
        yield oldest
        marks = GaugeMetricFamily(
            "dualwrite_unmirrored_documents",
            "Documents whose latest write Postgres may not hold yet (pending marks), by collection",
            labels=["collection"],
        )
        for collection, count in unmirrored.items():
            marks.add_metric([collection], count)
        yield marks
        drift = GaugeMetricFamily(
            "dualwrite_verify_drift", "Drifting documents found by the last verify, by collection and kind",
            labels=["collection", "kind"],
        )  # fmt: skip
        last_run = GaugeMetricFamily(
            "dualwrite_verify_last_run_timestamp_seconds", "When the last verify of a collection finished",
            labels=["collection"],
        )  # fmt: skip
        for collection, report in reports.items():
            for kind, count in (report.get("counts") or {}).items():
                drift.add_metric([collection, kind], count)
            finished = report.get("finished_at")
            if finished is not None:
                last_run.add_metric([collection], finished.timestamp())
        yield drift
        yield last_run


class ReverseMirrorCollector(Collector):
    """postgres_only: the Postgres writes not yet written back to MongoDB, read from Postgres."""

    def __init__(self, backlog: Callable[[], dict[str, int]], collections: list[str]) -> None:
        self.backlog = backlog
        self.collections = collections

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        waiting = self.backlog()
        gauge = GaugeMetricFamily(
            "dualwrite_reverse_backlog",
            "postgres_only: Postgres writes not yet written back to MongoDB, by collection",
            labels=["collection"],
        )
        for collection in self.collections:
            gauge.add_metric([collection], waiting.get(collection, 0))
        yield gauge
