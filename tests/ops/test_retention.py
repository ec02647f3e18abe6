"""Retention: the purge deletes what is older than DUAL_WRITE_RETENTION_DAYS and keeps the rest
(unresolved records, running checkpoints, the newest report of each collection), and the worker
runs it on its own, without cron."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from bson import ObjectId
from django.core.management import call_command

from dualwrite.checkpoint import CHECKPOINT_COLLECTION, FINISHED, RUNNING
from dualwrite.history import HISTORY_COLLECTION
from dualwrite.queue import QUEUE_COLLECTION
from dualwrite.reports import REPORT_COLLECTION
from todo.db.mongo_manager import DatabaseManager
from todo.models.postgres.operations import Job, ReverseVerifyReport, ShadowRead
from todo.services import retention
from todo.services.background import BackgroundWorker

pytestmark = pytest.mark.django_db(transaction=True)

NOW = dt.datetime.now(dt.UTC)
OLD = NOW - dt.timedelta(days=31)  # beyond the default 30 days
OLDER = NOW - dt.timedelta(days=40)
RECENT = NOW - dt.timedelta(days=29)


def _coll(name: str) -> Any:
    return DatabaseManager.get().get_collection(name)


def _ids(name: str, query: dict[str, Any] | None = None) -> set[Any]:
    return {d["_id"] for d in _coll(name).find(query or {}, {"_id": 1})}


def _queue_record(status: str, moment: dt.datetime) -> ObjectId:
    record = {"collection": "tasks", "mongo_id": str(ObjectId()), "operation": "update", "status": status,
              "error": "OperationalError", "attempts": 1, "created_at": moment, "updated_at": moment}  # fmt: skip
    if status == "RESOLVED":
        record["resolved_at"] = moment
    return _coll(QUEUE_COLLECTION).insert_one(record).inserted_id


def _report(collection: str, finished: dt.datetime) -> ObjectId:
    doc = {"collection": collection, "equal": True, "counts": {}, "finished_at": finished}
    return _coll(REPORT_COLLECTION).insert_one(doc).inserted_id


def _position(collection: str, status: str, updated: dt.datetime) -> str:
    key = f"position:{collection}:0/1"
    _coll(CHECKPOINT_COLLECTION).insert_one(
        {"_id": key, "kind": "position", "collection": collection, "shard": "0/1", "status": status,
         "last_id": None, "processed": 0, "written": 0, "rejected": 0, "started_at": updated,
         "updated_at": updated}
    )  # fmt: skip
    return key


def _plan(collection: str, updated: dt.datetime) -> str:
    key = f"plan:{collection}:4"
    _coll(CHECKPOINT_COLLECTION).insert_one(
        {
            "_id": key,
            "kind": "plan",
            "collection": collection,
            "count": 4,
            "bounds": [],
            "updated_at": updated,
        }
    )
    return key


def _minute(moment: dt.datetime) -> str:
    minute = moment.replace(second=0, microsecond=0)
    _coll(HISTORY_COLLECTION).insert_one({"_id": minute.isoformat(), "minute": minute, "by_collection": {}})
    return minute.isoformat()


def _reverse_report(collection: str, finished: dt.datetime) -> int:
    return ReverseVerifyReport.objects.create(
        collection=collection, finished_at=finished, checked=1, missing=0, extra=0, differing=0
    ).pk


def _job(status: str, finished_at: dt.datetime | None) -> int:
    created = finished_at or OLDER
    return Job.objects.create(
        kind=Job.VERIFY, collection="tasks", status=status, started_by="ops", created_at=created,
        heartbeat_at=created, finished_at=finished_at,
    ).pk  # fmt: skip


@pytest.fixture
def seeded(ops_db: DatabaseManager) -> Iterator[dict[str, Any]]:
    """Records on both sides of the retention cutoff, in every store the purge covers."""
    yield {
        "queue_old": _queue_record("RESOLVED", OLD),
        "queue_recent": _queue_record("RESOLVED", RECENT),
        "queue_unresolved_old": _queue_record("FAILED", OLDER),
        # tasks: two old reports and a recent one; users: only old ones (the newest stays)
        "tasks_report_older": _report("tasks", OLDER),
        "tasks_report_old": _report("tasks", OLD),
        "tasks_report_recent": _report("tasks", RECENT),
        "users_report_older": _report("users", OLDER),
        "users_report_old": _report("users", OLD),
        "finished_old": _position("tasks", FINISHED, OLD),
        "finished_recent": _position("users", FINISHED, RECENT),
        "running_old": _position("labels", RUNNING, OLDER),
        "plan_of_running": _plan("labels", OLDER),
        "plan_of_finished": _plan("tasks", OLDER),
        "minute_old": _minute(OLD),
        "minute_recent": _minute(RECENT),
        "reverse_tasks_older": _reverse_report("tasks", OLDER),
        "reverse_tasks_recent": _reverse_report("tasks", RECENT),
        "reverse_users_older": _reverse_report("users", OLDER),
        "reverse_users_old": _reverse_report("users", OLD),
        "shadow_old": ShadowRead.objects.create(collection="tasks", at=OLD, fields=["title"]).pk,
        "shadow_recent": ShadowRead.objects.create(collection="tasks", at=RECENT, fields=[]).pk,
        "job_old": _job(Job.DONE, OLD),
        "job_recent": _job(Job.FAILED, RECENT),
        "job_running_old": _job(Job.RUNNING, None),
    }


def assert_purged(seeded: dict[str, Any]) -> None:
    assert set(ShadowRead.objects.values_list("pk", flat=True)) == {seeded["shadow_recent"]}
    assert set(Job.objects.values_list("pk", flat=True)) == {seeded["job_recent"], seeded["job_running_old"]}
    assert _ids(QUEUE_COLLECTION) == {seeded["queue_recent"], seeded["queue_unresolved_old"]}
    assert _ids(REPORT_COLLECTION) == {seeded["tasks_report_recent"], seeded["users_report_old"]}
    assert _ids(CHECKPOINT_COLLECTION) == {
        seeded["finished_recent"],
        seeded["running_old"],
        seeded["plan_of_running"],
    }
    assert _ids(HISTORY_COLLECTION) == {seeded["minute_recent"]}
    assert set(ReverseVerifyReport.objects.values_list("pk", flat=True)) == {
        seeded["reverse_tasks_recent"],
        seeded["reverse_users_old"],
    }


def test_the_purge_deletes_only_what_is_older_than_retention(seeded: dict[str, Any], caplog) -> None:
    with caplog.at_level(logging.INFO, logger="todo.services.retention"):
        result = retention.purge_all()

    assert_purged(seeded)
    assert result.counts == {
        "resolved retry records": 1,
        "verify reports": 3,
        "finished backfill checkpoints": 2,
        "write history minutes": 1,
        "reverse verify reports": 2,
        "shadow read outcomes": 1,
        "finished jobs": 1,
    }
    assert not result.failed
    lines = [r.getMessage() for r in caplog.records if r.name == "todo.services.retention"]
    assert len(lines) == 1 and "verify reports=3" in lines[0]


def test_a_shorter_retention_setting_purges_more(seeded: dict[str, Any], settings) -> None:
    settings.DUAL_WRITE_RETENTION_DAYS = 1
    retention.purge_all()
    assert _ids(QUEUE_COLLECTION) == {seeded["queue_unresolved_old"]}
    # Still the newest report of each collection, however old.
    assert _ids(REPORT_COLLECTION) == {seeded["tasks_report_recent"], seeded["users_report_old"]}


def test_cleanup_runs_the_same_purge(seeded: dict[str, Any], capsys) -> None:
    call_command("dualwrite", "cleanup")
    assert_purged(seeded)
    assert "reverse verify reports=2" in capsys.readouterr().out


def test_one_failing_purger_does_not_stop_the_others(ops_db: DatabaseManager, caplog) -> None:
    old = _queue_record("RESOLVED", OLD)

    def broken(cutoff: dt.datetime) -> int:
        raise RuntimeError("store down")

    purgers = [retention.Purger("broken", broken), *retention.PURGERS]
    with caplog.at_level(logging.INFO, logger="todo.services.retention"):
        result = retention.purge_all(purgers=purgers)

    assert result.failed == ["broken"] and result.counts["resolved retry records"] == 1
    assert old not in _ids(QUEUE_COLLECTION)
    assert any(r.exc_info and "broken" in r.getMessage() for r in caplog.records)


def _wait_for(condition: Callable[[], bool], deadline: float = 15.0) -> None:
    stop_at = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < stop_at, "timed out"
        time.sleep(0.02)


@contextmanager
def _running(worker: BackgroundWorker) -> Iterator[threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop, 0.01), daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(10)
        assert not thread.is_alive()


def test_the_worker_purges_on_its_own_every_interval(seeded: dict[str, Any], settings) -> None:
    settings.DUAL_WRITE_PURGE_INTERVAL_SECONDS = 0.05
    worker = BackgroundWorker()
    with _running(worker):
        # Finished jobs are the last purger: once the old one is gone, the purge is done.
        _wait_for(lambda: not Job.objects.filter(pk=seeded["job_old"]).exists())
        assert_purged(seeded)
        # Again after the interval: a record that became old meanwhile goes too.
        later = _queue_record("RESOLVED", OLD)
        _wait_for(lambda: later not in _ids(QUEUE_COLLECTION))


def test_a_failing_maintenance_is_logged_and_the_worker_goes_on(ops_db: DatabaseManager, caplog) -> None:
    calls: list[float] = []

    def maintenance() -> None:
        calls.append(time.monotonic())
        raise RuntimeError("maintenance broke")

    worker = BackgroundWorker(maintenance=maintenance, maintenance_every=0.05)
    with caplog.at_level(logging.ERROR, logger="dualwrite.maintenance"):
        with _running(worker) as thread:
            _wait_for(lambda: len(calls) >= 3)
            assert thread.is_alive()
    failures = [r for r in caplog.records if r.name == "dualwrite.maintenance"]
    assert failures and all(r.exc_info is not None for r in failures)


def test_shadow_read_outcomes_are_capped_per_collection(ops_db: DatabaseManager, settings) -> None:
    """A busy collection read in shadow leaves one row per read: the purge keeps the newest ten
    readiness windows of each collection, whatever their age."""
    settings.READINESS_SHADOW_READS = 3
    ShadowRead.objects.bulk_create(
        [ShadowRead(collection="tasks", at=RECENT, fields=[]) for _ in range(45)]
        + [ShadowRead(collection="users", at=RECENT, fields=["name"]) for _ in range(5)]
    )
    newest_tasks = list(
        ShadowRead.objects.filter(collection="tasks").order_by("-id").values_list("id", flat=True)[:30]
    )
    result = retention.purge_all()
    assert result.counts["shadow read outcomes"] == 15
    assert (
        list(ShadowRead.objects.filter(collection="tasks").order_by("-id").values_list("id", flat=True))
        == newest_tasks
    )
    assert ShadowRead.objects.filter(collection="users").count() == 5
