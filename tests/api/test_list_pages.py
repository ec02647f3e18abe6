"""Pages of the task list and the watchlist beyond the first: the store pages them, the response
keeps its shape (docs/frontend-contract.md section 6), and a read from Postgres gives the same page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.api.task_helpers import create_task, send

pytestmark = pytest.mark.django_db(transaction=True)


def _pages(api: Client, path: str, limit: int, pages: int) -> tuple[list[list[str]], set[int]]:
    found, totals = [], set()
    for page in range(1, pages + 1):
        body = api.get(f"{path}?page={page}&limit={limit}").json()
        found.append([item.get("id") or item.get("taskId") for item in body["tasks"]])
        totals.add(body["total"])
    return found, totals


def test_task_list_and_watchlist_pages_partition_the_list_newest_first(
    api: Client, user: Any, settings: Any
) -> None:
    ids = []
    for i in range(23):
        task = create_task(api, f"task {i}", assignee={"assignee_id": user.id, "user_type": "user"})
        ids.append(task["id"])
        assert send(api, "post", "/v1/watchlist/tasks", {"taskId": task["id"]}).status_code == 201
    newest_first = list(reversed(ids))  # created one after the other: newer activity, newer id
    for path in ("/v1/tasks", "/v1/watchlist/tasks"):
        pages, totals = _pages(api, path, 10, 3)
        assert totals == {23}, path
        assert pages == [newest_first[:10], newest_first[10:20], newest_first[20:]], path
    settings.MIGRATION_PHASE = "read_migration"
    settings.DUAL_WRITE_READ_SOURCE = {
        "tasks": "postgres",
        "task_assignments": "postgres",
        "watchlists": "postgres",
    }
    for path in ("/v1/tasks", "/v1/watchlist/tasks"):
        pages, totals = _pages(api, path, 10, 3)
        assert totals == {23} and pages[1] == newest_first[10:20], path
