"""Task lists (task_list.py) selected, ordered, paged and counted by the store: MongoDB and Postgres
answer the same page as the Python rules do, legacy-shaped documents included, and Postgres fetches
one page of rows, not the whole scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from bson import ObjectId
from django.db import connection
from django.test.utils import CaptureQueriesContext

from todo.db.mongo_manager import DatabaseManager
from todo.mappings import get_registry
from todo.models import documents as domain_models
from todo.repositories import task_list as task_lists
from todo.repositories.mongo_repository import MONGO_REPOSITORIES
from todo.repositories.postgres_repository import POSTGRES_REPOSITORIES
from todo.wiring import build_backfiller

pytestmark = pytest.mark.django_db(transaction=True)

BASE = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
AT = BASE + dt.timedelta(days=40)
STATUSES = ("TODO", "IN_PROGRESS", "DONE", "BLOCKED", "DEFERRED", None)
QUERIES = [
    (status, sort_by, descending)
    for status in (None, "DONE", "DEFERRED", "TODO", task_lists.ALL)
    for sort_by in task_lists.SORT_KEYS
    for descending in (True, False)
]


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _tasks(owner: ObjectId, count: int, *, legacy: bool) -> list[dict[str, Any]]:
    """Tasks with ties, missing dates, deferrals running and ended, deleted ones; with `legacy`,
    some dates as ISO strings and some ids as strings, as the existing app left them."""
    documents = []
    for i in range(count):
        created = BASE + dt.timedelta(hours=i % 9)  # ties
        updated = None if i % 4 == 0 else created + dt.timedelta(minutes=i % 5)
        due = None if i % 3 else BASE + dt.timedelta(days=i % 6)
        doc: dict[str, Any] = {
            "_id": ObjectId(),
            "title": f"task {i}",
            "priority": 1 + i % 3,
            "isDeleted": i % 11 == 0,
            "createdAt": _iso(created) if legacy and i % 2 else created,
            "updatedAt": updated,
            "dueAt": due,
            "createdBy": owner,
        }
        if STATUSES[i % len(STATUSES)] is not None:
            doc["status"] = STATUSES[i % len(STATUSES)]  # else missing: reads TODO
        if i % 7 == 1:
            till = AT + dt.timedelta(days=1 if i % 2 else -1)  # running, or ended
            doc["deferredDetails"] = {"deferredAt": BASE, "deferredTill": _iso(till) if legacy else till,
                                      "deferredBy": owner}  # fmt: skip
        if legacy and i % 5 == 0:
            doc["_id"] = str(doc["_id"])
        documents.append(doc)
    return documents


def _store(documents: list[dict[str, Any]], owner: ObjectId, other: ObjectId) -> None:
    """Raw into MongoDB (as the existing app wrote them), assigned to `owner` (a few to `other`,
    one inactive), then backfilled into Postgres."""
    db = DatabaseManager.get()
    db.get_collection("tasks").insert_many(documents)
    assignments = []
    for i, doc in enumerate(documents):
        assignee = other if i % 10 == 3 else owner
        assignments.append(
            {"_id": ObjectId(), "task_id": str(doc["_id"]) if i % 2 else ObjectId(str(doc["_id"])),
             "assignee_id": str(assignee) if i % 3 else assignee, "user_type": "user",
             "is_active": i % 13 != 5}
        )  # fmt: skip
    db.get_collection("task_assignments").insert_many(assignments)
    for collection in ("tasks", "task_assignments"):
        build_backfiller().run(get_registry().get(collection))


def _query(owner: ObjectId, status: str | None, sort_by: str, descending: bool) -> task_lists.TaskListQuery:
    scope = task_lists.Scope("task_assignments", "task_id", {"assignee_id": str(owner), "is_active": True})
    return task_lists.TaskListQuery(scope, AT, status, sort_by, descending)


def _expected(query: task_lists.TaskListQuery) -> list[domain_models.Task]:
    """The Python rules over every task of the scope (what the lists did before, in Python)."""
    assignments = MONGO_REPOSITORIES["task_assignments"]().get_all(query.scope.filters)
    tasks = [t for t in MONGO_REPOSITORIES["tasks"]().get_all() if t.id in {a.task_id for a in assignments}]
    return task_lists.ordered(query, [t for t in tasks if task_lists.matches(query, t)])


@pytest.mark.parametrize("legacy", [False, True], ids=["canonical", "legacy"])
def test_both_stores_answer_every_page_of_every_list_as_the_python_rules(mongo_db: Any, legacy: bool) -> None:
    owner, other = ObjectId(), ObjectId()
    _store(_tasks(owner, 45, legacy=legacy), owner, other)
    mongo, postgres = MONGO_REPOSITORIES["tasks"](), POSTGRES_REPOSITORIES["tasks"]()
    for status, sort_by, descending in QUERIES:
        query = _query(owner, status, sort_by, descending)
        expected = [t.id for t in _expected(query)]
        label = (status, sort_by, descending)
        assert mongo.list_count(query) == postgres.list_count(query) == len(expected), label
        for page in (1, 2, 3, 4):
            want = expected[(page - 1) * 7 : page * 7]
            assert [t.id for t in mongo.list_page(query, page, 7)] == want, (label, page)
            assert [t.id for t in postgres.list_page(query, page, 7)] == want, (label, page)


def test_a_page_beyond_the_first_is_the_next_slice_of_the_order(mongo_db: Any) -> None:
    owner = ObjectId()
    _store(_tasks(owner, 30, legacy=False), owner, ObjectId())
    query = _query(owner, task_lists.ALL, "createdAt", False)
    for family in (MONGO_REPOSITORIES, POSTGRES_REPOSITORIES):
        repo = family["tasks"]()
        first, second = repo.list_page(query, 1, 10), repo.list_page(query, 2, 10)
        assert len(first) == len(second) == 10 and not {t.id for t in first} & {t.id for t in second}
        times = [t.created_at for t in [*first, *second]]
        assert times == sorted(times)


def test_postgres_fetches_one_page_of_rows_whatever_the_scope_holds(mongo_db: Any) -> None:
    owner = ObjectId()
    _store(_tasks(owner, 60, legacy=False), owner, ObjectId())
    repo = POSTGRES_REPOSITORIES["tasks"]()
    query = _query(owner, task_lists.ALL, "activity", True)
    connection.ensure_connection()
    with CaptureQueriesContext(connection) as captured:
        page = repo.list_page(query, 2, 5)
        total = repo.list_count(query)
    assert len(page) == 5 and total > 40
    ordered = [q["sql"] for q in captured.captured_queries if "ORDER BY" in q["sql"]]
    assert ordered and all("LIMIT 5 OFFSET 5" in sql for sql in ordered)
    # The rows read back (documents rebuilt) are the page's: ids listed in the fetch, not the scope.
    fetched = [q["sql"] for q in captured.captured_queries if '"postgres_tasks"."mongo_id" IN' in q["sql"]]
    assert all(sql.count("'") <= 2 * 5 for sql in fetched)
    assert any("COUNT(" in q["sql"] for q in captured.captured_queries)
