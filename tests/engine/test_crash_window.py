"""A writer that dies between the MongoDB write and the Postgres write (or the retry-queue record)
leaves a durable trace the worker finds without a full verify; and writes made while mirroring was
off are mirrored once it is on again."""

from __future__ import annotations

import time

import pytest
from bson import ObjectId

from dualwrite.sink import PostgresSink
from dualwrite.worker import RetryWorker
from tests.engine.helpers import mirror_differences, row
from todo.db.mongo_manager import DatabaseManager
from todo.services.dual_write_service import DualWriteService
from todo.wiring import build_engine, build_status

pytestmark = pytest.mark.django_db(transaction=True)
GRACE = 0.5  # how long a worker waits before it takes a writer for dead (seconds)


class WriterDied(BaseException):
    """The process ends here (a kill, an interpreter exit): nothing below it runs, no handler
    that catches Exception sees it."""


class DyingSink(PostgresSink):
    def upsert(self, *args, **kwargs):
        raise WriterDied

    def tombstone(self, *args, **kwargs):
        raise WriterDied

    def lock(self, *args, **kwargs):
        raise WriterDied


def _dying_service() -> DualWriteService:
    engine = build_engine()
    engine.sink = DyingSink()
    engine.intent_grace = GRACE
    return DualWriteService(engine)


def _fresh_worker(*, grace: float = 0.0) -> RetryWorker:
    engine = build_engine()
    engine.intent_grace = grace
    return RetryWorker(engine, lease_seconds=5, sweep_grace=grace)


def _drain(worker: RetryWorker) -> None:
    for _ in range(10):
        report = worker.run_once(sweep=True)
        if report.processed == 0 and report.swept == 0:
            return
    pytest.fail("the worker did not drain")


def test_writes_of_a_writer_that_died_between_the_two_writes_are_found_and_mirrored(dual_write) -> None:
    updated, deleted = str(ObjectId()), str(ObjectId())
    for task_id in (updated, deleted):
        dual_write.create_document(collection_name="tasks", data={"title": "before"}, mongo_id=task_id)
    created = str(ObjectId())
    dying = _dying_service()

    with pytest.raises(WriterDied):
        dying.create_document(collection_name="tasks", data={"title": "born"}, mongo_id=created)
    with pytest.raises(WriterDied):
        dying.update_document(collection_name="tasks", mongo_id=updated, data={"title": "after"})
    with pytest.raises(WriterDied):
        dying.delete_document(collection_name="tasks", mongo_id=deleted)

    ids = [created, updated, deleted]
    assert set(mirror_differences("tasks", ids)) == set(ids)  # MongoDB moved on, Postgres did not
    assert dual_write.get_sync_status("tasks", updated) == "PENDING"  # never SYNCED while it differs
    assert build_status().unmirrored()["tasks"] == 2  # the create and the update
    # Within the grace period a worker takes the writer for alive and leaves its writes alone ...
    early = _fresh_worker(grace=60.0).run_once(sweep=True)
    assert (early.swept, early.processed) == (0, 0)
    # ... past it, a worker mirrors all three, without a verify.
    time.sleep(GRACE)
    _drain(_fresh_worker())

    assert mirror_differences("tasks", ids) == {}
    assert row("tasks", deleted)["source_deleted"] is True
    assert row("tasks", updated)["title"] == "after"
    assert dual_write.get_sync_failures() == []
    assert build_status().unmirrored()["tasks"] == 0
    assert [dual_write.get_sync_status("tasks", i) for i in ids] == ["SYNCED"] * 3


def test_a_mirrored_write_leaves_no_mark_and_no_intent(dual_write) -> None:
    task_id = str(ObjectId())
    dual_write.create_document(collection_name="tasks", data={"title": "a"}, mongo_id=task_id)
    dual_write.update_document(collection_name="tasks", mongo_id=task_id, data={"title": "b"})
    stored = DatabaseManager.get().get_collection("tasks").find_one({"_id": ObjectId(task_id)})
    assert "_dw" not in stored
    dual_write.delete_document(collection_name="tasks", mongo_id=task_id)
    queue = DatabaseManager.get().get_collection("dualwrite_retry_queue")
    assert queue.count_documents({}) == 0


def test_mirroring_switched_off_then_on_leaves_no_gap(dual_write, settings) -> None:
    kept, removed = str(ObjectId()), str(ObjectId())
    for task_id in (kept, removed):
        dual_write.create_document(collection_name="tasks", data={"title": "mirrored"}, mongo_id=task_id)
    settings.DUAL_WRITE_ENABLED = False
    off = DualWriteService()
    new = str(ObjectId())
    assert off.create_document(collection_name="tasks", data={"title": "while off"}, mongo_id=new) is False
    assert off.update_document(collection_name="tasks", mongo_id=kept, data={"title": "changed off"}) is False
    assert off.delete_document(collection_name="tasks", mongo_id=removed) is False
    assert off.engine.enabled is False
    assert RetryWorker(off.engine).run_once(sweep=True).processed == 0  # an off worker writes nothing

    # The gap is visible: marked documents and the delete's record.
    by_collection = {s.collection: s for s in build_status().collections()}
    assert by_collection["tasks"].unmirrored == 2
    assert by_collection["tasks"].backlog.pending == 1
    assert set(mirror_differences("tasks", [kept, removed, new])) == {kept, removed, new}

    settings.DUAL_WRITE_ENABLED = True
    _drain(_fresh_worker())

    assert mirror_differences("tasks", [kept, removed, new]) == {}
    assert build_status().unmirrored()["tasks"] == 0
    assert dual_write.get_sync_failures() == []
