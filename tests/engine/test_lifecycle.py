"""An id's whole life: deletes, re-creates and restores are mirrored, a late write of an earlier
life never overwrites a later one, and a write the guard refused is never reported as done."""

from __future__ import annotations

import pytest
from bson import ObjectId
from django.db import connection

from dualwrite.errors import DocumentNotFoundError, InvalidDocumentError, MappingError
from tests.engine.helpers import mirror_differences, row
from todo.db.mongo_manager import DatabaseManager
from todo.mappings import get_registry
from todo.wiring import build_backfiller

pytestmark = pytest.mark.django_db(transaction=True)


def _tasks():
    return DatabaseManager.get().get_collection("tasks")


def _new_task(service, title: str = "first life") -> str:
    task_id = str(ObjectId())
    assert service.create_document(collection_name="tasks", data={"title": title}, mongo_id=task_id)
    return task_id


def test_a_document_created_again_after_a_delete_is_mirrored(dual_write) -> None:
    task_id = _new_task(dual_write)
    for n in range(4):  # the first life reaches version 5, above the second life's 1
        assert dual_write.update_document(collection_name="tasks", mongo_id=task_id, data={"title": f"v{n}"})
    assert dual_write.delete_document(collection_name="tasks", mongo_id=task_id)
    assert row("tasks", task_id)["source_deleted"] is True

    assert dual_write.create_document(
        collection_name="tasks", data={"title": "second life"}, mongo_id=task_id
    )

    assert row("tasks", task_id)["source_deleted"] is False
    assert row("tasks", task_id)["title"] == "second life"
    assert dual_write.get_sync_status("tasks", task_id) == "SYNCED"
    assert mirror_differences("tasks", [task_id]) == {}
    assert dual_write.update_document(
        collection_name="tasks", mongo_id=task_id, data={"title": "then changed"}
    )
    assert row("tasks", task_id)["title"] == "then changed"


def test_a_late_write_of_an_earlier_life_never_overwrites_the_later_life(dual_write) -> None:
    task_id = _new_task(dual_write)
    for n in range(5):
        dual_write.update_document(collection_name="tasks", mongo_id=task_id, data={"title": f"old {n}"})
    late = _tasks().find_one({"_id": ObjectId(task_id)})  # version 6 of life 1, still in flight
    dual_write.delete_document(collection_name="tasks", mongo_id=task_id)
    dual_write.create_document(collection_name="tasks", data={"title": "new life"}, mongo_id=task_id)

    # The late mirror write of life 1 (its version is higher than life 2's) lands now.
    assert dual_write.mirror_document("tasks", task_id, "update", late) is True

    assert row("tasks", task_id)["title"] == "new life"
    assert mirror_differences("tasks", [task_id]) == {}


def test_a_tombstone_wins_over_older_writes_of_its_own_life_only(dual_write) -> None:
    task_id = _new_task(dual_write)
    late = _tasks().find_one({"_id": ObjectId(task_id)})
    dual_write.delete_document(collection_name="tasks", mongo_id=task_id)

    assert dual_write.mirror_document("tasks", task_id, "update", late) is True  # MongoDB: deleted
    assert row("tasks", task_id)["source_deleted"] is True
    assert dual_write.get_sync_status("tasks", task_id) == "SYNCED"


def test_a_restore_from_a_backup_is_mirrored_by_create_and_by_backfill(dual_write) -> None:
    restored_by_create, restored_by_tool = _new_task(dual_write), _new_task(dual_write)
    backups = {}
    for task_id in (restored_by_create, restored_by_tool):
        for n in range(3):
            dual_write.update_document(collection_name="tasks", mongo_id=task_id, data={"title": f"kept {n}"})
        backups[task_id] = _tasks().find_one({"_id": ObjectId(task_id)})  # whole documents, _v included
        dual_write.delete_document(collection_name="tasks", mongo_id=task_id)

    # Restored through the API with the whole backed-up document (its _id and _v included) ...
    assert dual_write.create_document(
        collection_name="tasks", data=backups[restored_by_create], mongo_id=restored_by_create
    )
    # ... and behind the service's back, as mongorestore does (same _v and generation as before).
    _tasks().insert_one(backups[restored_by_tool])
    report = build_backfiller().run(get_registry().get("tasks"), restart=True)

    assert report.reconciled == 1
    assert mirror_differences("tasks", [restored_by_create, restored_by_tool]) == {}
    assert row("tasks", restored_by_tool)["title"] == "kept 2"


def test_a_write_the_guard_refuses_is_settled_against_mongodb_never_reported_done(dual_write) -> None:
    task_id = _new_task(dual_write)
    # Postgres holds something versions cannot order against MongoDB's document: a tombstone of
    # the same generation with a far higher version (as stale engines left behind).
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE postgres_tasks SET source_deleted = true, source_version = 99 WHERE mongo_id = %s",
            [task_id],
        )

    assert (
        dual_write.update_document(collection_name="tasks", mongo_id=task_id, data={"title": "alive"}) is True
    )

    assert row("tasks", task_id)["source_deleted"] is False
    assert row("tasks", task_id)["title"] == "alive"
    assert dual_write.get_sync_status("tasks", task_id) == "SYNCED"
    assert mirror_differences("tasks", [task_id]) == {}


# -- the seed's calls as users make them -------------------------------------------------------
def test_update_accepts_the_whole_document_with_its_own_id(dual_write) -> None:
    task_id = _new_task(dual_write)
    document = _tasks().find_one({"_id": ObjectId(task_id)})  # _id, _v, _gen included
    document["title"] = "edited whole"

    assert dual_write.update_document(collection_name="tasks", mongo_id=task_id, data=document) is True
    assert dual_write.update_document(
        collection_name="tasks", mongo_id=task_id, data={"_id": task_id, "priority": 1}
    )  # the id as a string, too

    stored = _tasks().find_one({"_id": ObjectId(task_id)})
    assert (stored["title"], stored["priority"], stored["_v"]) == ("edited whole", 1, 3)
    assert mirror_differences("tasks", [task_id]) == {}
    assert dual_write.batch_operations(
        [
            {
                "collection_name": "tasks",
                "mongo_id": task_id,
                "operation": "update",
                "data": {**stored, "title": "b"},
            }
        ]
    )
    assert row("tasks", task_id)["title"] == "b"


def test_an_update_with_another_id_is_refused_and_changes_nothing(dual_write) -> None:
    task_id = _new_task(dual_write, "untouched")
    before = _tasks().find_one({"_id": ObjectId(task_id)})

    with pytest.raises(InvalidDocumentError, match="'_id'"):
        dual_write.update_document(
            collection_name="tasks", mongo_id=task_id, data={"_id": ObjectId(), "title": "hijack"}
        )

    assert _tasks().find_one({"_id": ObjectId(task_id)}) == before
    assert row("tasks", task_id)["title"] == "untouched"


def test_an_update_of_an_absent_document_writes_nothing_unless_upsert(dual_write) -> None:
    task_id = str(ObjectId())

    with pytest.raises(DocumentNotFoundError):
        dual_write.update_document(collection_name="tasks", mongo_id=task_id, data={"title": "ghost"})
    assert _tasks().find_one({"_id": ObjectId(task_id)}) is None
    assert row("tasks", task_id) is None
    results = dual_write.batch_operations_detailed(
        [{"collection_name": "tasks", "mongo_id": task_id, "operation": "update", "data": {"title": "ghost"}}]
    )
    assert [r.status for r in results] == ["REJECTED"]
    assert _tasks().find_one({"_id": ObjectId(task_id)}) is None

    assert dual_write.update_document(
        collection_name="tasks", mongo_id=task_id, data={"title": "made"}, upsert=True
    )
    assert row("tasks", task_id)["title"] == "made"
    assert mirror_differences("tasks", [task_id]) == {}


def test_an_update_racing_a_delete_never_resurrects_a_partial_document(dual_write, monkeypatch) -> None:
    task_id = _new_task(dual_write, "whole")
    engine = dual_write.engine
    check = engine._check_update

    def delete_meanwhile(*args, **kwargs):
        fields = check(*args, **kwargs)
        _tasks().delete_one({"_id": ObjectId(task_id)})  # another writer's delete lands here
        return fields

    monkeypatch.setattr(engine, "_check_update", delete_meanwhile)
    with pytest.raises(DocumentNotFoundError):
        dual_write.update_document(collection_name="tasks", mongo_id=task_id, data={"priority": 1})

    assert _tasks().find_one({"_id": ObjectId(task_id)}) is None


def test_an_update_reads_nothing_from_mongodb_before_writing(dual_write, monkeypatch) -> None:
    """The update is validated from its own fields and mirrored from the document MongoDB's write
    returns: the only MongoDB calls are the write and the clearing of its pending mark."""
    task_id = _new_task(dual_write, "read once")
    engine = dual_write.engine
    calls: list[str] = []
    source = engine.source

    class Recording:
        def __init__(self, collection):
            self._collection = collection

        def __getattr__(self, name):
            calls.append(name)
            return getattr(self._collection, name)

    monkeypatch.setattr(engine, "source", lambda name: Recording(source(name)))
    assert dual_write.update_document(collection_name="tasks", mongo_id=task_id, data={"priority": 2})
    assert calls == ["find_one_and_update", "update_many"]
    assert row("tasks", task_id)["priority"] == 2
    assert mirror_differences("tasks", [task_id]) == {}

    calls.clear()  # a value the mirror cannot hold is still refused before anything is written
    with pytest.raises(MappingError):
        dual_write.update_document(collection_name="tasks", mongo_id=task_id, data={"priority": "high"})
    assert calls == []
    assert _tasks().find_one({"_id": ObjectId(task_id)})["priority"] == 2


def test_an_update_of_a_document_the_mirror_cannot_hold_is_kept_and_recorded(dual_write) -> None:
    """A legacy document with a value the mapping refuses (written behind the engine's back):
    an update of another field is checked alone, so MongoDB takes it, and the mirror write that
    fails on the old value is recorded for an operator, not lost."""
    task_id = ObjectId()
    _tasks().insert_one({"_id": task_id, "title": "legacy", "priority": "urgent"})
    assert (
        dual_write.update_document(collection_name="tasks", mongo_id=str(task_id), data={"title": "new"})
        is False
    )
    assert _tasks().find_one({"_id": task_id})["title"] == "new"
    [failure] = [f for f in dual_write.get_sync_failures() if f["mongo_id"] == str(task_id)]
    assert "MappingError" in failure["error"] and "priority" in failure["error"]
