"""Honest failure accounting: attempts accumulate per document, a document that keeps failing is
FAILED and alerted once, a later successful mirror resolves its record, and status never says
SYNCED while Postgres lacks MongoDB's current state."""

from __future__ import annotations

import pytest
from bson import ObjectId

from dualwrite.engine import BREAKER
from tests.engine import alert_sink
from tests.engine.helpers import mirror_differences
from todo.models.postgres import PostgresUser
from todo.services.dual_write_service import DualWriteService

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_document_that_keeps_failing_is_failed_and_alerted_once_then_resolved_by_a_later_write(
    dual_write, settings
) -> None:
    settings.DUAL_WRITE_RETRY_ATTEMPTS = 3
    settings.DUAL_WRITE_ALERT_HOOK = "tests.engine.alert_sink.record"
    alert_sink.EVENTS.clear()
    service = DualWriteService()
    stray = PostgresUser.objects.create(
        mongo_id=str(ObjectId()), google_id="held"
    )  # makes the user unmirrorable
    user_id = str(ObjectId())

    assert (
        service.create_document(collection_name="users", data={"google_id": "held"}, mongo_id=user_id)
        is False
    )
    for n in range(4):  # every live write fails again; none may reset the count
        assert (
            service.update_document(collection_name="users", mongo_id=user_id, data={"name": f"n{n}"})
            is False
        )

    [failure] = service.get_sync_failures()
    assert (failure["status"], failure["attempts"]) == ("FAILED", 5)
    assert [(e["mongo_id"], e["status"]) for e in alert_sink.EVENTS] == [(user_id, "FAILED")]  # once
    assert service.get_sync_status("users", user_id) == "FAILED"

    stray.delete()  # the cause is gone; the next write of the document mirrors it
    assert service.update_document(collection_name="users", mongo_id=user_id, data={"name": "fine"}) is True

    assert service.get_sync_failures() == []
    assert service.get_sync_status("users", user_id) == "SYNCED"
    assert service.get_sync_metrics()["backlog"]["failed"] == 0
    assert mirror_differences("users", [user_id]) == {}


def test_an_outage_does_not_use_up_a_documents_attempts(dual_write, settings) -> None:
    settings.DUAL_WRITE_RETRY_ATTEMPTS = 2
    service = DualWriteService()
    task_id = str(ObjectId())
    service.create_document(collection_name="tasks", data={"title": "a"}, mongo_id=task_id)
    BREAKER.open(60)  # Postgres failed moments ago: writes go straight to the queue
    try:
        for n in range(5):
            assert (
                service.update_document(collection_name="tasks", mongo_id=task_id, data={"title": f"{n}"})
                is False
            )
        [record] = service.get_sync_failures()
        assert (record["status"], record["attempts"]) == ("PENDING", 0)
        # A row whose newer change is queued does not read SYNCED.
        assert service.get_sync_status("tasks", task_id) == "PENDING"
    finally:
        BREAKER.close()
    assert service.retry_failed_sync("tasks", task_id) is True
    assert service.get_sync_status("tasks", task_id) == "SYNCED"
    assert mirror_differences("tasks", [task_id]) == {}


def test_a_failed_record_mended_by_a_later_write_is_resolved_by_the_worker(dual_write, settings) -> None:
    from todo.wiring import build_worker

    settings.DUAL_WRITE_RETRY_ATTEMPTS = 1
    service = DualWriteService()
    stray = PostgresUser.objects.create(mongo_id=str(ObjectId()), google_id="g")
    user_id = str(ObjectId())
    service.create_document(collection_name="users", data={"google_id": "g"}, mongo_id=user_id)
    stray.delete()
    # The document is mirrored by some other path (here a repair of that one document) ...
    service.engine.reconciler.reconcile(service.engine.registry.get("users"), user_id)
    queue = service.engine.queue
    assert queue.backlog()["failed"] == 1

    # ... and the worker's re-check resolves the FAILED record, without anyone listing failures.
    assert build_worker(service.engine).run_once(sweep=True).mended == 1
    assert queue.backlog()["failed"] == 0
