"""The retry queue's backlog: one aggregation gives the per-collection view (status page, gauges,
readiness) and the totals (get_sync_metrics, health, the drain)."""

from __future__ import annotations

import datetime as dt

import mongomock
import pytest

from dualwrite.policy import ErrorKind, RetryPolicy
from dualwrite.queue import FAILED, Backlog, RetryQueue


@pytest.mark.parametrize("tz_aware", [True, False])
def test_backlog_per_collection_and_in_total(tz_aware: bool) -> None:
    collection = mongomock.MongoClient(tz_aware=tz_aware).db.queue
    queue = RetryQueue(lambda: collection, RetryPolicy(attempts=3, base_delay=0.0))
    for mongo_id in ("a" * 24, "b" * 24):
        queue.record_failure("tasks", mongo_id, "update", "refused", ErrorKind.REJECTED)
    queue.record_failure("users", "c" * 24, "update", "unmappable", ErrorKind.PERMANENT)
    hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    collection.update_one({"mongo_id": "a" * 24}, {"$set": {"created_at": hour_ago}})

    by_collection = queue.backlog_by_collection()
    assert set(by_collection) == {"tasks", "users"}
    assert by_collection["users"] == Backlog(pending=0, failed=1)
    tasks = by_collection["tasks"]
    assert (tasks.pending, tasks.failed) == (2, 0)
    assert tasks.oldest_pending_age_seconds is not None
    assert 3599 <= tasks.oldest_pending_age_seconds < 3660

    totals = queue.backlog()
    assert totals["pending"] == 2 and totals["failed"] == 1
    assert totals["pending_by_collection"] == {"tasks": 2}
    assert totals["failed_by_collection"] == {"users": 1}
    assert totals["oldest_pending_age_seconds"] == pytest.approx(tasks.oldest_pending_age_seconds, abs=5)
    assert collection.find_one({"collection": "users"})["status"] == FAILED


def test_an_empty_queue_has_no_backlog() -> None:
    collection = mongomock.MongoClient(tz_aware=True).db.queue
    queue = RetryQueue(lambda: collection, RetryPolicy(attempts=3, base_delay=0.0))
    assert queue.backlog_by_collection() == {}
    assert queue.backlog() == {
        "pending": 0,
        "failed": 0,
        "pending_by_collection": {},
        "failed_by_collection": {},
        "oldest_pending_age_seconds": None,
    }
