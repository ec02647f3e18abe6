"""Verify finds each kind of drift by comparing canonical forms, and --repair mends it from MongoDB."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId
from django.db import connection

from dualwrite.verify import DIFFERENT, EXTRA, INVALID, MISSING, NEEDS_BACKFILL
from todo.mappings import get_registry
from todo.wiring import build_backfiller, build_reports, build_verifier

from .conftest import LABELS, insert_tasks

pytestmark = pytest.mark.django_db

TASKS = get_registry().get("tasks")


def _sql(sql: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def _delete_row(mongo_id: str) -> None:
    """A lost row: the task and its child rows vanish from Postgres."""
    _sql("DELETE FROM postgres_task_labels WHERE task_mongo_id = %s", [mongo_id])
    _sql("DELETE FROM postgres_deferred_details WHERE task_mongo_id = %s", [mongo_id])
    _sql("DELETE FROM postgres_tasks WHERE mongo_id = %s", [mongo_id])


@pytest.fixture
def mirrored(tasks: Any) -> list[str]:
    ids = [str(i) for i in insert_tasks(tasks, 400, seed=3)]
    build_backfiller(batch_size=150).run(TASKS)
    assert build_verifier().run(TASKS).equal
    return ids


def test_each_kind_of_drift_is_found_with_its_field_names_then_repaired(
    tasks: Any, mirrored: list[str]
) -> None:
    deleted_row, changed_title, changed_labels, tombstoned, version = mirrored[10], mirrored[20], mirrored[30], mirrored[40], mirrored[50]  # fmt: skip
    extra = str(ObjectId())
    _delete_row(deleted_row)
    _sql("UPDATE postgres_tasks SET title = 'tampered' WHERE mongo_id = %s", [changed_title])
    _sql("DELETE FROM postgres_task_labels WHERE task_mongo_id = %s", [changed_labels])
    _sql(
        "INSERT INTO postgres_task_labels (task_mongo_id, label_mongo_id, position) VALUES (%s, %s, 9)",
        [changed_labels, "f" * 24],
    )
    _sql("UPDATE postgres_tasks SET source_deleted = true WHERE mongo_id = %s", [tombstoned])
    _sql("UPDATE postgres_tasks SET source_version = source_version + 10 WHERE mongo_id = %s", [version])
    _sql(
        "INSERT INTO postgres_tasks (mongo_id, source_version, source_deleted, sync_status, priority, status,"
        " is_acknowledged, is_deleted, title) VALUES (%s, 1, false, 'SYNCED', 3, 'TODO', false, false, 'ghost')",
        [extra],
    )

    report = build_verifier().run(TASKS)
    assert not report.equal
    assert report.counts == {MISSING: 2, EXTRA: 1, DIFFERENT: 3, INVALID: 0, NEEDS_BACKFILL: 0}
    found = {d.mongo_id: (d.kind, d.fields) for d in report.samples}
    assert found == {
        deleted_row: (MISSING, ()),
        tombstoned: (MISSING, ()),
        extra: (EXTRA, ()),
        changed_title: (DIFFERENT, ("title",)),
        changed_labels: (DIFFERENT, ("labels",)),
        version: (DIFFERENT, ("_v",)),
    }
    assert report.fields == {"title": 1, "labels": 1, "_v": 1}

    repaired = build_verifier().run(TASKS, repair=True)
    assert repaired.equal, repaired.as_dict()
    assert repaired.found_before_repair == report.counts
    assert repaired.repaired == 6
    assert build_verifier().run(TASKS).equal
    with connection.cursor() as cursor:
        cursor.execute("SELECT source_deleted, title FROM postgres_tasks WHERE mongo_id = %s", [extra])
        # A tombstone, not a hard delete, and it keeps none of the row's values.
        assert cursor.fetchone() == (True, None)
    assert build_reports().latest("tasks")["equal"] is True


def test_verify_limited_by_since_compares_only_newer_documents(tasks: Any, mirrored: list[str]) -> None:
    import datetime as dt

    _delete_row(mirrored[0])  # an old document
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    new_id = ObjectId.from_datetime(future + dt.timedelta(hours=1))
    tasks.insert_one({"_id": new_id, "title": "later", "labels": [LABELS[0]]})
    report = build_verifier().run(TASKS, since=future)
    assert (report.documents, report.counts[MISSING]) == (1, 1)
    assert report.samples[0].mongo_id == str(new_id)


def test_unmappable_document_is_reported_invalid_and_not_repaired(tasks: Any, mirrored: list[str]) -> None:
    bad = ObjectId()
    tasks.insert_one({"_id": bad, "title": 42})
    report = build_verifier().run(TASKS, repair=True)
    assert report.counts[INVALID] == 1 and report.samples[0].fields == ("title",)
    assert not report.equal


def test_repair_uses_the_document_as_it_is_now(tasks: Any, mirrored: list[str]) -> None:
    target = mirrored[5]
    _delete_row(target)
    tasks.update_one({"_id": ObjectId(target)}, {"$set": {"title": "renamed"}, "$inc": {"_v": 1}})
    assert build_verifier().run(TASKS, repair=True).equal
    with connection.cursor() as cursor:
        cursor.execute("SELECT title FROM postgres_tasks WHERE mongo_id = %s", [target])
        assert cursor.fetchone() == ("renamed",)
