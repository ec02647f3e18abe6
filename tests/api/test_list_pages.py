"""Pages of the task list and the watchlist beyond the first: the store pages them, the response
keeps its shape (docs/frontend-contract.md section 6), and a read from Postgres gives the same page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.api.task_helpers import create_task, send

pytestmark = pytest.mark.django_db(transaction=True)


def _pages(api: Client, path: str, limit: int, pages: int) -> tuple[list[list[str]], list[bool]]:
    """The ids of each page, and whether each page links to a next one (the lists are uncounted:
    `links.next` must be there exactly when another page holds tasks)."""
    found, nexts = [], []
    for page in range(1, pages + 1):
        body = api.get(f"{path}?page={page}&limit={limit}").json()
        assert "total" not in body, path
        found.append([item.get("id") or item.get("taskId") for item in body["tasks"]])
        nexts.append(body["links"]["next"] is not None)
    return found, nexts


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
        pages, nexts = _pages(api, path, 10, 3)
        assert nexts == [True, True, False], path
        assert pages == [newest_first[:10], newest_first[10:20], newest_first[20:]], path
    settings.MIGRATION_PHASE = "read_migration"
    settings.DUAL_WRITE_READ_SOURCE = {
        "tasks": "postgres",
        "task_assignments": "postgres",
        "watchlists": "postgres",
    }
    for path in ("/v1/tasks", "/v1/watchlist/tasks"):
        pages, nexts = _pages(api, path, 10, 3)
        assert nexts == [True, True, False] and pages[1] == newest_first[10:20], path


@pytest.mark.parametrize("sort_by", ["updatedAt", "assignee"])  # paged by the store / here
def test_next_link_only_when_a_task_follows_the_page(api: Client, user: Any, sort_by: str) -> None:
    for i in range(4):
        create_task(api, f"task {i}", assignee={"assignee_id": user.id, "user_type": "user"})
    nexts = {}
    for limit, page in ((2, 1), (2, 2), (3, 1), (3, 2), (4, 1), (5, 1)):
        body = api.get("/v1/tasks", {"page": page, "limit": limit, "sort_by": sort_by}).json()
        assert len(body["tasks"]) == min(limit, 4 - (page - 1) * limit)
        nexts[limit, page] = body["links"]["next"]
    assert "page=2" in nexts[2, 1] and nexts[2, 2] is None  # exactly two pages: none after the last
    assert "page=2" in nexts[3, 1] and nexts[3, 2] is None
    assert nexts[4, 1] is None and nexts[5, 1] is None
