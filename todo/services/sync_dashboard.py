"""What the sync dashboard shows, and its retry actions (the view only renders and redirects)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from dualwrite.engine import ManualRetry
from dualwrite.history import Minute
from dualwrite.status import CollectionStatus
from todo.phases import PHASES, current_phase, mongodb_is_truth, reverse_mirroring
from todo.runtime_flags import READ_SOURCES
from todo.services import flag_service, readiness
from todo.services.dual_write_service import DualWriteService
from todo.wiring import build_history, build_reverse_mirror, build_status, dual_write_engine, history_sampler

# Failures listed on the page, and retried by one "retry all" click.
FAILURE_LIMIT = 200
RETRY_ALL_LIMIT = 1000


def _postgres_only_data() -> dict[str, Any]:
    """postgres_only: Postgres is the store of record; what waits is the writes back to MongoDB
    (read from Postgres, so the page works with MongoDB down or retired)."""
    status = build_status()
    rows = status.row_counts()
    waiting = build_reverse_mirror().backlog() if reverse_mirroring() else {}
    collections: list[dict[str, Any]] = [
        {"collection": name, "documents": None, "rows": live, "tombstones": dead,
         "pending": waiting.get(name, 0), "failed": 0, "oldest_pending_age_seconds": None,
         "unmirrored": 0, "last_verify": None, "backfill": []}
        for name, (live, dead) in rows.items()
    ]  # fmt: skip
    return {
        "phase": current_phase(),
        "collections": collections,
        "failures": [],
        "minutes": [],
        "reports": [],
        "totals": {
            "pending": sum(waiting.values()),
            "failed": 0,
            "oldest_pending_age_seconds": None,
            "writes_last_hour": 0,
            "failures_last_hour": 0,
        },
    }


def migration_data(statuses: list[CollectionStatus] | None = None) -> dict[str, Any]:
    """The migration controls: the phase, each collection's reads and readiness, the audit trail
    (readiness from `statuses` when the page has read them already)."""
    report = readiness.build_report(statuses=statuses)
    return {
        "phases": PHASES,
        "read_sources": READ_SOURCES,
        "readiness": report,
        "flag_changes": flag_service.history(20),
        "refresh_seconds": settings.RUNTIME_FLAGS_REFRESH_SECONDS,
    }


def dashboard_data() -> dict[str, Any]:
    if not mongodb_is_truth():
        return {**_postgres_only_data(), **migration_data()}
    statuses = build_status().collections()
    return {**_forward_data(statuses), **migration_data(statuses)}


def _forward_data(statuses: list[CollectionStatus]) -> dict[str, Any]:
    history_sampler().flush()  # this process's latest writes, so the chart is current
    collections = [s.as_dict() for s in statuses]
    service = DualWriteService()
    failures = service.get_sync_failures(limit=FAILURE_LIMIT)
    minutes: list[Minute] = build_history().last_hour()
    reports = {s.collection: s.last_verify for s in statuses if s.last_verify is not None}
    pending = sum(c["pending"] for c in collections)
    failed = sum(c["failed"] for c in collections)
    ages = [
        c["oldest_pending_age_seconds"] for c in collections if c["oldest_pending_age_seconds"] is not None
    ]
    return {
        "phase": current_phase(),
        "collections": collections,
        "failures": failures,
        "minutes": minutes,
        "reports": [reports[name] for name in sorted(reports)],
        "totals": {
            "pending": pending,
            "failed": failed,
            "oldest_pending_age_seconds": max(ages) if ages else None,
            "writes_last_hour": sum(m.writes for m in minutes),
            "failures_last_hour": sum(m.failures for m in minutes),
        },
    }


def retry_one(collection: str, mongo_id: str) -> bool:
    """Re-apply one document now from MongoDB (the engine's manual retry)."""
    return DualWriteService().retry_failed_sync(collection, mongo_id)


def retry_all() -> ManualRetry:
    """Re-apply the first RETRY_ALL_LIMIT unresolved records now (the engine's manual retry)."""
    return dual_write_engine().retry_unresolved(
        limit=RETRY_ALL_LIMIT, lease_seconds=settings.DUAL_WRITE_LEASE_SECONDS
    )
