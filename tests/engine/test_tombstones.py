"""A tombstone keeps only what ordering needs: id, generation, version, deletion time and sync
status. The deleted document's column values, `extra` and child rows are gone, and ordering
still works on what is left."""

from __future__ import annotations

import datetime as dt
import importlib
from types import SimpleNamespace
from typing import Any

import pytest
from bson import ObjectId
from django.apps import apps
from django.db import connection

from dualwrite.reconcile import Reconciler
from dualwrite.sink import PostgresSink
from dualwrite.transform import document_to_rows
from dualwrite.verify import Verifier
from tests.engine.helpers import mirror_differences, row
from todo.db.mongo_manager import DatabaseManager
from todo.mappings import get_registry

pytestmark = pytest.mark.django_db(transaction=True)

USER = {
    "google_id": "google-4242",
    "email_id": "ada@example.com",
    "name": "Ada Lovelace",
    "picture": "https://example.com/ada.png",
    "created_at": dt.datetime(2025, 3, 1, tzinfo=dt.UTC),
    "updated_at": dt.datetime(2025, 3, 1, tzinfo=dt.UTC),
    "nickname": "countess",  # undeclared: kept in `extra` while the document lives
}
TASK = {
    "title": "call the doctor",
    "description": "about the results",
    "priority": 1,
    "status": "IN_PROGRESS",
    "isAcknowledged": True,
    "labels": [ObjectId(), ObjectId()],
    "deferredDetails": {"deferredAt": dt.datetime(2025, 3, 2, tzinfo=dt.UTC), "deferredBy": ObjectId()},
    "notes": "private",  # undeclared
}


def _coll(name: str) -> Any:
    return DatabaseManager.get().get_collection(name)


def _child_rows(table: str, parent: str, mongo_id: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{table}" WHERE "{parent}" = %s', [mongo_id])
        return int(cursor.fetchone()[0])


def assert_stripped(collection: str, mongo_id: str, version: int, generation: str | None) -> None:
    """The row is a tombstone holding nothing but ordering state."""
    mapping = get_registry().get(collection)
    held = row(collection, mongo_id)
    assert held is not None
    assert held["source_deleted"] is True
    assert (held["source_version"], held["source_generation"]) == (version, generation)
    assert held["last_sync_at"] is not None
    assert held["sync_status"] == "SYNCED"
    assert {f.column: held[f.column] for f in mapping.fields} == {f.column: f.default for f in mapping.fields}
    assert held[mapping.extra_column] is None
    for child in mapping.children:
        assert _child_rows(child.table, child.parent_column, mongo_id) == 0


def _verify_equal(collection: str) -> None:
    report = Verifier(source=_coll).run(get_registry().get(collection))
    assert report.equal, report.as_dict()


@pytest.mark.parametrize(("collection", "data"), [("users", USER), ("tasks", TASK)])
def test_a_delete_leaves_no_personal_value_and_ordering_still_holds(
    dual_write: Any, collection: str, data: dict[str, Any]
) -> None:
    mongo_id = str(ObjectId())
    assert dual_write.create_document(collection_name=collection, data=dict(data), mongo_id=mongo_id)
    assert dual_write.update_document(collection_name=collection, mongo_id=mongo_id, data={"touched": 1})
    live = row(collection, mongo_id)
    assert live is not None and live["extra"] is not None  # the undeclared key was stored
    late = _coll(collection).find_one({"_id": ObjectId(mongo_id)})  # a write still in flight
    generation, version = live["source_generation"], live["source_version"]

    assert dual_write.delete_document(collection_name=collection, mongo_id=mongo_id)

    assert_stripped(collection, mongo_id, version + 1, generation)
    _verify_equal(collection)

    # The late, older write of the same life arrives after the delete: refused, nothing returns.
    mapping = get_registry().get(collection)
    assert PostgresSink().upsert(mapping, [document_to_rows(mapping, late)]) == set()
    assert dual_write.mirror_document(collection, mongo_id, "update", late) is True
    assert_stripped(collection, mongo_id, version + 1, generation)
    assert mirror_differences(collection, [mongo_id]) == {}

    # A re-create is a new life (new generation): it replaces the tombstone.
    assert dual_write.create_document(collection_name=collection, data=dict(data), mongo_id=mongo_id)
    again = row(collection, mongo_id)
    assert again is not None and again["source_deleted"] is False
    assert again["source_generation"] not in (None, generation)
    assert mirror_differences(collection, [mongo_id]) == {}
    _verify_equal(collection)


def test_a_reconciled_delete_strips_the_row_too(dual_write: Any) -> None:
    """`bury`: the document vanished from MongoDB without a mirrored delete."""
    user_id = str(ObjectId())
    assert dual_write.create_document(collection_name="users", data=dict(USER), mongo_id=user_id)
    live = row("users", user_id)
    assert live is not None
    _coll("users").delete_one({"_id": ObjectId(user_id)})

    Reconciler(PostgresSink(), _coll).reconcile(get_registry().get("users"), user_id)

    assert_stripped("users", user_id, live["source_version"], live["source_generation"])
    _verify_equal("users")


def test_the_migration_strips_tombstones_written_before(dual_write: Any) -> None:
    task_id = str(ObjectId())
    assert dual_write.create_document(collection_name="tasks", data=dict(TASK), mongo_id=task_id)
    live = row("tasks", task_id)
    assert live is not None
    # A tombstone as the old code left it: columns and extra kept.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE postgres_tasks SET source_deleted = true, source_version = source_version + 1"
            " WHERE mongo_id = %s",
            [task_id],
        )
    _coll("tasks").delete_one({"_id": ObjectId(task_id)})
    assert row("tasks", task_id)["title"] == TASK["title"]

    migration = importlib.import_module("todo.migrations.0005_strip_tombstones")
    migration.strip_tombstones(apps, SimpleNamespace(connection=connection))

    assert_stripped("tasks", task_id, live["source_version"] + 1, live["source_generation"])
    _verify_equal("tasks")
