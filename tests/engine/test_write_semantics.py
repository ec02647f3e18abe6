"""Idempotency, partial updates, version guard, tombstones, mirroring off, misuse."""

from __future__ import annotations

import pytest
from bson import ObjectId

from dualwrite.errors import (
    InvalidDocumentError,
    InvalidMongoIdError,
    InvalidOperationError,
    MappingError,
    UnknownCollectionError,
)
from dualwrite.sink import PostgresSink
from dualwrite.transform import document_to_rows
from tests.engine.helpers import mirror_differences, row
from todo.mappings import get_registry
from todo.models.postgres import PostgresTask, PostgresTaskLabel

pytestmark = pytest.mark.django_db(transaction=True)


def _task(title: str = "t", **fields: object) -> dict[str, object]:
    return {"title": title, "labels": [ObjectId(), ObjectId()], "priority": 2, **fields}


def test_create_twice_gives_the_same_rows(dual_write) -> None:
    task_id = str(ObjectId())
    data = _task()
    assert dual_write.create_document(collection_name="tasks", data=data, mongo_id=task_id)
    first = row("tasks", task_id)
    assert dual_write.create_document(collection_name="tasks", data=data, mongo_id=task_id)
    assert row("tasks", task_id) | {"last_sync_at": None} == first | {"last_sync_at": None}
    assert PostgresTaskLabel.objects.filter(task_id=task_id).count() == 2
    assert mirror_differences("tasks", [task_id]) == {}


def test_update_twice_and_delete_twice_are_harmless(dual_write) -> None:
    task_id = str(ObjectId())
    dual_write.create_document(collection_name="tasks", data=_task(), mongo_id=task_id)
    for _ in range(2):
        assert dual_write.update_document(collection_name="tasks", mongo_id=task_id, data={"status": "DONE"})
    assert mirror_differences("tasks", [task_id]) == {}
    for _ in range(2):
        assert dual_write.delete_document(collection_name="tasks", mongo_id=task_id)
    assert row("tasks", task_id)["source_deleted"] is True
    assert PostgresTaskLabel.objects.filter(task_id=task_id).count() == 0


def test_delete_of_a_missing_document_succeeds(dual_write) -> None:
    assert dual_write.delete_document(collection_name="tasks", mongo_id=str(ObjectId())) is True


def test_update_of_a_missing_row_creates_it(dual_write, mongo_db) -> None:
    task_id = ObjectId()
    mongo_db.get_collection("tasks").insert_one({"_id": task_id, "title": "made elsewhere", "_v": 4})
    assert row("tasks", str(task_id)) is None
    assert dual_write.update_document(collection_name="tasks", mongo_id=str(task_id), data={"priority": 1})
    assert row("tasks", str(task_id))["title"] == "made elsewhere"
    assert mirror_differences("tasks", [str(task_id)]) == {}


def test_partial_update_never_overwrites_the_full_row(dual_write) -> None:
    task_id = str(ObjectId())
    dual_write.create_document(
        collection_name="tasks", data=_task("full", description="keep me"), mongo_id=task_id
    )
    assert dual_write.update_document(
        collection_name="tasks", mongo_id=task_id, data={"isAcknowledged": True}
    )
    kept = row("tasks", task_id)
    assert (kept["title"], kept["description"], kept["is_acknowledged"]) == ("full", "keep me", True)
    assert PostgresTaskLabel.objects.filter(task_id=task_id).count() == 2


def test_mirror_of_a_partial_document_rereads_mongodb(dual_write, mongo_db) -> None:
    task_id = ObjectId()
    tasks = mongo_db.get_collection("tasks")
    tasks.insert_one({"_id": task_id, "title": "stored", "description": "all fields", "_v": 1})
    dual_write.mirror_document("tasks", str(task_id), "create")
    tasks.update_one({"_id": task_id}, {"$set": {"title": "renamed"}, "$inc": {"_v": 1}})
    # The caller passes only the fields it changed: the engine must not write them as the row.
    assert dual_write.mirror_document("tasks", str(task_id), "update", {"_id": task_id, "title": "renamed"})
    assert row("tasks", str(task_id))["description"] == "all fields"
    assert mirror_differences("tasks", [str(task_id)]) == {}


def test_older_version_never_replaces_a_newer_row(dual_write, mongo_db) -> None:
    mapping = get_registry().get("tasks")
    task_id = ObjectId()
    sink = PostgresSink()
    newer = document_to_rows(mapping, {"_id": task_id, "_v": 5, "title": "v5", "labels": [ObjectId()]})
    older = document_to_rows(mapping, {"_id": task_id, "_v": 4, "title": "v4", "labels": []})
    assert sink.upsert(mapping, [newer]) == {str(task_id)}
    assert sink.upsert(mapping, [older]) == set()
    assert row("tasks", str(task_id))["title"] == "v5"
    assert PostgresTaskLabel.objects.filter(task_id=str(task_id)).count() == 1


def test_tombstone_stops_a_late_update_from_resurrecting_the_row(dual_write, mongo_db) -> None:
    task_id = str(ObjectId())
    dual_write.create_document(collection_name="tasks", data=_task("alive"), mongo_id=task_id)
    late = mongo_db.get_collection("tasks").find_one({"_id": ObjectId(task_id)})  # the v1 after-image
    dual_write.delete_document(collection_name="tasks", mongo_id=task_id)
    # A mirror write of the old after-image arrives after the delete (any version).
    mapping = get_registry().get("tasks")
    for version in (1, 99):
        PostgresSink().upsert(mapping, [document_to_rows(mapping, {**late, "_v": version})])
    tombstone = row("tasks", task_id)
    assert tombstone["source_deleted"] is True
    assert PostgresTaskLabel.objects.filter(task_id=task_id).count() == 0


def test_mirroring_off_writes_mongodb_only_and_counts_skips(dual_write, mongo_db, settings) -> None:
    from todo.services.dual_write_service import DualWriteService

    settings.DUAL_WRITE_ENABLED = False
    service = DualWriteService()
    before = service.get_sync_metrics()["totals"]["skipped"]
    task_id = str(ObjectId())
    assert service.create_document(collection_name="tasks", data=_task(), mongo_id=task_id) is False
    assert mongo_db.get_collection("tasks").find_one({"_id": ObjectId(task_id)})["title"] == "t"
    assert row("tasks", task_id) is None
    assert service.get_sync_metrics()["totals"]["skipped"] == before + 1
    assert service.get_sync_failures() == []


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (
            lambda s: s.create_document(collection_name="todos", data={}, mongo_id=str(ObjectId())),
            UnknownCollectionError,
        ),
        (
            lambda s: s.update_document(collection_name="tasks", mongo_id="123", data={"title": "x"}),
            InvalidMongoIdError,
        ),
        (lambda s: s.delete_document(collection_name="tasks", mongo_id="zz" * 12), InvalidMongoIdError),
        (
            lambda s: s.create_document(collection_name="tasks", data=["x"], mongo_id=str(ObjectId())),
            InvalidDocumentError,
        ),
        (
            lambda s: s.update_document(collection_name="tasks", mongo_id=str(ObjectId()), data={"$set": {}}),
            InvalidDocumentError,
        ),
        (
            lambda s: s.create_document(collection_name="tasks", data={"title": 5}, mongo_id=str(ObjectId())),
            MappingError,
        ),
        (
            lambda s: s.update_document(
                collection_name="tasks", mongo_id=str(ObjectId()), data={"status": "LOST"}
            ),
            MappingError,
        ),
        (
            lambda s: s.batch_operations(
                [{"collection_name": "tasks", "mongo_id": str(ObjectId()), "operation": "upsert"}]
            ),
            InvalidOperationError,
        ),
    ],
)
def test_misuse_raises_a_typed_error_and_changes_nothing(dual_write, mongo_db, call, error) -> None:
    with pytest.raises(error):
        call(dual_write)
    assert mongo_db.get_collection("tasks").count_documents({}) == 0
    assert PostgresTask.objects.count() == 0
    assert dual_write.get_sync_failures() == []


def test_bad_operation_in_a_batch_stops_the_whole_batch_before_any_write(dual_write, mongo_db) -> None:
    good = {"collection_name": "tasks", "data": _task(), "mongo_id": str(ObjectId()), "operation": "create"}
    bad = {"collection_name": "tasks", "data": _task(), "mongo_id": "nope", "operation": "create"}
    with pytest.raises(InvalidOperationError, match="operation 1"):
        dual_write.batch_operations([good, bad])
    assert mongo_db.get_collection("tasks").count_documents({}) == 0
