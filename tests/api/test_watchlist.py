"""The watchlist: GET/POST /v1/watchlist/tasks, PATCH /v1/watchlist/tasks/{task_id},
GET /v1/watchlist/tasks/check?task_id=: one entry per (user, task), toggled by PATCH, checked in the
response and in the Postgres mirror."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.api.task_helpers import (
    OPERATOR_VALUES,
    client,
    create_task,
    error_sources,
    mirrored_everywhere,
    person,
    send,
)
from todo.models.postgres import PostgresWatchlist
from todo.repositories.abstract_repository import AbstractWatchlistRepository

pytestmark = pytest.mark.django_db(transaction=True)
MISSING = "0123456789abcdef01234567"


def watch(api: Client, task_id: str) -> object:
    return send(api, "post", "/v1/watchlist/tasks", {"taskId": task_id})


def test_watch_a_task_and_list_it(api: Client, user, make_user) -> None:
    grace = make_user("Grace")
    first = create_task(client(grace), "First", assignee_id=user.id, user_type="user")  # Grace's, for me
    second = create_task(api, "Second")
    response = watch(api, first["id"])
    assert response.status_code == 201, response.json()
    entry = response.json()["data"]
    assert (entry["taskId"], entry["userId"], entry["isActive"]) == (first["id"], user.id, True)
    row = PostgresWatchlist.objects.get(mongo_id=entry["id"])
    assert (row.task_id, row.user_id, row.is_active, row.created_by) == (first["id"], user.id, True, user.id)
    assert watch(api, second["id"]).status_code == 201
    body = api.get("/v1/watchlist/tasks").json()
    assert [t["title"] for t in body["tasks"]] == ["Second", "First"]  # most recent task activity first
    assert body["tasks"][1]["createdBy"] == person(grace) and body["tasks"][1]["taskId"] == first["id"]
    assert body["links"] == {"next": None, "prev": None} and body["error"] is None
    page = api.get("/v1/watchlist/tasks", {"limit": 1, "page": 2}).json()
    assert [t["title"] for t in page["tasks"]] == ["First"] and "page=1" in page["links"]["prev"]
    assert client(grace).get("/v1/watchlist/tasks").json()["tasks"] == []  # mine only
    assert mirrored_everywhere() == {}


def test_one_entry_per_user_and_task(api: Client) -> None:
    task = create_task(api)
    assert watch(api, task["id"]).status_code == 201
    response = watch(api, task["id"])
    assert response.status_code == 400 and error_sources(response) == [{"pointer": "taskId"}]
    send(api, "patch", f"/v1/watchlist/tasks/{task['id']}", {"isActive": False})
    response = watch(api, task["id"])  # an inactive entry too: watching again is a PATCH
    assert response.status_code == 400 and error_sources(response) == [{"pointer": "taskId"}]
    response = send(api, "patch", f"/v1/watchlist/tasks/{task['id']}", {"isActive": True})
    assert response.status_code == 200 and response.json()["data"]["isActive"] is True
    assert PostgresWatchlist.objects.filter(task_id=task["id"]).count() == 1
    assert mirrored_everywhere() == {}


@pytest.mark.parametrize("phase", ["dual_write", "postgres_only"])
def test_a_concurrent_second_watch_is_400_and_leaves_one_entry(
    api: Client, mongo_db, settings, monkeypatch: pytest.MonkeyPatch, phase: str
) -> None:
    """Two requests watching the same task at once both find no entry before they write: the
    store of record's unique key (userId, taskId) refuses the second, answered as any duplicate."""
    mongo_db.ensure_indexes()
    settings.MIGRATION_PHASE = phase
    task = create_task(api)
    assert watch(api, task["id"]).status_code == 201
    with monkeypatch.context() as race:  # the second request checked before the first one wrote
        race.setattr(AbstractWatchlistRepository, "get_entry", lambda self, user_id, task_id: None)
        response = watch(api, task["id"])
    assert response.status_code == 400, response.json()
    assert error_sources(response) == [{"pointer": "taskId"}]
    assert PostgresWatchlist.objects.filter(task_id=task["id"], source_deleted=False).count() == 1
    assert [t["taskId"] for t in api.get("/v1/watchlist/tasks").json()["tasks"]] == [task["id"]]


def test_patch_sets_or_toggles_the_entry(api: Client, user) -> None:
    task = create_task(api)
    path = f"/v1/watchlist/tasks/{task['id']}"
    assert send(api, "patch", path, {"isActive": False}).status_code == 404  # no entry yet
    watch(api, task["id"])
    response = send(api, "patch", path, {"isActive": False})
    assert response.status_code == 200 and response.json()["data"]["isActive"] is False
    row = PostgresWatchlist.objects.get(task_id=task["id"])
    assert (row.is_active, row.updated_by) == (False, user.id)
    assert api.get("/v1/watchlist/tasks").json()["tasks"] == []
    assert send(api, "patch", path, {}).json()["data"]["isActive"] is True  # an empty body toggles
    assert send(api, "patch", path, {}).json()["data"]["isActive"] is False
    assert send(api, "patch", path, {"isActive": False}).json()["data"]["isActive"] is False  # stays
    assert PostgresWatchlist.objects.get(task_id=task["id"]).is_active is False
    assert mirrored_everywhere() == {}


def test_check(api: Client, make_user) -> None:
    task = create_task(api)
    check = lambda who: who.get("/v1/watchlist/tasks/check", {"task_id": task["id"]})  # noqa: E731
    assert check(api).json()["data"] == {"taskId": task["id"], "in_watchlist": False}
    watch(api, task["id"])
    assert check(api).json()["data"]["in_watchlist"] is True
    assert check(client(make_user("Grace"))).json()["data"]["in_watchlist"] is False
    send(api, "patch", f"/v1/watchlist/tasks/{task['id']}", {"isActive": False})
    assert check(api).json()["data"]["in_watchlist"] is False


def test_deleted_tasks_leave_the_list_and_cannot_be_watched(api: Client) -> None:
    task = create_task(api)
    watch(api, task["id"])
    assert api.delete(f"/v1/tasks/{task['id']}").status_code == 204
    assert api.get("/v1/watchlist/tasks").json() == {
        "links": {"next": None, "prev": None}, "error": None, "tasks": [], "page": 1, "limit": 20,
    }  # fmt: skip
    assert send(api, "patch", f"/v1/watchlist/tasks/{task['id']}", {"isActive": False}).status_code == 200
    assert send(api, "patch", f"/v1/watchlist/tasks/{task['id']}", {"isActive": True}).status_code == 404
    assert watch(api, task["id"]).status_code == 404
    assert api.get("/v1/watchlist/tasks/check", {"task_id": task["id"]}).status_code == 404


def test_unknown_tasks(api: Client) -> None:
    response = watch(api, MISSING)
    assert response.status_code == 404 and error_sources(response) == [{"pointer": "taskId"}]
    response = api.get("/v1/watchlist/tasks/check", {"task_id": MISSING})
    assert response.status_code == 404 and error_sources(response) == [{"parameter": "task_id"}]
    assert PostgresWatchlist.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({}, "taskId"),
        ({"taskId": "abc"}, "taskId"),
        ({"taskId": MISSING, "userId": MISSING}, "userId"),
        ({"task_id": MISSING}, "task_id"),
        *(({"taskId": value}, "taskId") for value in OPERATOR_VALUES),
    ],
)
def test_add_refuses_bad_input(api: Client, body: dict, pointer: str) -> None:
    response = send(api, "post", "/v1/watchlist/tasks", body)
    assert response.status_code == 400 and {"pointer": pointer} in error_sources(response)
    assert PostgresWatchlist.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "pointer"),
    [({"isActive": "false"}, "isActive"), ({"isActive": 0}, "isActive"), ({"isActive": {"$ne": None}}, "isActive"),
     ({"isActive": True, "taskId": MISSING}, "taskId")],
)  # fmt: skip
def test_patch_refuses_bad_input(api: Client, body: dict, pointer: str) -> None:
    task = create_task(api)
    watch(api, task["id"])
    response = send(api, "patch", f"/v1/watchlist/tasks/{task['id']}", body)
    assert response.status_code == 400 and {"pointer": pointer} in error_sources(response)
    assert PostgresWatchlist.objects.get(task_id=task["id"]).is_active is True


@pytest.mark.parametrize(
    ("params", "source"), [({}, "task_id"), ({"task_id": "zz"}, "task_id"), ({"task_id": "a\x00"}, "task_id")]
)
def test_check_refuses_bad_ids(api: Client, params: dict, source: str) -> None:
    response = api.get("/v1/watchlist/tasks/check", params)
    assert response.status_code == 400 and error_sources(response) == [{"parameter": source}]


def test_bad_path_ids_and_parameters(api: Client) -> None:
    response = send(api, "patch", "/v1/watchlist/tasks/nope", {"isActive": True})
    assert response.status_code == 400 and error_sources(response) == [{"path": "task_id"}]
    response = api.get("/v1/watchlist/tasks", {"limit": "500"})
    assert response.status_code == 400 and error_sources(response) == [{"parameter": "limit"}]


def test_watchlist_needs_sign_in() -> None:
    anonymous = Client()
    assert anonymous.get("/v1/watchlist/tasks").status_code == 401
    assert send(anonymous, "post", "/v1/watchlist/tasks", {"taskId": MISSING}).status_code == 401
    assert send(anonymous, "patch", f"/v1/watchlist/tasks/{MISSING}", {}).status_code == 401
    assert anonymous.get("/v1/watchlist/tasks/check", {"task_id": MISSING}).status_code == 401
