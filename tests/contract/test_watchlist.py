"""The watchlist as the web client uses it (docs/frontend-contract.md section 7): the eye button's
calls chosen by the task's `in_watchlist`, and the Watch List tab. After every write Postgres holds
what MongoDB holds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.api.task_helpers import client_iso, form_body, local_midnight, make_label, make_team
from tests.contract.conftest import browser, call
from tests.contract.helpers import is_zoned_datetime, keys_of, mirrored_everywhere
from todo.models.documents import User

pytestmark = pytest.mark.django_db(transaction=True)

WATCH_ITEM_KEYS = {
    "taskId", "watchlistId", "displayId", "title", "description", "priority", "status", "isAcknowledged",
    "isDeleted", "labels", "dueAt", "createdAt", "createdBy", "deferredDetails", "assignee",
}  # fmt: skip
MISSING = "0123456789abcdef01234567"


def create(api: Client, body: dict[str, Any]) -> dict[str, Any]:
    response = call(api, "post", "/v1/tasks", body)
    assert response.status_code == 201, response.json()
    return response.json()["data"]


def in_watchlist(api: Client, query: str, task_id: str) -> bool | None:
    """The task's `in_watchlist` in the list the caller sees (`query` picks the list)."""
    [task] = [t for t in call(api, "get", f"/v1/tasks{query}").json()["tasks"] if t["id"] == task_id]
    return task["in_watchlist"]


def watched(api: Client) -> list[dict[str, Any]]:
    response = call(api, "get", "/v1/watchlist/tasks")
    assert response.status_code == 200, response.json()
    body = response.json()
    keys_of(body, "links", "error", "tasks")
    assert body["error"] is None
    return body["tasks"]


def test_the_eye_button_cycle(signed_in: Callable[..., tuple[User, Client]]) -> None:
    ada, api = signed_in("Ada")
    grace, grace_api = signed_in("Grace")
    team = make_team(ada, [ada, grace], "Core")
    task = create(api, form_body("Shared", team.id, "team"))
    team_list = f"?teamId={team.id}"

    assert task["in_watchlist"] is None
    assert in_watchlist(api, "", task["id"]) is None  # never watched: the button POSTs
    response = call(api, "post", "/v1/watchlist/tasks", {"taskId": task["id"]})
    assert response.status_code == 201, response.json()
    assert mirrored_everywhere() == {}
    assert in_watchlist(api, "", task["id"]) is True
    assert in_watchlist(api, team_list, task["id"]) is True
    assert in_watchlist(grace_api, team_list, task["id"]) is None  # the caller's own entry only

    path = f"/v1/watchlist/tasks/{task['id']}"
    assert call(api, "patch", path, {"isActive": False}).status_code == 200  # unwatch
    assert mirrored_everywhere() == {}
    assert in_watchlist(api, "", task["id"]) is False  # watched before: the button PATCHes
    assert watched(api) == []
    assert call(api, "patch", path, {"isActive": True}).status_code == 200  # watch again
    assert mirrored_everywhere() == {}
    assert in_watchlist(api, "", task["id"]) is True
    edited = call(api, "patch", f"/v1/tasks/{task['id']}/update", {"priority": "HIGH"}).json()
    assert edited["in_watchlist"] is True
    assert in_watchlist(grace_api, team_list, task["id"]) is None


def test_the_watch_list_tab(signed_in: Callable[..., tuple[User, Client]]) -> None:
    ada, api = signed_in("Ada")
    grace, _ = signed_in("Grace")
    bug = make_label("Bug", "#ef4444")
    first = create(api, form_body("First", grace.id, labels=[bug.id], priority="MEDIUM"))
    second = create(api, form_body("Second", ada.id, dueAt=client_iso(local_midnight(9))))
    for task in (first, second):
        assert call(api, "post", "/v1/watchlist/tasks", {"taskId": task["id"]}).status_code == 201
    deferred = call(api, "patch", f"/v1/tasks/{second['id']}?action=defer",
                    {"deferredTill": client_iso(local_midnight(2))})  # fmt: skip
    assert deferred.status_code == 200

    items = watched(api)
    assert [i["title"] for i in items] == ["Second", "First"]  # most recent activity first
    for item in items:
        assert set(item) == WATCH_ITEM_KEYS, sorted(set(item) ^ WATCH_ITEM_KEYS)
        assert isinstance(item["watchlistId"], str) and item["isDeleted"] is False
        assert is_zoned_datetime(item["createdAt"]) and is_zoned_datetime(item["dueAt"])
        assert set(item["createdBy"]) == {"id", "name", "addedOn", "tasksAssignedCount"}
        assert (item["createdBy"]["id"], item["createdBy"]["name"]) == (ada.id, "Ada")
        assert isinstance(item["isAcknowledged"], bool)
    second_item, first_item = items
    assert first_item["taskId"] == first["id"]  # the id the edit and unwatch buttons use
    assert (first_item["priority"], first_item["status"]) == ("MEDIUM", "TODO")
    assert first_item["labels"] == [{"id": bug.id, "name": "Bug", "color": "#ef4444"}]
    assert first_item["assignee"] == {"assignee_id": grace.id, "assignee_name": "Grace", "user_type": "user"}
    assert first_item["deferredDetails"] is None
    assert second_item["status"] == "DEFERRED"
    till = dt.datetime.fromisoformat(second_item["deferredDetails"]["deferredTill"].replace("Z", "+00:00"))
    assert till == local_midnight(2)
    _, grace_api = signed_in("Grace 2")
    assert watched(grace_api) == []


def test_watchlist_refusals(signed_in: Callable[..., tuple[User, Client]]) -> None:
    ada, api = signed_in("Ada")
    task = create(api, form_body("Watched", ada.id))
    assert call(api, "post", "/v1/watchlist/tasks", {"taskId": "nope"}).status_code == 400
    assert call(api, "post", "/v1/watchlist/tasks", {"taskId": MISSING}).status_code == 404
    path = f"/v1/watchlist/tasks/{task['id']}"
    assert call(api, "patch", path, {"isActive": False}).status_code == 404  # no entry yet
    assert call(api, "post", "/v1/watchlist/tasks", {"taskId": task["id"]}).status_code == 201
    assert call(api, "post", "/v1/watchlist/tasks", {"taskId": task["id"]}).status_code == 400  # active
    assert call(api, "patch", path, {"isActive": False}).status_code == 200
    assert call(api, "post", "/v1/watchlist/tasks", {"taskId": task["id"]}).status_code == 400  # inactive
    _, other_api = signed_in("Other")
    assert call(other_api, "patch", path, {"isActive": True}).status_code == 404  # not their entry
    assert call(browser(), "get", "/v1/watchlist/tasks").status_code == 401
    assert call(browser(), "post", "/v1/watchlist/tasks", {"taskId": task["id"]}).status_code == 401
    assert mirrored_everywhere() == {}
