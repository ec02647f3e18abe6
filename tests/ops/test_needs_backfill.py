"""A column added to a mirror table after rows were written: those rows hold the field's value in
`extra` (or not at all), read back as the right document, and yet need a backfill. Verify reports
them as `needs_backfill` naming the field; repair (or a backfill) moves the value into its column.

The situation is simulated on a real mapped field: documents are mirrored the normal way, then the
column's value is moved into `extra` and the column reset directly in Postgres."""

from __future__ import annotations

import io
from typing import Any

import pytest
from bson import ObjectId
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client

from dualwrite.verify import DIFFERENT, NEEDS_BACKFILL
from todo.mappings import get_registry
from todo.wiring import build_backfiller, build_verifier

from .conftest import insert_tasks

pytestmark = pytest.mark.django_db

TASKS = get_registry().get("tasks")


def _sql(sql: str, params: list[Any] | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.rowcount


def _column(column: str, mongo_id: str) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column}, extra FROM postgres_tasks WHERE mongo_id = %s", [mongo_id])
        return cursor.fetchone()


def _as_if_added_later(mongo_ids: list[str], column: str, source: str) -> None:
    """Rows written before `column` existed: its value in `extra`, the column NULL."""
    moved = _sql(
        f"UPDATE postgres_tasks SET extra = COALESCE(extra, '{{}}'::jsonb) || jsonb_build_object(%s, {column}),"
        f" {column} = NULL WHERE mongo_id = ANY(%s) AND {column} IS NOT NULL",
        [source, mongo_ids],
    )
    assert moved == len(mongo_ids)


@pytest.fixture
def mirrored(tasks: Any) -> list[str]:
    ids = [str(i) for i in insert_tasks(tasks, 60, seed=5)]
    build_backfiller(batch_size=25).run(TASKS)
    report = build_verifier().run(TASKS)
    # No false positive: many descriptions are legitimately null, deferredDetails absent.
    assert report.equal and report.counts[NEEDS_BACKFILL] == 0, report.as_dict()
    return ids


def _with_description(tasks: Any, ids: list[str], count: int) -> list[str]:
    found = [str(d["_id"]) for d in tasks.find({"description": {"$ne": None}}, {"_id": 1})]
    chosen = sorted(set(found) & set(ids))[:count]
    assert len(chosen) == count
    return chosen


def test_values_left_in_extra_are_reported_and_repair_moves_them_into_their_column(
    tasks: Any, mirrored: list[str], client: Client, django_user_model: Any
) -> None:
    in_extra = _with_description(tasks, mirrored, 3)
    _as_if_added_later(in_extra, "description", "description")
    never_filled = next(i for i in mirrored if i not in in_extra)
    _sql("UPDATE postgres_tasks SET updated_at = NULL WHERE mongo_id = %s", [never_filled])

    report = build_verifier().run(TASKS)

    assert not report.equal
    assert report.counts[NEEDS_BACKFILL] == 4 and report.counts[DIFFERENT] == 0
    found = {d.mongo_id: (d.kind, d.fields) for d in report.samples}
    assert found == {
        **{i: (NEEDS_BACKFILL, ("description",)) for i in in_extra},
        never_filled: (NEEDS_BACKFILL, ("updatedAt",)),
    }
    assert report.fields == {"description": 3, "updatedAt": 1}

    # The CLI and the dashboard show the new kind.
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("dualwrite", "verify", "--collection", "tasks", stdout=out, stderr=io.StringIO())
    assert "needs_backfill 4" in out.getvalue()
    assert f"needs_backfill {in_extra[0]} [description]" in out.getvalue()
    django_user_model.objects.create_superuser("ops", "ops@example.com", "a-long-password-1")
    client.login(username="ops", password="a-long-password-1")
    page = client.get("/ops/sync").content.decode()
    assert "<th>needs backfill</th>" in page and '<td class="num">4</td>' in page

    repaired = build_verifier().run(TASKS, repair=True)

    assert repaired.equal, repaired.as_dict()
    assert repaired.found_before_repair is not None and repaired.found_before_repair[NEEDS_BACKFILL] == 4
    for mongo_id in in_extra:
        document = tasks.find_one({"_id": ObjectId(mongo_id)})
        assert _column("description", mongo_id) == (document["description"], None)
    assert _column("updated_at", never_filled)[0] is not None


def test_a_backfill_fills_the_column_too(tasks: Any, mirrored: list[str]) -> None:
    in_extra = _with_description(tasks, mirrored, 2)
    _as_if_added_later(in_extra, "description", "description")
    assert build_verifier().run(TASKS).counts[NEEDS_BACKFILL] == 2

    build_backfiller().run(TASKS, restart=True)

    assert build_verifier().run(TASKS).equal
    for mongo_id in in_extra:
        assert _column("description", mongo_id)[0] is not None
        assert _column("description", mongo_id)[1] is None


def test_a_real_difference_next_to_an_unfilled_column_stays_different(
    tasks: Any, mirrored: list[str]
) -> None:
    [mongo_id] = _with_description(tasks, mirrored, 1)
    _as_if_added_later([mongo_id], "description", "description")
    _sql("UPDATE postgres_tasks SET title = 'tampered' WHERE mongo_id = %s", [mongo_id])

    report = build_verifier().run(TASKS)

    assert report.counts[DIFFERENT] == 1 and report.counts[NEEDS_BACKFILL] == 0
    assert report.samples[0].fields == ("description", "title")
