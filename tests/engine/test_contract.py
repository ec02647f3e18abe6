"""The code examples of docs/DUAL_WRITE_SYSTEM.md run as written, and Postgres then equals MongoDB."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from bson import ObjectId

from tests.engine.helpers import mirror_differences, row

pytestmark = pytest.mark.django_db(transaction=True)


def test_basic_usage_snippet(dual_write, mongo_db) -> None:
    from todo.services.enhanced_dual_write_service import EnhancedDualWriteService

    # Initialize the service
    dual_write_service = EnhancedDualWriteService()
    user_id = ObjectId()
    user_data = {
        "google_id": "g-1",
        "email_id": "ada@example.com",
        "name": "Ada",
        "created_at": dt.datetime.now(dt.UTC),
    }
    updated_data = {"name": "Ada Lovelace"}

    # Create a document (writes to both MongoDB and Postgres)
    success = dual_write_service.create_document(
        collection_name="users", data=user_data, mongo_id=str(user_id)
    )
    assert success is True
    assert mongo_db.get_collection("users").find_one({"_id": user_id})["name"] == "Ada"
    assert mirror_differences("users", [str(user_id)]) == {}

    # Update a document
    success = dual_write_service.update_document(
        collection_name="users", mongo_id=str(user_id), data=updated_data
    )
    assert success is True
    assert row("users", str(user_id))["name"] == "Ada Lovelace"
    assert mirror_differences("users", [str(user_id)]) == {}

    # Delete a document
    success = dual_write_service.delete_document(collection_name="users", mongo_id=str(user_id))
    assert success is True
    assert mongo_db.get_collection("users").find_one({"_id": user_id}) is None
    assert row("users", str(user_id))["source_deleted"] is True


def test_batch_operations_snippet(dual_write) -> None:
    dual_write_service = dual_write
    user_id, task_id = ObjectId(), ObjectId()
    dual_write_service.create_document(
        collection_name="users", data={"name": "before"}, mongo_id=str(user_id)
    )
    # "Update" updates an existing document (an absent one is refused, see test_write_semantics).
    dual_write_service.create_document(
        collection_name="tasks", data={"title": "draft"}, mongo_id=str(task_id)
    )
    user_data = {"name": "Grace", "email_id": "grace@example.com"}
    task_data = {"title": "Write the report", "priority": 1, "labels": [ObjectId(), ObjectId()]}

    # Perform multiple operations in batch
    operations = [
        {"collection_name": "users", "data": user_data, "mongo_id": str(user_id), "operation": "create"},
        {"collection_name": "tasks", "data": task_data, "mongo_id": str(task_id), "operation": "update"},
    ]

    success = dual_write_service.batch_operations(operations)
    assert success is True
    outcomes = [(r.collection, r.operation, r.status) for r in dual_write_service.last_batch_results]
    assert outcomes == [("users", "create", "SYNCED"), ("tasks", "update", "SYNCED")]
    # "create" of an existing document: MongoDB's stored document stands, and is what is mirrored.
    assert row("users", str(user_id))["name"] == "before"
    assert mirror_differences("users", [str(user_id)]) == {}
    assert mirror_differences("tasks", [str(task_id)]) == {}


def test_monitoring_and_debug_snippets(dual_write, capsys) -> None:
    dual_write_service = dual_write
    user_id = ObjectId()
    dual_write_service.create_document(collection_name="users", data={"name": "Lin"}, mongo_id=str(user_id))

    # Get sync failures
    failures = dual_write_service.get_sync_failures()
    assert failures == []

    # Get comprehensive sync metrics
    metrics = dual_write_service.get_sync_metrics()
    assert metrics["totals"]["succeeded"] >= 1
    assert metrics["by_collection"]["users"]["create"]["attempted"] >= 1
    assert metrics["backlog"]["pending"] == 0
    assert metrics["postgres_write_latency"]["count"] >= 1

    # Check sync status of specific document
    status = dual_write_service.get_sync_status("users", str(user_id))
    assert status == "SYNCED"

    # Enable debug logging
    logging.getLogger("todo.services.dual_write_service").setLevel(logging.DEBUG)

    # Check sync status
    status = dual_write_service.get_sync_status("users", str(user_id))
    print(f"Sync status: {status}")

    # Get recent failures
    failures = dual_write_service.get_sync_failures()
    for failure in failures:
        print(f"Collection: {failure['collection']}, ID: {failure['mongo_id']}")
    assert capsys.readouterr().out == "Sync status: SYNCED\n"
    assert dual_write_service.get_sync_status("users", str(ObjectId())) is None
