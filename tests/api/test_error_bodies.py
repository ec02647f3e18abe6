"""Whole error bodies of task refusals the other API tests check by status or source only: the
wording, the status and where the input is named must stay as the web client knows them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from tests.api.task_helpers import client, create_task, make_team, send
from todo.models.documents import Team
from todo.repositories.factory import get_repository

pytestmark = pytest.mark.django_db(transaction=True)
MISSING = "0123456789abcdef01234567"


def iso(days: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).isoformat().replace("+00:00", "Z")


def body(status: int, message: str, source: dict[str, str], title: str, detail: str) -> dict:
    return {
        "statusCode": status,
        "message": message,
        "errors": [{"source": source, "title": title, "detail": detail}],
    }


def test_a_due_date_before_a_running_deferral(api: Client) -> None:
    task = create_task(api, "Later")
    assert (
        send(api, "patch", f"/v1/tasks/{task['id']}?action=defer", {"deferredTill": iso(5)}).status_code
        == 200
    )
    response = send(api, "patch", f"/v1/tasks/{task['id']}", {"dueAt": iso(2)})
    assert (response.status_code, response.json()) == (
        400,
        body(
            400,
            "Invalid dueAt",
            {"pointer": "dueAt"},
            "Invalid value",
            "must be after the task's deferredTill",
        ),
    )


def test_a_deferral_after_the_due_date(api: Client) -> None:
    task = create_task(api, "Due soon", dueAt=iso(2))
    response = send(api, "patch", f"/v1/tasks/{task['id']}?action=defer", {"deferredTill": iso(3)})
    assert (response.status_code, response.json()) == (
        422,
        body(
            422,
            "Invalid deferredTill",
            {"pointer": "deferredTill"},
            "Invalid value",
            "must be before the task's dueAt",
        ),
    )


def test_a_team_task_needs_the_team_and_its_member(api: Client, user, make_user) -> None:
    grace, linus = make_user("Grace"), make_user("Linus")
    theirs = make_team(grace, [grace], "Theirs")
    ours = make_team(user, [user, grace], "Ours")

    def create(team_id: str, assignee_id: str) -> tuple[int, dict]:
        sent = {
            "title": "x",
            "team_id": team_id,
            "assignee": {"assignee_id": assignee_id, "user_type": "user"},
        }
        response = send(api, "post", "/v1/tasks", sent)
        return response.status_code, response.json()

    detail = "Only the team's point of contact or members may assign its tasks"
    assert create(theirs.id, grace.id) == (
        403,
        body(403, "Not allowed", {"pointer": "team_id"}, "Forbidden", detail),
    )
    assert create(MISSING, grace.id) == (
        404,
        body(404, "Team not found", {"pointer": "team_id"}, "Not found", "No such team"),
    )
    assert create(ours.id, MISSING) == (
        404,
        body(404, "User not found", {"pointer": "assignee_id"}, "Not found", "No such user"),
    )
    assert create(ours.id, linus.id) == (
        400,
        body(
            400,
            "Invalid assignee_id",
            {"pointer": "assignee_id"},
            "Invalid value",
            "must be a member of the team",
        ),
    )


def test_the_executor_of_a_task_whose_team_is_gone(api: Client, user, make_user) -> None:
    grace = make_user("Grace")
    team = make_team(user, [user, grace])
    task = create_task(api, assignee={"assignee_id": team.id, "user_type": "team"})
    get_repository(Team).update(team.id, {"is_deleted": True})
    response = send(api, "patch", f"/v1/task-assignments/{task['id']}", {"executor_id": grace.id})
    assert (response.status_code, response.json()) == (
        404,
        body(404, "Team not found", {"path": "task_id"}, "Not found", "No such team"),
    )


def test_watching_a_task_the_viewer_may_not_read(make_user) -> None:
    owner, stranger = make_user("Grace"), make_user("Linus")
    task = create_task(client(owner), "Private")
    response = send(client(stranger), "post", "/v1/watchlist/tasks", {"taskId": task["id"]})
    assert (response.status_code, response.json()) == (
        404,
        body(404, "Task not found", {"pointer": "taskId"}, "Not found", "No such task"),
    )
