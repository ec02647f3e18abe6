"""Benchmark of the paged lists (issue: performance, part 3): task list, watchlist, user search.

Run: `.venv/bin/python bench/list_bench.py` (starts its own throw-away embedded PostgreSQL through
the test settings; MongoDB is the in-process stand-in, mongomock). One database holds a user with
100 tasks and a user with 20,000 (each task actively assigned to its user and on that user's
watchlist), and 100 + 20,000 users to search. It prints p50/p95 of a first page (20 tasks, 10
users) through the service layer the views call, for 100 and for 20,000, and the ratio, per read
route:

- mongo: dual_write, reads from the MongoDB stand-in;
- postgres: read_migration with every collection read from Postgres (read-your-writes included:
  before each Postgres read it asks MongoDB for pending marks, which the stand-in answers by
  scanning the collection; a real MongoDB answers from the partial index of the marks);
- postgres_only: the Postgres repositories alone (the SQL the lists run, nothing else).

`baseline` rows run the previous implementation (every task of the scope loaded, then filtered,
sorted and paged in Python), copied below, against the same data in the same run. The stand-in
scans whole collections for every query (no indexes; its `$in` compares each document with every
listed id), so the mongo figures cannot show what a real MongoDB with indexes does.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.test_settings")

import django

django.setup()

from todo.db.startup import start_database  # noqa: E402

start_database()  # django.setup() starts no database server

import datetime as dt  # noqa: E402

from bson import ObjectId  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import override_settings  # noqa: E402

from todo.db.mongo_manager import DatabaseManager  # noqa: E402
from todo.mappings import get_registry  # noqa: E402
from todo.models import documents as domain_models  # noqa: E402
from todo.models.enums import AssigneeType  # noqa: E402
from todo.repositories import task_list as task_lists  # noqa: E402
from todo.repositories.factory import get_repository  # noqa: E402
from todo.repositories.queries import In  # noqa: E402
from todo.selectors import tasks as task_selectors  # noqa: E402
from todo.selectors import watchlist as watchlist_selectors  # noqa: E402
from todo.services.enhanced_dual_write_service import EnhancedDualWriteService  # noqa: E402

SMALL, LARGE = 100, int(os.environ.get("LIST_BENCH_LARGE", "20000"))
PAGE, SEARCH_PAGE = 20, 10
MAX_SAMPLES, MIN_SAMPLES, BUDGET_SECONDS = 25, 3, 30.0
# Task lists on the mongo route send the scope's ids to the stand-in in one `$in` (its cost:
# documents x ids, each compared in Python), and so does the read-your-writes check of the postgres
# route for the baseline (it reads all the scope's tasks by id): at 20,000 one call takes many
# minutes, so those rows are skipped above STAND_IN_LARGE_MAX (LIST_BENCH_LARGE=2000 shows them).
STAND_IN_LARGE_MAX = 5000
BASE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
STATUSES = ("TODO", "IN_PROGRESS", "TODO", "BLOCKED", "DONE")


# == the previous implementation (the baseline) ======================================================
def old_task_list(actor: str, page: int = 1, limit: int = PAGE) -> tuple[list[Any], int]:
    poc_of = [
        t.id for t in get_repository(domain_models.Team).get_all({"poc_id": actor, "is_deleted": False})
    ]
    assignments = get_repository(domain_models.TaskAssignment)
    mine = assignments.get_all({"assignee_id": actor, "user_type": AssigneeType.USER, "is_active": True})
    led = (
        assignments.get_all({"assignee_id": In(poc_of), "user_type": AssigneeType.TEAM, "is_active": True})
        if poc_of
        else []
    )
    task_ids = sorted({a.task_id for a in [*mine, *led] if a.task_id})
    tasks = get_repository(domain_models.Task).get_by_ids(task_ids) if task_ids else []
    details = [
        x for x in task_selectors.task_details(tasks, actor) if task_lists.status_matches(None, x.status)
    ]
    ordered = task_selectors._sorted(details, "activity", None)
    start = (page - 1) * limit
    return ordered[start : start + limit], len(ordered)


def old_watchlist(actor: str, page: int = 1, limit: int = PAGE) -> tuple[list[Any], int]:
    entries = {e.task_id: e for e in get_repository(domain_models.Watchlist).get_for_user(actor) if e.task_id}
    live = get_repository(domain_models.Task).get_by_ids(sorted(entries)) if entries else []

    def activity(task: domain_models.Task) -> tuple[dt.datetime, str]:
        moment = task.updated_at or task.created_at
        return (moment or dt.datetime.min.replace(tzinfo=dt.UTC)), task.id

    ordered = sorted(live, key=activity, reverse=True)
    start = (page - 1) * limit
    return task_selectors.task_details(ordered[start : start + limit], actor), len(ordered)


# == data ======================================================================================
def _op(collection: str, mongo_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"collection_name": collection, "data": data, "mongo_id": mongo_id, "operation": "create"}


def populate(service: EnhancedDualWriteService) -> dict[str, str]:
    """Two users with SMALL and LARGE tasks; SMALL + LARGE users to search. Returns their ids."""
    owners = {"small": str(ObjectId()), "large": str(ObjectId())}
    users = [
        _op(
            "users",
            uid,
            {"name": f"Owner {name}", "email_id": f"{name}@example.com", "google_id": f"g-{name}"},
        )
        for name, uid in owners.items()
    ]
    for group, size in (("smallfind", SMALL), ("largefind", LARGE)):
        users += [
            _op(
                "users",
                str(ObjectId()),
                {
                    "name": f"{group} {i:05d}",
                    "email_id": f"{group}{i}@example.com",
                    "google_id": f"g-{group}{i}",
                },
            )
            for i in range(size)
        ]
    _batched(service, users)
    for name, size in (("small", SMALL), ("large", LARGE)):
        owner, ops = owners[name], []
        for i in range(size):
            task_id, moment = str(ObjectId()), BASE + dt.timedelta(minutes=i)
            ops.append(
                _op(
                    "tasks",
                    task_id,
                    {
                        "displayId": f"#{name}{i}",
                        "title": f"task {i}",
                        "priority": 1 + i % 3,
                        "status": STATUSES[i % len(STATUSES)],
                        "isDeleted": False,
                        "labels": [],
                        "createdAt": moment,
                        "updatedAt": moment + dt.timedelta(seconds=i % 7),
                        "createdBy": owner,
                        "updatedBy": owner,
                    },
                )
            )
            ops.append(
                _op(
                    "task_assignments",
                    str(ObjectId()),
                    {
                        "task_id": task_id,
                        "assignee_id": owner,
                        "user_type": "user",
                        "is_active": True,
                        "created_by": owner,
                        "created_at": moment,
                    },
                )
            )
            ops.append(
                _op(
                    "watchlists",
                    str(ObjectId()),
                    {
                        "taskId": task_id,
                        "userId": owner,
                        "isActive": True,
                        "createdAt": moment,
                        "createdBy": owner,
                    },
                )
            )
        _batched(service, ops)
    return owners


def _batched(service: EnhancedDualWriteService, ops: list[dict[str, Any]], size: int = 2000) -> None:
    for start in range(0, len(ops), size):
        if not service.batch_operations(ops[start : start + size]):
            raise SystemExit("a bench document did not reach Postgres")


# == measuring =================================================================================
def timings(call: Callable[[], Any]) -> list[float]:
    call()  # warm-up (and a check that it runs)
    samples: list[float] = []
    started = time.perf_counter()
    while len(samples) < MAX_SAMPLES and (
        len(samples) < MIN_SAMPLES or time.perf_counter() - started < BUDGET_SECONDS
    ):
        t0 = time.perf_counter()
        call()
        samples.append(time.perf_counter() - t0)
    return samples


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


ROUTES: dict[str, dict[str, Any]] = {
    "mongo": {"MIGRATION_PHASE": "dual_write", "DUAL_WRITE_READ_SOURCE": {}},
    "postgres": {
        "MIGRATION_PHASE": "read_migration",
        "DUAL_WRITE_READ_SOURCE": {m.collection: "postgres" for m in get_registry()},
    },
    "postgres_only": {"MIGRATION_PHASE": "postgres_only", "DUAL_WRITE_READ_SOURCE": {}},
}


def lists(owner: str, find: str, *, baseline: bool) -> dict[str, Callable[[], Any]]:
    def search() -> Any:
        users = get_repository(domain_models.User)
        return users.search(find, 1, SEARCH_PAGE), users.search_count(find)

    if baseline:
        return {"task list": lambda: old_task_list(owner), "watchlist": lambda: old_watchlist(owner)}
    return {
        "task list": lambda: task_selectors.task_list(actor=owner, page=1, limit=PAGE),
        "watchlist": lambda: watchlist_selectors.watchlist_tasks(actor=owner, page=1, limit=PAGE),
        "user search": search,
    }


def check(owners: dict[str, str]) -> None:
    """The new lists answer what the baseline answers (same page; a next page exactly when the
    baseline's total goes beyond this page)."""
    for name, owner in owners.items():
        new, more = task_selectors.task_list(actor=owner, page=2, limit=PAGE)
        old, old_total = old_task_list(owner, page=2)
        assert [x.task.id for x in new] == [x.task.id for x in old], name
        assert more == (old_total > 2 * PAGE), name
        new_w, more_w = watchlist_selectors.watchlist_tasks(actor=owner, page=2, limit=PAGE)
        old_w, old_wt = old_watchlist(owner, page=2)
        assert [x.task.id for x, _ in new_w] == [x.task.id for x in old_w], name
        assert more_w == (old_wt > 2 * PAGE), name


def main() -> None:
    print(f"load average at start: {os.getloadavg()}")
    call_command("migrate", verbosity=0)
    connection.ensure_connection()
    started = time.perf_counter()
    owners = populate(EnhancedDualWriteService())
    # After the data: the stand-in checks a unique index on every insert by scanning the collection.
    DatabaseManager.get().ensure_indexes()
    # The tables as autovacuum keeps them on a live database (it vacuums and analyzes a table after
    # enough inserts): statistics, without which the planner guesses row counts and may sort a
    # whole scope where an index walk would do, and the visibility map, which lets a count read
    # the covering indexes alone.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"populated in {time.perf_counter() - started:.0f} s")
    finds = {"small": "smallfind", "large": "largefind"}
    print(f"| read route | list | p50 / p95 ms at {SMALL} | p50 / p95 ms at {LARGE:,} | p50 ratio |")
    print("|---|---|---|---|---|")
    rows = []
    for route, flags in ROUTES.items():
        with override_settings(**flags):
            if route == "postgres_only":
                check(owners)
            for baseline in (False, True):
                names = lists(owners["small"], finds["small"], baseline=baseline)
                for what in names:
                    scans = (route == "mongo" and what != "user search") or (route == "postgres" and baseline)
                    if scans and LARGE > STAND_IN_LARGE_MAX:
                        print(
                            f"| {route} | {'baseline ' if baseline else ''}{what} | see the note | skipped | |"
                        )
                        continue
                    figures = {}
                    for size in ("small", "large"):
                        call = lists(owners[size], finds[size], baseline=baseline)[what]
                        figures[size] = timings(call)
                    rows.append((route, ("baseline " if baseline else "") + what, figures))
                    small, large = figures["small"], figures["large"]
                    print(
                        f"| {route} | {rows[-1][1]} | {pct(small, 0.5):.1f} / {pct(small, 0.95):.1f} "
                        f"(n={len(small)}) | {pct(large, 0.5):.1f} / {pct(large, 0.95):.1f} (n={len(large)}) "
                        f"| {pct(large, 0.5) / pct(small, 0.5):.2f}x |",
                        flush=True,
                    )
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
