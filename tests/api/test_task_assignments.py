"""Task assignments: PATCH /v1/tasks/{id}/assign, POST /v1/task-assignments and
GET/PATCH/DELETE /v1/task-assignments/{task_id}: one active assignment per task, who may assign,
the executor of team tasks, and bad input, checked in the response and in the Postgres mirror."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.api.task_helpers import (
    OPERATOR_VALUES,
    client,
    create_task,
    error_sources,
    make_team,
    mirrored_everywhere,
    send,
)
from todo.models.documents import TaskAssignment
from todo.models.postgres import PostgresAuditLog, PostgresTaskAssignment
from todo.repositories.factory import get_repository

pytestmark = pytest.mark.django_db(transaction=True)
MISSING = "0123456789abcdef01234567"


def active_rows(task_id: str) -> list[PostgresTaskAssignment]:
    return list(PostgresTaskAssignment.objects.filter(task_id=task_id, is_active=True))


# == assign and reassign ============================================================================
def test_assign_then_reassign_keeps_one_active_row(api: Client, user, make_user) -> None:
    grace, linus = make_user("Grace"), make_user("Linus")
    task = create_task(api, "Hand over")
    response = send(
        api, "patch", f"/v1/tasks/{task['id']}/assign", {"assignee_id": grace.id, "user_type": "user"}
    )
    assert response.status_code == 200, response.json()
    first = response.json()["data"]
    assert (first["assignee_id"], first["assignee_name"], first["user_type"]) == (grace.id, "Grace", "user")
    body = {"task_id": task["id"], "assignee_id": linus.id, "user_type": "user"}
    response = send(api, "post", "/v1/task-assignments", body)
    assert response.status_code == 201, response.json()
    second = response.json()["data"]
    assert second["assignee_id"] == linus.id and second["id"] != first["id"]
    assert [r.assignee_id for r in active_rows(task["id"])] == [linus.id]
    old = PostgresTaskAssignment.objects.get(mongo_id=first["id"])
    assert (old.is_active, old.updated_by) == (False, user.id)
    audits = PostgresAuditLog.objects.filter(task_id=task["id"], action="assigned_to_member").order_by(
        "timestamp"
    )
    assert [a.assignee_to for a in audits] == [grace.id, linus.id]
    assert api.get(f"/v1/task-assignments/{task['id']}").json()["data"]["assignee_id"] == linus.id
    assert (
        len(client(linus).get("/v1/tasks").json()["tasks"]) == 1
        and client(grace).get("/v1/tasks").json()["tasks"] == []
    )
    assert mirrored_everywhere() == {}


def test_assign_to_a_team_and_back_to_a_member(api: Client, user, make_user) -> None:
    grace = make_user("Grace")
    team = make_team(grace, [grace, user], "Core")
    task = create_task(api, "Team work")
    data = send(
        api, "patch", f"/v1/tasks/{task['id']}/assign", {"assignee_id": team.id, "user_type": "team"}
    ).json()
    assert (data["data"]["team_id"], data["data"]["assignee_name"]) == (team.id, "Core")
    assert PostgresAuditLog.objects.filter(task_id=task["id"], action="assigned_to_team").count() == 1
    body = {"assignee_id": grace.id, "user_type": "user"}
    member = send(client(grace), "patch", f"/v1/tasks/{task['id']}/assign", body).json()["data"]
    assert member["team_id"] == team.id  # the task still comes from the team
    assert PostgresAuditLog.objects.filter(task_id=task["id"], action="unassigned_from_team").count() == 1
    assert mirrored_everywhere() == {}


def test_who_may_assign(api: Client, user, make_user) -> None:
    grace, linus, ken = make_user("Grace"), make_user("Linus"), make_user("Ken")
    task = create_task(api, "Mine")
    to_grace = {"assignee_id": grace.id, "user_type": "user"}
    response = send(client(linus), "patch", f"/v1/tasks/{task['id']}/assign", to_grace)
    assert response.status_code == 403 and error_sources(response) == [{"path": "id"}]
    assert send(api, "patch", f"/v1/tasks/{task['id']}/assign", to_grace).status_code == 200
    # the assignee may pass it on; a stranger may not
    to_linus = {"assignee_id": linus.id, "user_type": "user"}
    assert send(client(grace), "patch", f"/v1/tasks/{task['id']}/assign", to_linus).status_code == 200
    body = {"task_id": task["id"], "assignee_id": ken.id, "user_type": "user"}
    response = send(client(grace), "post", "/v1/task-assignments", body)
    assert response.status_code == 403 and error_sources(response) == [{"pointer": "task_id"}]
    # to a team: only its point of contact or members
    theirs = make_team(ken, [ken], "Theirs")
    response = send(
        client(linus),
        "patch",
        f"/v1/tasks/{task['id']}/assign",
        {"assignee_id": theirs.id, "user_type": "team"},
    )
    assert response.status_code == 403 and error_sources(response) == [{"pointer": "assignee_id"}]
    assert [r.assignee_id for r in active_rows(task["id"])] == [linus.id]


def test_assigning_the_current_assignee_again_is_a_conflict(api: Client, make_user) -> None:
    grace = make_user("Grace")
    task = create_task(api, assignee={"assignee_id": grace.id, "user_type": "user"})
    response = send(
        api, "patch", f"/v1/tasks/{task['id']}/assign", {"assignee_id": grace.id, "user_type": "user"}
    )
    assert response.status_code == 409 and response.json()["statusCode"] == 409
    assert PostgresTaskAssignment.objects.filter(task_id=task["id"]).count() == 1


def test_assign_unknown_ids(api: Client) -> None:
    task = create_task(api)
    for user_type in ("user", "team"):
        body = {"assignee_id": MISSING, "user_type": user_type}
        response = send(api, "patch", f"/v1/tasks/{task['id']}/assign", body)
        assert response.status_code == 404 and error_sources(response) == [{"pointer": "assignee_id"}]
    body = {"assignee_id": MISSING, "user_type": "user"}
    assert send(api, "patch", f"/v1/tasks/{MISSING}/assign", body).status_code == 404
    response = send(api, "post", "/v1/task-assignments", {"task_id": MISSING, **body})
    assert response.status_code == 404 and error_sources(response) == [{"pointer": "task_id"}]
    assert PostgresTaskAssignment.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({}, "assignee_id"),
        ({"assignee_id": "xyz", "user_type": "user"}, "assignee_id"),
        ({"assignee_id": MISSING, "user_type": "USER"}, "user_type"),
        ({"assignee_id": MISSING, "user_type": {"$ne": None}}, "user_type"),
        ({"assignee_id": MISSING, "user_type": "user", "team_id": MISSING}, "team_id"),
        *(({"assignee_id": value, "user_type": "user"}, "assignee_id") for value in OPERATOR_VALUES),
    ],
)
def test_assign_refuses_bad_input(api: Client, body: dict, pointer: str) -> None:
    task = create_task(api)
    response = send(api, "patch", f"/v1/tasks/{task['id']}/assign", body)
    assert response.status_code == 400 and {"pointer": pointer} in error_sources(response)
    response = send(api, "post", "/v1/task-assignments", {"task_id": task["id"], **body})
    assert response.status_code == 400 and {"pointer": pointer} in error_sources(response)
    assert PostgresTaskAssignment.objects.count() == 0


@pytest.mark.parametrize("value", [*OPERATOR_VALUES, "nope", "a\x00" * 12])
def test_create_assignment_refuses_bad_task_ids(api: Client, user, value) -> None:
    body = {"task_id": value, "assignee_id": user.id, "user_type": "user"}
    response = send(api, "post", "/v1/task-assignments", body)
    assert response.status_code == 400 and {"pointer": "task_id"} in error_sources(response)
    assert send(api, "patch", "/v1/tasks/nope/assign", body).status_code == 400


def test_concurrent_assignments_settle_on_one_active_row(api: Client, user, make_user) -> None:
    from todo.repositories.abstract_repository import now
    from todo.services.task_assignment_service import _settle

    grace = make_user("Grace")
    task = create_task(api, assignee={"assignee_id": user.id, "user_type": "user"})
    # a second active row, as a racing request would leave it
    racing = get_repository(TaskAssignment).create(
        {
            "task_id": task["id"],
            "assignee_id": grace.id,
            "user_type": "user",
            "is_active": True,
            "created_at": now(),
        }
    )
    _settle(task["id"], keep=racing.id, actor=user.id)
    assert [r.mongo_id for r in active_rows(task["id"])] == [racing.id]


# == GET /v1/task-assignments/{task_id} =============================================================
def test_get_assignment(api: Client, make_user) -> None:
    grace = make_user("Grace")
    task = create_task(api, assignee={"assignee_id": grace.id, "user_type": "user"})
    data = client(grace).get(f"/v1/task-assignments/{task['id']}").json()["data"]
    assert (data["task_id"], data["assignee_id"], data["is_active"]) == (task["id"], grace.id, True)
    unassigned = create_task(api)
    response = api.get(f"/v1/task-assignments/{unassigned['id']}")
    assert response.status_code == 404 and error_sources(response) == [{"path": "task_id"}]
    assert api.get(f"/v1/task-assignments/{MISSING}").status_code == 404
    response = api.get("/v1/task-assignments/123")
    assert response.status_code == 400 and error_sources(response) == [{"path": "task_id"}]


# == PATCH /v1/task-assignments/{task_id}: the executor =============================================
def test_point_of_contact_sets_the_executor(api: Client, user, make_user) -> None:
    grace, linus, ken = make_user("Grace"), make_user("Linus"), make_user("Ken")
    team = make_team(grace, [grace, linus, user], "Core")
    task = create_task(api, assignee={"assignee_id": team.id, "user_type": "team"})
    path = f"/v1/task-assignments/{task['id']}"
    response = send(api, "patch", path, {"executor_id": linus.id})  # a member, not the point of contact
    assert response.status_code == 403
    response = send(client(grace), "patch", path, {"executor_id": linus.id})
    assert response.status_code == 200, response.json()
    assert response.json()["message"] == "Executor updated successfully."
    data = response.json()["data"]
    assert (data["executor_id"], data["executor_name"]) == (linus.id, "Linus")
    # the assignment becomes the executor's, keeping the team
    assert (data["assignee_id"], data["user_type"], data["team_id"]) == (linus.id, "user", team.id)
    row = PostgresTaskAssignment.objects.get(task_id=task["id"], is_active=True)
    assert (row.executor_id, row.assignee_id, row.user_type, row.updated_by) == (
        linus.id, linus.id, "user", grace.id
    )  # fmt: skip
    audit = PostgresAuditLog.objects.get(task_id=task["id"], action="reassign_executor")
    assert (audit.previous_executor_id, audit.new_executor_id, audit.performed_by, audit.spoc_id) == (
        None, linus.id, grace.id, grace.id
    )  # fmt: skip
    assert len(client(linus).get("/v1/tasks").json()["tasks"]) == 1  # the executor sees it among their tasks
    other = create_task(api, assignee={"assignee_id": team.id, "user_type": "team"})
    other_path = f"/v1/task-assignments/{other['id']}"
    response = send(client(grace), "patch", other_path, {"executor_id": ken.id})  # not a member
    assert response.status_code == 400 and error_sources(response) == [{"pointer": "executor_id"}]
    response = send(client(grace), "patch", other_path, {"executor_id": MISSING})
    assert response.status_code == 400 and error_sources(response) == [{"pointer": "executor_id"}]
    response = send(client(grace), "patch", path, {"executor_id": grace.id})  # no longer a team task
    assert response.status_code == 400
    assert PostgresTaskAssignment.objects.get(task_id=task["id"], is_active=True).executor_id == linus.id
    assert mirrored_everywhere() == {}


def test_executor_only_for_team_tasks(api: Client, user, make_user) -> None:
    grace = make_user("Grace")
    task = create_task(api, assignee={"assignee_id": grace.id, "user_type": "user"})
    response = send(api, "patch", f"/v1/task-assignments/{task['id']}", {"executor_id": grace.id})
    assert response.status_code == 400
    unassigned = create_task(api)
    assert (
        send(api, "patch", f"/v1/task-assignments/{unassigned['id']}", {"executor_id": user.id}).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("body", "pointer"),
    [({}, "executor_id"), ({"executor_id": "x"}, "executor_id"), ({"executor_id": MISSING, "extra": 1}, "extra"),
     *(({"executor_id": value}, "executor_id") for value in OPERATOR_VALUES)],
)  # fmt: skip
def test_executor_refuses_bad_input(api: Client, user, body: dict, pointer: str) -> None:
    team = make_team(user, [user], "Core")
    task = create_task(api, assignee={"assignee_id": team.id, "user_type": "team"})
    response = send(api, "patch", f"/v1/task-assignments/{task['id']}", body)
    assert response.status_code == 400 and {"pointer": pointer} in error_sources(response)


# == DELETE /v1/task-assignments/{task_id} ==========================================================
def test_unassign(api: Client, user, make_user) -> None:
    grace, linus = make_user("Grace"), make_user("Linus")
    task = create_task(api, assignee={"assignee_id": grace.id, "user_type": "user"})
    path = f"/v1/task-assignments/{task['id']}"
    assert client(linus).delete(path).status_code == 403
    assert client(grace).delete(path).status_code == 204
    assert (
        active_rows(task["id"]) == []
        and PostgresTaskAssignment.objects.filter(task_id=task["id"]).count() == 1
    )
    assert api.get(path).status_code == 404
    assert api.delete(path).status_code == 404
    assert api.get(f"/v1/tasks/{task['id']}").json()["data"]["assignee"] is None
    assert api.delete("/v1/task-assignments/bad").status_code == 400
    assert mirrored_everywhere() == {}


def test_unassign_a_team_task_by_its_point_of_contact(api: Client, user, make_user) -> None:
    grace = make_user("Grace")
    team = make_team(grace, [grace, user], "Core")
    task = create_task(api, assignee={"assignee_id": team.id, "user_type": "team"})
    assert client(grace).delete(f"/v1/task-assignments/{task['id']}").status_code == 204
    audit = PostgresAuditLog.objects.get(task_id=task["id"], action="unassigned_from_team")
    assert (audit.team_id, audit.performed_by) == (team.id, grace.id)


def test_assignments_need_sign_in() -> None:
    anonymous = Client()
    assert send(anonymous, "post", "/v1/task-assignments", {}).status_code == 401
    assert anonymous.get(f"/v1/task-assignments/{MISSING}").status_code == 401
    assert send(anonymous, "patch", f"/v1/task-assignments/{MISSING}", {}).status_code == 401
    assert anonymous.delete(f"/v1/task-assignments/{MISSING}").status_code == 401
    assert send(anonymous, "patch", f"/v1/tasks/{MISSING}/assign", {}).status_code == 401
