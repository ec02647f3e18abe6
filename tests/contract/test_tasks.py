"""Tasks as the web client uses them (docs/frontend-contract.md sections 1, 2 and 6): the create form's
flat body, the lists of the dashboard and the team page with their status filter, the edit form and
the defer dialog. Every key the client reads is checked with its type, enum and date format, and
after every write Postgres holds what MongoDB holds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.api.task_helpers import (
    client_iso,
    form_body,
    local_midnight,
    make_label,
    make_team,
)
from tests.contract.conftest import browser, call
from tests.contract.helpers import is_zoned_datetime, keys_of, mirrored_everywhere
from todo.models.documents import AuditLog, Task, User
from todo.repositories.factory import get_repository

pytestmark = pytest.mark.django_db(transaction=True)

TASK_KEYS = {
    "id", "displayId", "title", "description", "priority", "status", "assignee", "isAcknowledged",
    "labels", "startedAt", "dueAt", "deferredDetails", "in_watchlist", "createdAt", "updatedAt",
    "createdBy", "updatedBy",
}  # fmt: skip
ASSIGNEE_KEYS = {
    "id", "task_id", "assignee_id", "assignee_name", "user_type", "executor_id", "team_id", "is_active",
    "created_by", "updated_by", "created_at", "updated_at",
}  # fmt: skip
PERSON_KEYS = {"id", "name", "addedOn", "tasksAssignedCount"}
STATUSES = {"TODO", "IN_PROGRESS", "DONE", "DEFERRED"}
MISSING = "0123456789abcdef01234567"


def assert_person(value: Any, person: User) -> None:
    assert set(value) == PERSON_KEYS
    assert (value["id"], value["name"]) == (person.id, person.name)
    assert value["addedOn"] is None or is_zoned_datetime(value["addedOn"])
    assert value["tasksAssignedCount"] is None or isinstance(value["tasksAssignedCount"], int)


def assert_task(task: Any) -> None:
    """A Task object exactly as section 6 gives it."""
    assert set(task) == TASK_KEYS, sorted(set(task) ^ TASK_KEYS)
    assert isinstance(task["id"], str) and len(task["id"]) == 24
    assert isinstance(task["displayId"], str) and task["displayId"].startswith("#")
    assert isinstance(task["title"], str)
    assert task["description"] is None or isinstance(task["description"], str)
    assert task["priority"] in ("LOW", "MEDIUM", "HIGH")
    assert task["status"] in STATUSES
    assert isinstance(task["isAcknowledged"], bool)
    assert task["in_watchlist"] in (None, True, False)
    for label in task["labels"]:
        assert set(label) == {"id", "name", "color"}
        assert label["color"].startswith("#") and len(label["color"]) == 7
    for key in ("startedAt", "dueAt", "updatedAt"):
        assert task[key] is None or is_zoned_datetime(task[key]), (key, task[key])
    assert is_zoned_datetime(task["createdAt"])
    assert set(task["createdBy"]) == PERSON_KEYS
    assert task["updatedBy"] is None or set(task["updatedBy"]) == PERSON_KEYS
    assignee = task["assignee"]
    if assignee is not None:
        assert set(assignee) == ASSIGNEE_KEYS
        assert assignee["user_type"] in ("user", "team") and assignee["is_active"] is True
        assert is_zoned_datetime(assignee["created_at"])
        assert assignee["updated_at"] is None or is_zoned_datetime(assignee["updated_at"])
    deferred = task["deferredDetails"]
    if deferred is not None:
        keys_of(deferred, "deferredAt", "deferredTill", "deferredBy")
        assert is_zoned_datetime(deferred["deferredAt"]) and is_zoned_datetime(deferred["deferredTill"])
        assert set(deferred["deferredBy"]) == PERSON_KEYS


def create(api: Client, body: dict[str, Any]) -> dict[str, Any]:
    response = call(api, "post", "/v1/tasks", body)
    assert response.status_code == 201, response.json()
    assert mirrored_everywhere() == {}
    return response.json()["data"]


def listed(api: Client, query: str = "") -> list[dict[str, Any]]:
    response = call(api, "get", f"/v1/tasks{query}")
    assert response.status_code == 200, response.json()
    body = response.json()
    keys_of(body, "links", "error", "tasks")
    assert body["error"] is None
    for task in body["tasks"]:
        assert_task(task)
    return body["tasks"]


def titles(api: Client, query: str = "") -> list[str]:
    return [t["title"] for t in listed(api, query)]


def audits(action: str) -> list[AuditLog]:
    return get_repository(AuditLog).get_all({"action": action})


# == POST /v1/tasks ===================================================================================
def test_create_with_the_forms_body(signed_in: Callable[..., tuple[User, Client]]) -> None:
    ada, api = signed_in("Ada")
    bug = make_label("Bug", "#ef4444")
    due = local_midnight(30)
    body = form_body("Fix login", ada.id, description="The button", priority="HIGH", labels=[bug.id],
                     dueAt=client_iso(due))  # fmt: skip
    response = call(api, "post", "/v1/tasks", body)
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert (answer["statusCode"], answer["successMessage"]) == (201, "Task created successfully")
    task = answer["data"]
    assert_task(task)
    assert (task["title"], task["description"], task["priority"], task["status"]) == (
        "Fix login", "The button", "HIGH", "TODO"
    )  # fmt: skip
    assert task["labels"] == [{"id": bug.id, "name": "Bug", "color": "#ef4444"}]
    assert task["assignee"]["assignee_id"] == ada.id  # the edit button compares it with the profile id
    assert (task["assignee"]["assignee_name"], task["assignee"]["user_type"]) == ("Ada", "user")
    assert task["assignee"]["task_id"] == task["id"] and task["assignee"]["team_id"] is None
    assert dt.datetime.fromisoformat(task["dueAt"].replace("Z", "+00:00")) == due
    assert task["deferredDetails"] is None and task["in_watchlist"] is None and task["startedAt"] is None
    assert_person(task["createdBy"], ada)
    assert mirrored_everywhere() == {}
    assert listed(api) == [task]  # the dashboard shows the same object


def test_create_for_a_team_and_for_a_member_of_it(signed_in: Callable[..., tuple[User, Client]]) -> None:
    ada, api = signed_in("Ada")
    grace, _ = signed_in("Grace")
    team = make_team(ada, [ada, grace], "Core")
    for_team = create(api, form_body("For the team", team.id, "team"))
    assert (for_team["assignee"]["user_type"], for_team["assignee"]["assignee_id"]) == ("team", team.id)
    assert (for_team["assignee"]["assignee_name"], for_team["assignee"]["team_id"]) == ("Core", team.id)
    [entry] = audits("assigned_to_team")
    assert (entry.team_id, entry.task_id, entry.performed_by) == (team.id, for_team["id"], ada.id)

    for_member = create(api, form_body("For Grace", grace.id, "user", team_id=team.id))
    assert (for_member["assignee"]["user_type"], for_member["assignee"]["assignee_id"]) == ("user", grace.id)
    assert for_member["assignee"]["team_id"] == team.id
    [entry] = [a for a in audits("assigned_to_member") if a.task_id == for_member["id"]]
    assert (entry.team_id, entry.performed_by) == (team.id, ada.id)
    assert sorted(titles(api, f"?teamId={team.id}")) == ["For Grace", "For the team"]


def test_create_refusals(signed_in: Callable[..., tuple[User, Client]]) -> None:
    ada, api = signed_in("Ada")
    outsider, _ = signed_in("Outsider")
    theirs = make_team(outsider, [outsider], "Theirs")
    refused = [
        (form_body("x", ada.id, timezone="Mars/Olympus"), 400),
        (form_body("x", ada.id, dueAt=client_iso(local_midnight(-1))), 400),  # yesterday in Kolkata
        (form_body("   ", ada.id), 400),
        (form_body("x", MISSING), 404),
        (form_body("x", MISSING, "team"), 404),
        (form_body("x", theirs.id, "team"), 403),
        (form_body("x", outsider.id, team_id=MISSING), 404),
        (form_body("x", "not-an-id"), 400),
    ]
    for body, code in refused:
        response = call(api, "post", "/v1/tasks", body)
        assert response.status_code == code, (body, response.json())
        keys_of(response.json(), "statusCode", "message", "errors")
    assert get_repository(Task).count() == 0
    # today in the browser's zone is accepted although it is still yesterday in UTC
    create(api, form_body("today", ada.id, dueAt=client_iso(local_midnight(0))))
    assert call(browser(), "post", "/v1/tasks", form_body("x", ada.id)).status_code == 401


# == GET /v1/tasks ====================================================================================
def test_which_tasks_are_listed(signed_in: Callable[..., tuple[User, Client]]) -> None:
    ada, api = signed_in("Ada")
    grace, grace_api = signed_in("Grace")
    led = make_team(ada, [ada, grace], "Led")  # Ada is its point of contact
    other = make_team(grace, [ada, grace], "Other")
    create(api, form_body("mine", ada.id))
    create(api, form_body("created by me for Grace", grace.id))
    create(grace_api, form_body("assigned to me by Grace", ada.id))
    create(grace_api, form_body("for my team", led.id, "team"))
    create(grace_api, form_body("for a team I only belong to", other.id, "team"))
    create(grace_api, form_body("for Grace from Other", grace.id, team_id=other.id))
    assert sorted(titles(api)) == ["assigned to me by Grace", "for my team", "mine"]
    assert sorted(titles(api, f"?teamId={other.id}")) == [
        "for Grace from Other",
        "for a team I only belong to",
    ]
    assert titles(api, f"?teamId={led.id}") == ["for my team"]

    _, stranger_api = signed_in("Stranger")
    response = call(stranger_api, "get", f"/v1/tasks?teamId={led.id}")
    assert response.status_code == 403
    assert call(stranger_api, "get", "/v1/tasks").json()["tasks"] == []
    assert call(api, "get", "/v1/tasks?status=nonsense").status_code == 400
    assert call(browser(), "get", "/v1/tasks").status_code == 401


def test_status_filter_hides_done_and_deferred(signed_in: Callable[..., tuple[User, Client]]) -> None:
    ada, api = signed_in("Ada")
    team = make_team(ada, [ada], "Core")
    for title, status in (("todo", "TODO"), ("doing", "IN_PROGRESS"), ("done", "DONE")):
        create(api, form_body(title, ada.id, status=status))
        create(api, form_body(f"team {title}", team.id, "team", status=status))
    for title, assignee_id, kind in (("deferred", ada.id, "user"), ("team deferred", team.id, "team")):
        task = create(api, form_body(title, assignee_id, kind, status="IN_PROGRESS"))
        deferred = call(api, "patch", f"/v1/tasks/{task['id']}?action=defer",
                        {"deferredTill": client_iso(local_midnight(5))})  # fmt: skip
        assert deferred.status_code == 200, deferred.json()

    def mine(query: str) -> list[str]:
        return sorted(t for t in titles(api, query) if not t.startswith("team"))

    assert mine("") == ["doing", "todo"]
    assert mine("?status=DONE") == ["doing", "done", "todo"]
    assert mine("?status=done") == ["doing", "done", "todo"]  # case-insensitive
    assert mine("?status=DEFERRED") == ["deferred"]
    [shown] = [t for t in listed(api, "?status=DEFERRED") if t["title"] == "deferred"]
    assert shown["status"] == "DEFERRED" and is_zoned_datetime(shown["deferredDetails"]["deferredTill"])
    assert sorted(titles(api, f"?teamId={team.id}")) == ["team doing", "team todo"]
    assert sorted(titles(api, f"?teamId={team.id}&status=DONE")) == ["team doing", "team done", "team todo"]
    assert titles(api, f"?teamId={team.id}&status=deferred") == ["team deferred"]


def test_newest_activity_first_and_twenty_per_page(signed_in: Callable[..., tuple[User, Client]]) -> None:
    ada, api = signed_in("Ada")
    created = [create(api, form_body(f"task {n}", ada.id)) for n in range(22)]
    shown = titles(api)
    assert len(shown) == 20 and shown[:2] == ["task 21", "task 20"]
    edited = call(api, "patch", f"/v1/tasks/{created[0]['id']}/update", {"priority": "HIGH"})
    assert edited.status_code == 200
    assert titles(api)[0] == "task 0"  # its activity is now the newest


# == PATCH /v1/tasks/{id}/update ========================================================================
def test_edit_answers_the_bare_task(signed_in: Callable[..., tuple[User, Client]]) -> None:
    ada, api = signed_in("Ada")
    grace, _ = signed_in("Grace")
    team = make_team(ada, [ada, grace], "Core")
    feature = make_label("Feature", "#22c55e")
    task = create(api, form_body("Draft", ada.id))
    path = f"/v1/tasks/{task['id']}/update"

    def edit(body: dict[str, Any], code: int = 200) -> dict[str, Any]:
        response = call(api, "patch", path, body)
        assert response.status_code == code, response.json()
        assert mirrored_everywhere() == {}
        return response.json()

    changed = edit({"title": "Final"})
    assert_task(changed)  # bare: no envelope
    assert changed["title"] == "Final" and changed["updatedBy"]["id"] == ada.id
    changed = edit({"status": "IN_PROGRESS"})
    assert changed["status"] == "IN_PROGRESS" and is_zoned_datetime(changed["startedAt"])
    assert edit({"status": "DEFERRED"})["status"] == "IN_PROGRESS"  # changes nothing
    due = local_midnight(40)
    changed = edit({"labels": [feature.id], "dueAt": client_iso(due), "timezone": "Asia/Kolkata",
                    "priority": "MEDIUM", "description": "more"})  # fmt: skip
    assert changed["labels"] == [{"id": feature.id, "name": "Feature", "color": "#22c55e"}]
    assert (changed["priority"], changed["description"]) == ("MEDIUM", "more")
    assert dt.datetime.fromisoformat(changed["dueAt"].replace("Z", "+00:00")) == due
    changed = edit({"assignee": {"assignee_id": team.id, "user_type": "team"}})
    assert (changed["assignee"]["user_type"], changed["assignee"]["assignee_id"]) == ("team", team.id)
    changed = edit({"status": "DONE"})
    [entry] = audits("status_changed")[-1:]
    assert (entry.status_from, entry.status_to, entry.task_id, entry.team_id, entry.performed_by) == (
        "IN_PROGRESS", "DONE", task["id"], team.id, ada.id
    )  # fmt: skip
    edit({"title": " "}, 400)
    edit({"title": "x" * 256}, 400)
    edit({"dueAt": client_iso(local_midnight(-2)), "timezone": "Asia/Kolkata"}, 400)
    assert call(api, "patch", f"/v1/tasks/{MISSING}/update", {"title": "x"}).status_code == 404


def test_only_the_creator_and_assignees_edit(signed_in: Callable[..., tuple[User, Client]]) -> None:
    _, api = signed_in("Ada")
    grace, grace_api = signed_in("Grace")
    _, stranger_api = signed_in("Stranger")
    task = create(api, form_body("For Grace", grace.id))
    path = f"/v1/tasks/{task['id']}/update"
    assert call(stranger_api, "patch", path, {"title": "mine"}).status_code == 403
    assert call(grace_api, "patch", path, {"title": "by the assignee"}).status_code == 200
    assert call(api, "patch", path, {"title": "by the creator"}).status_code == 200
    assert (
        call(api, "patch", f"/v1/tasks/{task['id']}", {"title": "no action"}).json()["title"] == "no action"
    )
    assert mirrored_everywhere() == {}


# == PATCH /v1/tasks/{id}?action=defer =================================================================
def test_defer(signed_in: Callable[..., tuple[User, Client]]) -> None:
    ada, api = signed_in("Ada")
    task = create(api, form_body("Later", ada.id, status="IN_PROGRESS", dueAt=client_iso(local_midnight(10))))
    path = f"/v1/tasks/{task['id']}?action=defer"
    till = local_midnight(3)
    response = call(api, "patch", path, {"deferredTill": client_iso(till)})
    assert response.status_code == 200, response.json()
    deferred = response.json()
    assert_task(deferred)
    assert deferred["status"] == "DEFERRED"
    details = deferred["deferredDetails"]
    assert dt.datetime.fromisoformat(details["deferredTill"].replace("Z", "+00:00")) == till
    assert_person(details["deferredBy"], ada)
    assert get_repository(Task).get_by_id(task["id"]).status == "TODO"  # stored
    assert mirrored_everywhere() == {}
    assert titles(api) == [] and titles(api, "?status=DONE") == []
    assert titles(api, "?status=DEFERRED") == ["Later"]

    assert call(api, "patch", path, {"deferredTill": client_iso(local_midnight(-1))}).status_code == 400
    assert call(api, "patch", path, {"deferredTill": client_iso(local_midnight(10))}).status_code == 422
    assert call(api, "patch", path, {"deferredTill": client_iso(local_midnight(20))}).status_code == 422
    # any status but DEFERRED ends the deferral
    back = call(api, "patch", f"/v1/tasks/{task['id']}/update", {"status": "IN_PROGRESS"}).json()
    assert back["status"] == "IN_PROGRESS" and back["deferredDetails"] is None
    assert titles(api) == ["Later"]
    call(api, "patch", f"/v1/tasks/{task['id']}/update", {"status": "DONE"})
    assert call(api, "patch", path, {"deferredTill": client_iso(till)}).status_code == 409
    _, stranger_api = signed_in("Stranger")
    other = create(api, form_body("Not theirs", ada.id))
    response = call(stranger_api, "patch", f"/v1/tasks/{other['id']}?action=defer",
                    {"deferredTill": client_iso(till)})  # fmt: skip
    assert response.status_code == 403
    assert mirrored_everywhere() == {}
