"""Tasks: GET/POST /v1/tasks and GET/PATCH/DELETE /v1/tasks/{id} (with ?action=defer): results,
rules, permissions and bad input, checked in the response and in the Postgres mirror."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from tests.api.task_helpers import (
    OPERATOR_VALUES,
    client,
    client_iso,
    create_task,
    error_sources,
    make_label,
    make_team,
    mirrored_everywhere,
    person,
    send,
)
from todo.db.mongo_manager import DatabaseManager
from todo.models.documents import Task, TaskAssignment
from todo.models.postgres import PostgresAuditLog, PostgresDeferredDetails, PostgresTask, PostgresTaskLabel
from todo.repositories.factory import get_repository

pytestmark = pytest.mark.django_db(transaction=True)
MISSING = "0123456789abcdef01234567"


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def later(days: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=days)


def assign(task_id: str, assignee_id: str, user_type: str = "user", **extra: Any) -> TaskAssignment:
    return get_repository(TaskAssignment).create(
        {"task_id": task_id, "assignee_id": assignee_id, "user_type": user_type, "is_active": True, **extra}
    )


# == POST /v1/tasks =================================================================================
def test_create_stores_the_task_and_mirrors_it(api: Client, user) -> None:
    bug, api_label = make_label("Bug"), make_label("API", "#3b82f6")
    due = later(3).replace(microsecond=0)
    data = create_task(
        api,
        "Fix login",
        description="The callback fails",
        priority="HIGH",
        status="IN_PROGRESS",
        labels=[bug.id, api_label.id, bug.id],
        dueAt=iso(due),
    )
    assert data["displayId"] == "#1" and data["title"] == "Fix login"
    assert (data["priority"], data["status"], data["isAcknowledged"]) == ("HIGH", "IN_PROGRESS", False)
    assert data["labels"] == [
        {"id": bug.id, "name": "Bug", "color": "#ef4444"},
        {"id": api_label.id, "name": "API", "color": "#3b82f6"},
    ]
    assert data["createdBy"] == person(user) and data["assignee"] is None
    assert (
        data["dueAt"] == client_iso(due) and data["startedAt"] is not None and data["deferredDetails"] is None
    )
    row = PostgresTask.objects.get(mongo_id=data["id"])
    assert (row.display_id, row.priority, row.status, row.created_by) == ("#1", 1, "IN_PROGRESS", user.id)
    assert row.due_at == due and row.description == "The callback fails"
    pairs = PostgresTaskLabel.objects.filter(task_id=data["id"]).order_by("position")
    assert [p.label_mongo_id for p in pairs] == [bug.id, api_label.id]
    assert mirrored_everywhere() == {}


def test_create_defaults_and_display_ids_count_up(api: Client) -> None:
    first = create_task(api, "One")
    second = create_task(api, "Two")
    assert (first["displayId"], second["displayId"]) == ("#1", "#2")
    assert (first["priority"], first["status"], first["labels"], first["description"]) == (
        "LOW",
        "TODO",
        [],
        None,
    )
    counter = DatabaseManager.get().get_collection("counters").find_one({"_id": "taskDisplayId"})
    assert counter["seq"] == 2
    assert PostgresTask.objects.get(mongo_id=first["id"]).priority == 3


def test_create_with_an_assignee_assigns_it(api: Client, user, make_user) -> None:
    grace = make_user("Grace")
    data = create_task(api, assignee={"assignee_id": grace.id, "user_type": "user"})
    assert data["assignee"]["assignee_id"] == grace.id and data["assignee"]["assignee_name"] == "Grace"
    assert [t["id"] for t in client(grace).get("/v1/tasks").json()["tasks"]] == [data["id"]]
    audit = PostgresAuditLog.objects.get(task_id=data["id"])
    assert (audit.action, audit.assignee_to, audit.performed_by) == ("assigned_to_member", grace.id, user.id)
    assert mirrored_everywhere() == {}


def test_create_for_a_team_needs_membership(api: Client, user, make_user) -> None:
    grace = make_user("Grace")
    theirs = make_team(grace, [grace], "Theirs")
    response = send(
        api, "post", "/v1/tasks", {"title": "x", "assignee": {"assignee_id": theirs.id, "user_type": "team"}}
    )
    assert response.status_code == 403 and error_sources(response) == [{"pointer": "assignee_id"}]
    assert get_repository(Task).count() == 0  # nothing created when the assignee is refused
    ours = make_team(grace, [user, grace], "Ours")
    data = create_task(api, assignee={"assignee_id": ours.id, "user_type": "team"})
    assert (data["assignee"]["user_type"], data["assignee"]["assignee_name"]) == ("team", "Ours")


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "a\x00b"}, "title"),
        ({"title": "ok", "description": "a\x00b"}, "description"),
        ({"title": "ok", "priority": "URGENT"}, "priority"),
        ({"title": "ok", "priority": 1}, "priority"),
        ({"title": "ok", "status": "DEFERRED"}, "status"),
        ({"title": "ok", "status": "done"}, "status"),
        ({"title": "ok", "labels": "abc"}, "labels"),
        ({"title": "ok", "labels": ["nope"]}, "labels.0"),
        ({"title": "ok", "labels": [{"$ne": None}]}, "labels.0"),
        ({"title": "ok", "dueAt": "tomorrow"}, "dueAt"),
        ({"title": "ok", "dueAt": 1700000000}, "dueAt"),
        ({"title": "ok", "dueAt": "9999-12-31T23:59:59-23:00"}, "dueAt"),
        ({"title": "ok", "assignee": {"assignee_id": MISSING}}, "assignee.user_type"),
        ({"title": "ok", "assignee": {"assignee_id": MISSING, "user_type": "robot"}}, "assignee.user_type"),
        (
            {"title": "ok", "assignee": {"assignee_id": {"$gt": ""}, "user_type": "user"}},
            "assignee.assignee_id",
        ),
        ({"title": "ok", "assignee": {"assignee_id": MISSING, "user_type": "user", "x": 1}}, "assignee.x"),
        ({"title": "ok", "assignee": "me"}, "assignee.non_field_errors"),
        ({"title": "ok", "isDeleted": True}, "isDeleted"),
        *(({"title": value}, "title") for value in OPERATOR_VALUES),
    ],
)
def test_create_refuses_bad_input_naming_the_field(api: Client, body: dict, pointer: str) -> None:
    response = send(api, "post", "/v1/tasks", body)
    assert response.status_code == 400, response.json()
    assert {"pointer": pointer} in error_sources(response)
    assert response.json()["statusCode"] == 400
    assert get_repository(Task).count() == 0 and PostgresTask.objects.count() == 0


def test_create_refuses_bodies_that_are_not_objects(api: Client) -> None:
    assert send(api, "post", "/v1/tasks", ["title"]).status_code == 400
    assert api.post("/v1/tasks", "{not json", content_type="application/json").status_code == 400
    assert (
        api.post("/v1/tasks", "title=x", content_type="application/x-www-form-urlencoded").status_code == 415
    )


@pytest.mark.parametrize(
    ("raw", "pointer"),
    [
        ('{"title": "ok", "\\ud800": 1}', "\\ud800"),
        ('{"title": "\\ud800"}', "title"),
        ('{"title": "ok", "priority": "\\ud800"}', "priority"),
        ('{"title": "ok", "assignee": {"assignee_id": "0123456789abcdef01234567", "user_type": "\\udfff"}}',
         "assignee.user_type"),
    ],
)  # fmt: skip
def test_lone_surrogates_are_refused_not_echoed(api: Client, raw: str, pointer: str) -> None:
    response = api.post("/v1/tasks", raw, content_type="application/json")
    assert response.status_code == 400 and {"pointer": pointer} in error_sources(response)


def test_create_with_unknown_labels_or_assignee_is_404(api: Client) -> None:
    deleted = make_label("Old", deleted=True)
    response = send(api, "post", "/v1/tasks", {"title": "x", "labels": [MISSING, deleted.id]})
    assert response.status_code == 404 and error_sources(response) == [{"pointer": "labels"}] * 2
    for user_type in ("user", "team"):
        body = {"title": "x", "assignee": {"assignee_id": MISSING, "user_type": user_type}}
        response = send(api, "post", "/v1/tasks", body)
        assert response.status_code == 404 and error_sources(response) == [{"pointer": "assignee_id"}]
    assert get_repository(Task).count() == 0


def test_tasks_need_sign_in() -> None:
    anonymous = Client()
    assert anonymous.get("/v1/tasks").status_code == 401
    assert send(anonymous, "post", "/v1/tasks", {"title": "x"}).status_code == 401
    assert anonymous.get(f"/v1/tasks/{MISSING}").status_code == 401
    assert send(anonymous, "patch", f"/v1/tasks/{MISSING}", {"title": "x"}).status_code == 401
    assert anonymous.delete(f"/v1/tasks/{MISSING}").status_code == 401


# == GET /v1/tasks ==================================================================================
def test_list_holds_my_tasks_and_my_poc_teams_tasks(api: Client, user, make_user) -> None:
    grace = make_user("Grace")
    mine = create_task(api, "mine", assignee={"assignee_id": user.id, "user_type": "user"})
    create_task(api, "created by me for Grace", assignee={"assignee_id": grace.id, "user_type": "user"})
    create_task(api, "created by me, unassigned")
    led = make_team(user, [user, grace], "Led by me")
    team_task = create_task(api, "team task", assignee={"assignee_id": led.id, "user_type": "team"})
    other = make_team(grace, [grace, user], "Led by Grace")
    create_task(client(grace), "their team task", assignee={"assignee_id": other.id, "user_type": "team"})
    executing = create_task(
        client(grace), "handed to me", assignee={"assignee_id": other.id, "user_type": "team"}
    )
    handed = send(client(grace), "patch", f"/v1/task-assignments/{executing['id']}", {"executor_id": user.id})
    assert handed.status_code == 200
    body = api.get("/v1/tasks", {"sort_by": "createdAt", "order": "asc"}).json()
    assert [t["title"] for t in body["tasks"]] == ["mine", "team task", "handed to me"]
    assert body["links"] == {"next": None, "prev": None} and "total" not in body  # uncounted
    assert {t["id"] for t in body["tasks"]} >= {mine["id"], team_task["id"]}


def test_list_of_a_team_for_members_only(api: Client, user, make_user) -> None:
    grace, linus = make_user("Grace"), make_user("Linus")
    team = make_team(grace, [grace, user], "Core")
    for title in ("a", "b"):
        create_task(client(grace), title, assignee={"assignee_id": team.id, "user_type": "team"})
    body = api.get("/v1/tasks", {"teamId": team.id, "sort_by": "createdAt", "order": "asc"}).json()
    assert [t["title"] for t in body["tasks"]] == ["a", "b"]
    response = client(linus).get("/v1/tasks", {"teamId": team.id})
    assert response.status_code == 403 and error_sources(response) == [{"parameter": "teamId"}]
    assert api.get("/v1/tasks", {"teamId": MISSING}).status_code == 404


def test_list_filters_sorts_and_paginates(api: Client, user) -> None:
    me = {"assignee_id": user.id, "user_type": "user"}
    create_task(api, "low", priority="LOW", assignee=me, dueAt=iso(later(5)))
    create_task(api, "high", priority="HIGH", assignee=me, status="DONE")
    create_task(api, "medium", priority="MEDIUM", assignee=me, dueAt=iso(later(2)))
    titles = lambda **q: [t["title"] for t in api.get("/v1/tasks", q).json()["tasks"]]  # noqa: E731
    assert titles(sort_by="priority", status="DONE") == ["high", "medium", "low"]
    assert titles(sort_by="priority", order="desc", status="DONE") == ["low", "medium", "high"]
    assert titles(sort_by="dueAt", order="asc", status="DONE") == ["medium", "low", "high"]  # no dueAt: last
    assert titles(sort_by="dueAt", order="desc", status="DONE") == ["low", "medium", "high"]
    assert titles(status="DONE") == ["medium", "high", "low"]  # newest activity first
    assert titles() == ["medium", "low"]  # without status: DONE hidden
    assert titles(status="todo", sort_by="priority") == ["medium", "low"]  # any case
    page = api.get("/v1/tasks", {"sort_by": "priority", "limit": 2, "page": 2, "status": "DONE"}).json()
    assert [t["title"] for t in page["tasks"]] == ["low"]
    assert page["links"]["next"] is None and "page=1" in page["links"]["prev"]


def test_list_sorts_by_assignee_name(api: Client, user, make_user) -> None:
    zed, bob = make_user("Zed"), make_user("bob")
    team = make_team(user, [user, zed, bob], "Core")
    for member in (zed, bob):
        task = create_task(api, f"for {member.name}", assignee={"assignee_id": team.id, "user_type": "team"})
        send(api, "patch", f"/v1/task-assignments/{task['id']}", {"executor_id": member.id})
    create_task(api, "team", assignee={"assignee_id": team.id, "user_type": "team"})
    create_task(api, "mine", assignee={"assignee_id": user.id, "user_type": "user"})
    query = {"sort_by": "assignee", "teamId": team.id}
    titles = [t["title"] for t in api.get("/v1/tasks", query).json()["tasks"]]
    assert titles == ["for bob", "team", "for Zed"]  # bob, the team "Core", Zed (ignoring case)
    titles = [t["title"] for t in api.get("/v1/tasks", {"sort_by": "assignee"}).json()["tasks"]]
    assert titles == ["mine", "team"]  # Ada, then "Core"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"status": "LATE"}, "status"),
        ({"status": "to do"}, "status"),
        ({"sort_by": "title"}, "sort_by"),
        ({"sort_by": "$natural"}, "sort_by"),
        ({"order": "up"}, "order"),
        ({"teamId": "xyz"}, "teamId"),
        ({"teamId": "a\x00"}, "teamId"),
        ({"limit": "0"}, "limit"),
        ({"page": "x"}, "page"),
    ],
)
def test_list_refuses_bad_parameters(api: Client, params: dict, parameter: str) -> None:
    response = api.get("/v1/tasks", params)
    assert response.status_code == 400 and error_sources(response) == [{"parameter": parameter}]


# == GET /v1/tasks/{id} =============================================================================
def test_read_a_task(api: Client, make_user) -> None:
    created = create_task(api, "Read me")
    assert api.get(f"/v1/tasks/{created['id']}").json()["data"] == created
    # Someone who could not list it gets the 404 of a missing task.
    assert client(make_user("Grace")).get(f"/v1/tasks/{created['id']}").status_code == 404


def test_read_refuses_bad_and_unknown_ids(api: Client) -> None:
    response = api.get("/v1/tasks/not-an-id")
    assert response.status_code == 400 and error_sources(response) == [{"path": "id"}]
    assert api.get(f"/v1/tasks/{MISSING}").status_code == 404


# == PATCH /v1/tasks/{id} ===========================================================================
def test_update_fields_and_audit_the_status_change(api: Client, user) -> None:
    created = create_task(api, "Old title")
    bug = make_label("Bug")
    body = {"title": "New title", "priority": "MEDIUM", "status": "IN_PROGRESS", "labels": [bug.id],
            "description": None, "isAcknowledged": True}  # fmt: skip
    response = send(api, "patch", f"/v1/tasks/{created['id']}", body)
    assert response.status_code == 200, response.json()
    data = response.json()  # the bare Task
    assert (data["title"], data["priority"], data["status"], data["isAcknowledged"]) == (
        "New title", "MEDIUM", "IN_PROGRESS", True,
    )  # fmt: skip
    assert data["labels"] == [{"id": bug.id, "name": "Bug", "color": "#ef4444"}] and data["startedAt"]
    row = PostgresTask.objects.get(mongo_id=created["id"])
    assert (row.title, row.priority, row.status, row.updated_by) == ("New title", 2, "IN_PROGRESS", user.id)
    audit = PostgresAuditLog.objects.get(task_id=created["id"], action="status_changed")
    assert (audit.status_from, audit.status_to, audit.performed_by) == ("TODO", "IN_PROGRESS", user.id)
    send(api, "patch", f"/v1/tasks/{created['id']}", {"title": "Again"})  # no status change, no audit
    assert PostgresAuditLog.objects.filter(action="status_changed").count() == 1
    assert mirrored_everywhere() == {}


def test_update_by_assignees_only(api: Client, user, make_user) -> None:
    grace, linus, ken = make_user("Grace"), make_user("Linus"), make_user("Ken")
    own = create_task(api, "for Grace", assignee={"assignee_id": grace.id, "user_type": "user"})
    assert send(client(grace), "patch", f"/v1/tasks/{own['id']}", {"status": "DONE"}).status_code == 200
    response = send(client(linus), "patch", f"/v1/tasks/{own['id']}", {"status": "TODO"})
    assert response.status_code == 403 and response.json()["statusCode"] == 403
    assert PostgresTask.objects.get(mongo_id=own["id"]).status == "DONE"
    team = make_team(grace, [grace, ken], "Core")
    team_task = create_task(client(grace), "team", assignee={"assignee_id": team.id, "user_type": "team"})
    assert (
        send(client(ken), "patch", f"/v1/tasks/{team_task['id']}", {"title": "by a member"}).status_code
        == 200
    )
    assert send(client(linus), "patch", f"/v1/tasks/{team_task['id']}", {"title": "no"}).status_code == 403


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({}, "body"),
        ({"title": ""}, "title"),
        ({"title": {"$gt": ""}}, "title"),
        ({"status": "LATE"}, "status"),
        ({"priority": None}, "priority"),
        ({"isAcknowledged": "yes"}, "isAcknowledged"),
        ({"labels": [MISSING, {"$ne": None}]}, "labels.1"),
        ({"createdBy": "0123456789abcdef01234567"}, "createdBy"),
        ({"displayId": "#9"}, "displayId"),
        ({"startedAt": "nope"}, "startedAt"),
    ],
)
def test_update_refuses_bad_input(api: Client, body: dict, pointer: str) -> None:
    created = create_task(api, "Stays")
    response = send(api, "patch", f"/v1/tasks/{created['id']}", body)
    assert response.status_code == 400 and {"pointer": pointer} in error_sources(response)
    assert PostgresTask.objects.get(mongo_id=created["id"]).title == "Stays"


def test_update_of_unknown_or_bad_ids(api: Client) -> None:
    assert send(api, "patch", f"/v1/tasks/{MISSING}", {"title": "x"}).status_code == 404
    assert send(api, "patch", "/v1/tasks/123", {"title": "x"}).status_code == 400
    created = create_task(api)
    response = send(api, "patch", f"/v1/tasks/{created['id']}", {"labels": [MISSING]})
    assert response.status_code == 404 and error_sources(response) == [{"pointer": "labels"}]


# == PATCH /v1/tasks/{id}?action=defer ==============================================================
def test_defer_shows_deferred_until_the_date_and_mirrors_the_details(api: Client, user) -> None:
    created = create_task(api, "Later", dueAt=iso(later(10)))
    till = later(2).replace(microsecond=0)
    response = send(api, "patch", f"/v1/tasks/{created['id']}?action=defer", {"deferredTill": iso(till)})
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["status"] == "DEFERRED"
    assert data["deferredDetails"]["deferredTill"] == client_iso(till)
    assert data["deferredDetails"]["deferredBy"] == person(user)
    details = PostgresDeferredDetails.objects.get(task_id=created["id"])
    assert (details.deferred_till, details.deferred_by) == (till, user.id)
    assert PostgresTask.objects.get(mongo_id=created["id"]).status == "TODO"  # deferring stores TODO
    assert [
        t["status"] for t in api.get("/v1/tasks", {"status": "DEFERRED"}).json()["tasks"]
    ] == []  # not mine
    # a deferral that has ended: the stored status shows
    get_repository(Task).update(
        created["id"], {"deferredDetails": {**_details(created["id"]), "deferredTill": later(-1)}}
    )
    assert api.get(f"/v1/tasks/{created['id']}").json()["data"]["status"] == "TODO"
    assert mirrored_everywhere() == {}


def _details(task_id: str) -> dict[str, Any]:
    stored = (
        DatabaseManager.get().get_collection("tasks").find_one({"_id": __import__("bson").ObjectId(task_id)})
    )
    return dict(stored["deferredDetails"])


def test_a_status_change_ends_the_deferral(api: Client) -> None:
    created = create_task(api, "Later")
    send(api, "patch", f"/v1/tasks/{created['id']}?action=defer", {"deferredTill": iso(later(1))})
    data = send(api, "patch", f"/v1/tasks/{created['id']}", {"status": "IN_PROGRESS"}).json()
    assert (data["status"], data["deferredDetails"]) == ("IN_PROGRESS", None)
    assert not PostgresDeferredDetails.objects.filter(task_id=created["id"]).exists()


def test_defer_rules(api: Client, make_user) -> None:
    due = later(3)
    created = create_task(api, "Due soon", dueAt=iso(due))
    path = f"/v1/tasks/{created['id']}?action=defer"
    for till, why, code in ((later(4), "after dueAt", 422), (due, "at dueAt", 422), (later(-1), "past", 400)):
        response = send(api, "patch", path, {"deferredTill": iso(till)})
        assert response.status_code == code, why
        assert error_sources(response) == [{"pointer": "deferredTill"}]
    assert send(client(make_user("Linus")), "patch", path, {"deferredTill": iso(later(1))}).status_code == 403
    send(api, "patch", f"/v1/tasks/{created['id']}", {"status": "DONE"})
    response = send(api, "patch", path, {"deferredTill": iso(later(1))})
    assert response.status_code == 409 and response.json()["statusCode"] == 409
    assert not PostgresDeferredDetails.objects.filter(task_id=created["id"]).exists()


@pytest.mark.parametrize(
    ("query", "body", "source"),
    [
        ("?action=defer", {}, {"pointer": "deferredTill"}),
        ("?action=defer", {"deferredTill": {"$gt": ""}}, {"pointer": "deferredTill"}),
        ("?action=defer", {"deferredTill": "2999-01-01T00:00:00Z", "title": "x"}, {"pointer": "title"}),
        ("?action=snooze", {"deferredTill": "2999-01-01T00:00:00Z"}, {"parameter": "action"}),
    ],
)
def test_defer_refuses_bad_input(api: Client, query: str, body: dict, source: dict) -> None:
    created = create_task(api)
    response = send(api, "patch", f"/v1/tasks/{created['id']}{query}", body)
    assert response.status_code == 400 and source in error_sources(response)


# == DELETE /v1/tasks/{id} ==========================================================================
def test_delete_is_a_soft_delete(api: Client, user, make_user) -> None:
    created = create_task(api, "Bye", assignee={"assignee_id": user.id, "user_type": "user"})
    assert client(make_user("Linus")).delete(f"/v1/tasks/{created['id']}").status_code == 403
    assert api.delete(f"/v1/tasks/{created['id']}").status_code == 204
    row = PostgresTask.objects.get(mongo_id=created["id"])
    assert row.is_deleted and not row.source_deleted
    assert get_repository(Task).get_by_id(created["id"]).is_deleted
    assert api.get(f"/v1/tasks/{created['id']}").status_code == 404
    assert api.get("/v1/tasks").json()["tasks"] == []
    assert api.delete(f"/v1/tasks/{created['id']}").status_code == 404
    assert api.delete("/v1/tasks/zzz").status_code == 400
    assert mirrored_everywhere() == {}


def test_display_ids_are_unique_under_concurrent_creation(mongo_db) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from todo.services.task_service import next_display_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(lambda _: next_display_id(), range(80)))
    assert sorted(ids, key=lambda x: int(x[1:])) == [f"#{n}" for n in range(1, 81)]


def test_status_filter_uses_the_shown_status(api: Client, user) -> None:
    me = {"assignee_id": user.id, "user_type": "user"}
    deferred = create_task(api, "deferred", assignee=me)
    create_task(api, "todo", assignee=me)
    send(api, "patch", f"/v1/tasks/{deferred['id']}?action=defer", {"deferredTill": iso(later(1))})
    assert [t["title"] for t in api.get("/v1/tasks", {"status": "DEFERRED"}).json()["tasks"]] == ["deferred"]
    assert [t["title"] for t in api.get("/v1/tasks", {"status": "TODO"}).json()["tasks"]] == ["todo"]


@pytest.mark.parametrize("key", ["isDeleted", "displayId", "createdBy", "deferredDetails", "unknown"])
def test_the_update_service_refuses_keys_it_keeps_itself(api: Client, user: Any, key: str) -> None:
    """The service knows no HTTP: a caller other than the view (which sends only the serializer's
    keys) cannot change identity, deletion, deferral or audit keys through an update."""
    from todo.domain.errors import Invalid
    from todo.services import task_service

    created = create_task(api, "kept")
    with pytest.raises(Invalid) as refused:
        task_service.task_update(actor=user.id, task_id=created["id"], changes={"title": "x", key: "y"})
    assert refused.value.problems[0].about == key
    stored = get_repository(Task).get_by_id(created["id"])
    assert stored is not None and stored.title == "kept" and not stored.is_deleted
    assert PostgresTask.objects.get(mongo_id=created["id"]).title == "kept"


@pytest.mark.parametrize("key", ["isDeleted", "displayId", "createdBy", "deferredDetails", "unknown"])
def test_the_create_service_refuses_keys_it_keeps_itself(user: Any, key: str) -> None:
    from todo.domain.errors import Invalid
    from todo.services import task_service

    with pytest.raises(Invalid) as refused:
        task_service.task_create(actor=user.id, fields={"title": "new", key: "y"})
    assert refused.value.problems[0].about == key
    assert get_repository(Task).get_all({}) == [] and not PostgresTask.objects.exists()


def test_the_create_service_fills_the_keys_it_keeps(user: Any) -> None:
    """Given only a title, the service writes the task's defaults and its own keys."""
    from todo.services import task_service

    created = task_service.task_create(actor=user.id, fields={"title": "bare"}).task
    assert (created.priority, created.status, created.labels, created.description) == (3, "TODO", [], None)
    assert created.display_id and created.display_id.startswith("#") and not created.is_deleted
    assert created.created_by == created.updated_by == user.id and created.started_at is None
    row = PostgresTask.objects.get(mongo_id=created.id)
    assert (row.title, row.priority, row.status, row.display_id) == ("bare", 3, "TODO", created.display_id)
