"""The team page's reassign button (docs/frontend-contract.md section 8): the team's point of contact
hands a team task to a member. After every write Postgres holds what MongoDB holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.api.task_helpers import form_body, make_team
from tests.contract.conftest import browser, call
from tests.contract.helpers import mirrored_everywhere
from todo.models.documents import AuditLog, User
from todo.repositories.factory import get_repository

pytestmark = pytest.mark.django_db(transaction=True)
MISSING = "0123456789abcdef01234567"


def create(api: Client, body: dict[str, Any]) -> dict[str, Any]:
    response = call(api, "post", "/v1/tasks", body)
    assert response.status_code == 201, response.json()
    return response.json()["data"]


def titles(api: Client, query: str = "") -> list[str]:
    response = call(api, "get", f"/v1/tasks{query}")
    assert response.status_code == 200, response.json()
    return sorted(t["title"] for t in response.json()["tasks"])


def test_the_point_of_contact_hands_a_team_task_to_a_member(
    signed_in: Callable[..., tuple[User, Client]],
) -> None:
    poc, poc_api = signed_in("Ada")
    grace, grace_api = signed_in("Grace")
    team = make_team(poc, [poc, grace], "Core")
    task = create(poc_api, form_body("Team work", team.id, "team"))
    assert titles(poc_api) == ["Team work"] and titles(grace_api) == []

    response = call(poc_api, "patch", f"/v1/task-assignments/{task['id']}", {"executor_id": grace.id})
    assert response.status_code == 200, response.json()
    assert response.json()["message"] == "Executor updated successfully."
    assert mirrored_everywhere() == {}

    [shown] = call(poc_api, "get", f"/v1/tasks?teamId={team.id}").json()["tasks"]  # stays on the team list
    assignee = shown["assignee"]
    assert (assignee["user_type"], assignee["assignee_id"], assignee["assignee_name"]) == (
        "user",
        grace.id,
        "Grace",
    )
    assert (assignee["team_id"], assignee["executor_id"]) == (team.id, grace.id)
    assert titles(grace_api) == ["Team work"]  # now on the executor's own list
    assert titles(poc_api) == []  # no longer a task of a team the POC leads
    [entry] = get_repository(AuditLog).get_all({"action": "reassign_executor"})
    assert (entry.spoc_id, entry.previous_executor_id, entry.new_executor_id, entry.task_id, entry.team_id) == (
        poc.id, None, grace.id, task["id"], team.id
    )  # fmt: skip
    # the executor may now edit it as its assignee
    edited = call(grace_api, "patch", f"/v1/tasks/{task['id']}/update", {"status": "IN_PROGRESS"})
    assert edited.status_code == 200
    assert mirrored_everywhere() == {}


def test_hand_over_refusals(signed_in: Callable[..., tuple[User, Client]]) -> None:
    poc, poc_api = signed_in("Ada")
    grace, grace_api = signed_in("Grace")
    outsider, _ = signed_in("Outsider")
    team = make_team(poc, [poc, grace], "Core")
    team_task = create(poc_api, form_body("Team work", team.id, "team"))
    own_task = create(poc_api, form_body("Mine", poc.id))
    path = f"/v1/task-assignments/{team_task['id']}"

    def refused(api: Client, where: str, executor: str, code: int) -> None:
        response = call(api, "patch", where, {"executor_id": executor})
        assert response.status_code == code, response.json()

    refused(poc_api, f"/v1/task-assignments/{own_task['id']}", grace.id, 400)  # not a team task
    refused(grace_api, path, grace.id, 403)  # a member, not the point of contact
    refused(poc_api, path, outsider.id, 400)  # not a member
    refused(poc_api, path, MISSING, 400)  # no such user
    refused(poc_api, f"/v1/task-assignments/{MISSING}", grace.id, 404)
    refused(browser(), path, grace.id, 401)
    assert get_repository(AuditLog).get_all({"action": "reassign_executor"}) == []
    assert mirrored_everywhere() == {}
