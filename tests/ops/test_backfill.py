"""Backfill copies MongoDB into Postgres through the mapping and the version guard, resumably."""

from __future__ import annotations

import time
from typing import Any

import pytest
from bson import ObjectId
from django.db import connection

from dualwrite.bulk import BulkLoader
from dualwrite.checkpoint import FINISHED, RUNNING, Shard
from todo.mappings import get_registry
from todo.wiring import build_backfiller, build_checkpoints, build_verifier

from .conftest import insert_tasks

pytestmark = pytest.mark.django_db

TASKS = get_registry().get("tasks")


def _count(table: str, where: str = "") -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} {where}")
        return int(cursor.fetchone()[0])


def test_backfill_of_thousands_equals_mongodb(tasks: Any) -> None:
    insert_tasks(tasks, 3000)
    report = build_backfiller(batch_size=700).run(TASKS)
    assert (report.processed, report.written, report.rejected, report.finished) == (3000, 3000, 0, True)
    assert _count("postgres_tasks") == 3000
    verdict = build_verifier().run(TASKS)
    assert verdict.equal, verdict.as_dict()
    assert (verdict.documents, verdict.rows) == (3000, 3000)


class Killed(Exception):
    pass


def test_killed_backfill_resumes_after_its_last_batch_without_duplicates(
    tasks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    insert_tasks(tasks, 2000)
    real_stream = BulkLoader.write_stream
    batches_before_kill = 3

    def dying_stream(self: BulkLoader, mapping: Any, batches: Any, **kwargs: Any) -> Any:
        for number, batch in enumerate(real_stream(self, mapping, batches, **kwargs), start=1):
            yield batch
            if number == batches_before_kill:
                raise Killed

    monkeypatch.setattr(BulkLoader, "write_stream", dying_stream)
    with pytest.raises(Killed):
        build_backfiller(batch_size=300).run(TASKS)
    checkpoint = build_checkpoints().load("tasks", Shard())
    assert checkpoint is not None and checkpoint.status == RUNNING
    assert checkpoint.processed == 900
    assert _count("postgres_tasks") == 900

    monkeypatch.setattr(BulkLoader, "write_stream", real_stream)
    report = build_backfiller(batch_size=300).run(TASKS)
    assert report.resumed_after == str(checkpoint.last_id)
    assert (report.processed, report.written) == (2000, 2000)  # 900 before the kill + 1100 now
    assert _count("postgres_tasks") == 2000
    assert _count("postgres_task_labels") == sum(len(d["labels"]) for d in tasks.find())
    assert build_checkpoints().load("tasks", Shard()).status == FINISHED
    assert build_verifier().run(TASKS).equal


def test_backfill_never_replaces_a_newer_row_or_a_tombstone(ops_db: Any, tasks: Any) -> None:
    from todo.services.dual_write_service import DualWriteService

    service = DualWriteService()
    newer, deleted = str(ObjectId()), str(ObjectId())
    service.create_document("tasks", {"title": "v1"}, newer)
    service.create_document("tasks", {"title": "doomed"}, deleted)
    stale = tasks.find_one({"_id": ObjectId(newer)})
    service.update_document("tasks", newer, {"title": "v2"})
    service.delete_document("tasks", deleted)
    # A stale copy of each (as a backfill reading an old snapshot would see them).
    report = build_backfiller().load(TASKS, [stale, {**stale, "_id": ObjectId(deleted), "title": "doomed"}])
    # The first is a later state of the same life (kept); the second carries another life's
    # generation, so MongoDB is asked under the row lock: the document is gone, the tombstone stays.
    assert (report.written, report.kept, report.reconciled) == (0, 1, 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT title, source_version FROM postgres_tasks WHERE mongo_id = %s", [newer])
        assert cursor.fetchone() == ("v2", 2)
        cursor.execute("SELECT source_deleted FROM postgres_tasks WHERE mongo_id = %s", [deleted])
        assert cursor.fetchone() == (True,)


def test_shards_split_the_id_range_and_together_cover_everything(tasks: Any) -> None:
    ids = insert_tasks(tasks, 900, spread=True)
    backfiller = build_backfiller(batch_size=100)
    processed = [backfiller.run(TASKS, shard=Shard(i, 3)).processed for i in range(3)]
    assert sum(processed) == 900 and all(n > 0 for n in processed)
    assert _count("postgres_tasks") == 900
    assert {str(i) for i in ids} == {r for (r,) in _rows("SELECT mongo_id FROM postgres_tasks")}


def test_unmappable_document_is_recorded_as_failed_and_the_rest_goes_on(tasks: Any) -> None:
    insert_tasks(tasks, 50)
    bad = ObjectId()
    tasks.insert_one({"_id": bad, "title": "x", "status": "ARCHIVED"})
    report = build_backfiller().run(TASKS)
    assert (report.processed, report.written, report.rejected) == (51, 50, 1)
    from todo.wiring import build_queue

    record = build_queue().find_unresolved("tasks", str(bad))
    assert record is not None and record.status == "FAILED" and "status" in record.error


def test_legacy_string_ids_are_backfilled(tasks: Any) -> None:
    legacy = "ab" * 12
    tasks.insert_one({"_id": legacy, "title": "old", "_v": 1})
    insert_tasks(tasks, 10)
    report = build_backfiller().run(TASKS)
    assert report.written == 11
    assert _rows("SELECT title FROM postgres_tasks WHERE mongo_id = %s", [legacy]) == [("old",)]
    assert build_verifier().run(TASKS).equal


def _rows(sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return list(cursor.fetchall())


def _wait_for_a_lock_wait(timeout: float = 10.0) -> None:
    """Return once some session of this database waits for a lock (fail after `timeout`)."""
    deadline = time.monotonic() + timeout
    while _rows(
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE NOT l.granted AND a.datname = current_database()"
    ) == [(0,)]:
        assert time.monotonic() < deadline, "no session came to wait for a lock"
        time.sleep(0.01)


@pytest.mark.django_db(transaction=True)
def test_backfill_racing_a_live_write_of_the_same_document_leaves_no_stale_child_rows(ops_db: Any) -> None:
    """A live writer inserts v4 with label X and holds its transaction; backfill writes v5 without
    X and waits for that row lock. Its child rows are rewritten in a statement that starts after the
    lock is granted, so it sees and removes X."""
    import threading

    from django.db import connections, transaction

    from dualwrite.sink import PostgresSink
    from dualwrite.transform import document_to_rows

    task_id, label_x, label_y = ObjectId(), ObjectId(), ObjectId()
    live = document_to_rows(TASKS, {"_id": task_id, "_v": 4, "title": "live", "labels": [label_x]})
    newer = {"_id": task_id, "_v": 5, "title": "newer", "labels": [label_y]}
    holding, release = threading.Event(), threading.Event()

    def live_writer() -> None:
        try:
            with transaction.atomic():
                PostgresSink().upsert(TASKS, [live])
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    outcome: dict[str, Any] = {}

    def backfill() -> None:
        try:
            outcome["report"] = build_backfiller().load(TASKS, [newer])
        finally:
            connections.close_all()

    writer = threading.Thread(target=live_writer)
    writer.start()
    assert holding.wait(10)
    filler = threading.Thread(target=backfill)
    filler.start()
    _wait_for_a_lock_wait()  # the backfill now waits for the live writer's row lock
    release.set()
    writer.join(10)
    filler.join(10)
    assert outcome["report"].written == 1
    assert _rows("SELECT title, source_version FROM postgres_tasks WHERE mongo_id = %s", [str(task_id)]) == [
        ("newer", 5)
    ]
    labels = _rows("SELECT label_mongo_id FROM postgres_task_labels WHERE task_mongo_id = %s", [str(task_id)])
    assert labels == [(str(label_y),)]


def test_document_postgres_refuses_is_recorded_and_the_rest_of_its_batch_is_written(ops_db: Any) -> None:
    users = ops_db.get_collection("users")
    documents = [{"_id": ObjectId(), "_v": 1, "google_id": f"g{n}", "name": f"user {n}"} for n in range(20)]
    users.insert_many(documents)
    # A stale live row (its document is gone from MongoDB) still holds the google account of user 3.
    stale = str(ObjectId())
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO postgres_users (mongo_id, source_version, source_deleted, sync_status, google_id)"
            " VALUES (%s, 1, false, 'SYNCED', 'g3')",
            [stale],
        )
    report = build_backfiller(batch_size=50).run(get_registry().get("users"))
    assert (report.processed, report.written, report.rejected, report.duplicates) == (20, 19, 1, 1)
    assert _count("postgres_users") == 20
    from todo.wiring import build_queue

    refused = str(documents[3]["_id"])
    record = build_queue().find_unresolved("users", refused)
    # A duplicate of a live row by a domain-unique key: a permanent rejection naming the holder.
    assert record is not None and record.status == "FAILED" and record.error_kind == "permanent"
    assert f"duplicate of {stale} (same google_id)" in record.error
    assert "user 3" not in record.error and "g3" not in record.error
