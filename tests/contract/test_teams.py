"""Teams as the web client uses them (docs/frontend-contract.md, section 9): bare snake_case team
objects, the create form's body, membership rules and codes, and an activity timeline whose
entries name people, the team and tasks. After every write, Postgres holds what MongoDB holds."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.api.team_helpers import new_code
from tests.contract.conftest import browser, call
from tests.contract.helpers import is_zoned_datetime, keys_of, mirrored_everywhere
from todo.models.documents import AuditLog, Task, TaskAssignment, User
from todo.repositories.abstract_repository import now
from todo.repositories.factory import get_repository

pytestmark = pytest.mark.django_db(transaction=True)
TEAM_KEYS = (
    "id",
    "name",
    "description",
    "poc_id",
    "created_by",
    "updated_by",
    "created_at",
    "updated_at",
    "users",
)
MISSING = "5f5f5f5f5f5f5f5f5f5f5f5f"
SignedIn = Callable[..., tuple[User, Client]]


def assert_team(team: dict[str, Any], *, with_invite_code: bool = False) -> None:
    """The team object exactly as the client reads it."""
    expected = set(TEAM_KEYS) | ({"invite_code"} if with_invite_code else set())
    assert set(team) == expected
    assert isinstance(team["id"], str) and isinstance(team["name"], str)
    assert team["description"] is None or isinstance(team["description"], str)
    assert team["poc_id"] is None or isinstance(team["poc_id"], str)
    assert isinstance(team["created_by"], str)
    for key in ("created_at", "updated_at"):
        assert is_zoned_datetime(team[key]), (key, team[key])


def create_form(
    creator: User, members: list[User], *, poc: User | None = None, **extra: Any
) -> dict[str, Any]:
    """The body of the client's create form: the POC defaults to the creator."""
    body = {
        "name": "Core",
        "description": "",
        "member_ids": [m.id for m in members],
        "poc_id": (poc or creator).id,
        "team_invite_code": new_code(),
    }
    return {**body, **extra}


def create_team(
    api: Client, creator: User, members: list[User] | None = None, **extra: Any
) -> dict[str, Any]:
    response = call(api, "post", "/v1/teams", create_form(creator, members or [], **extra))
    assert response.status_code == 201, response.content
    return response.json()["team"]


def roles_of(api: Client, team_id: str, user_id: str) -> list[str]:
    response = call(api, "get", f"/v1/teams/{team_id}/users/{user_id}/roles")
    assert response.status_code == 200, response.content
    return sorted(r["role_name"] for r in response.json()["roles"])


def timeline(api: Client, team_id: str) -> list[dict[str, Any]]:
    response = call(api, "get", f"/v1/teams/{team_id}/activity-timeline")
    assert response.status_code == 200, response.content
    return response.json()["timeline"]


def member_ids(api: Client, team_id: str) -> set[str]:
    response = call(api, "get", f"/v1/teams/{team_id}?member=true")
    assert response.status_code == 200
    return {u["id"] for u in response.json()["users"]}


# -- create ------------------------------------------------------------------------------------------
def test_create_team_as_the_form_sends_it(signed_in: SignedIn) -> None:
    ada, api = signed_in("Ada")
    bob, _ = signed_in("Bob")
    code = new_code()
    body = create_form(ada, [bob], team_invite_code=code)
    response = call(api, "post", "/v1/teams", body)
    assert response.status_code == 201, response.content
    answer = response.json()
    assert set(answer) == {"team", "message"} and answer["message"] == "Team created successfully"
    team = answer["team"]
    assert_team(team, with_invite_code=True)
    assert (team["name"], team["poc_id"], team["created_by"], team["users"]) == ("Core", ada.id, ada.id, None)
    assert re.fullmatch(r"[0-9A-Z]{6}", team["invite_code"]) and team["invite_code"] != code
    assert mirrored_everywhere() == {}
    # creator: owner, admin and member; the others: member
    assert roles_of(api, team["id"], ada.id) == ["admin", "member", "owner"]
    assert roles_of(api, team["id"], bob.id) == ["member"]
    assert member_ids(api, team["id"]) == {ada.id, bob.id}
    entries = timeline(api, team["id"])
    created = [e for e in entries if e["action"] == "team_created"]
    assert len(created) == 1
    assert (created[0]["performed_by_name"], created[0]["team_name"]) == ("Ada", "Core")
    # the creation code is consumed: a second use fails
    again = call(api, "post", "/v1/teams", create_form(ada, [], team_invite_code=code, name="Other"))
    assert again.status_code == 400
    assert call(api, "get", "/v1/teams").json()["total"] == 1
    assert mirrored_everywhere() == {}


def test_create_team_without_a_point_of_contact_stores_none(signed_in: SignedIn) -> None:
    ada, api = signed_in("Ada")
    body = create_form(ada, [])
    body["poc_id"] = None
    response = call(api, "post", "/v1/teams", body)
    assert response.status_code == 201, response.content
    team = response.json()["team"]
    assert team["poc_id"] is None and team["description"] in (None, "")
    assert call(api, "get", f"/v1/teams/{team['id']}").json()["poc_id"] is None
    assert mirrored_everywhere() == {}


def test_the_point_of_contact_becomes_a_member(signed_in: SignedIn) -> None:
    ada, api = signed_in("Ada")
    cy, _ = signed_in("Cy")
    team = create_team(api, ada, [], poc=cy)
    assert team["poc_id"] == cy.id
    assert member_ids(api, team["id"]) == {ada.id, cy.id}
    assert roles_of(api, team["id"], cy.id) == ["member"]
    assert mirrored_everywhere() == {}


@pytest.mark.parametrize(
    "change",
    [
        {"name": ""},
        {"name": "x" * 101},
        {"description": "x" * 501},
        {"team_invite_code": "ABC"},
        {"team_invite_code": "A" * 21},
        {"member_ids": [MISSING]},
        {"poc_id": MISSING},
        {"member_ids": ["not-an-id"]},
    ],
)
def test_create_team_bad_input_is_400_and_keeps_the_code(signed_in: SignedIn, change: dict[str, Any]) -> None:
    ada, api = signed_in("Ada")
    body = create_form(ada, [])
    code = body["team_invite_code"]
    response = call(api, "post", "/v1/teams", {**body, **change})
    assert response.status_code == 400, response.content
    assert call(api, "get", "/v1/teams").json()["total"] == 0
    # the code was not used up by the failed attempt
    assert call(api, "post", "/v1/team-invite-codes/verify", {"code": code}).status_code == 200


def test_create_team_with_an_unknown_code_is_400(signed_in: SignedIn) -> None:
    ada, api = signed_in("Ada")
    response = call(api, "post", "/v1/teams", create_form(ada, [], team_invite_code="NOSUCHCODE"))
    assert response.status_code == 400


def test_long_creation_codes_are_accepted(signed_in: SignedIn) -> None:
    """Team-creation codes may be 6 to 20 characters (older ones were made elsewhere)."""
    from todo.models.documents import TeamCreationInviteCode

    ada, api = signed_in("Ada")
    get_repository(TeamCreationInviteCode).create(
        {"code": "LEGACY-CODE_1234", "created_by": "system", "created_at": now(), "is_used": False}
    )
    response = call(api, "post", "/v1/teams", create_form(ada, [], team_invite_code="LEGACY-CODE_1234"))
    assert response.status_code == 201, response.content
    assert mirrored_everywhere() == {}


# -- list and read -----------------------------------------------------------------------------------
def test_list_my_teams(signed_in: SignedIn) -> None:
    ada, api = signed_in("Ada")
    bob, bob_api = signed_in("Bob")
    create_team(api, ada, [], name="Zeta")
    create_team(api, ada, [bob], name="Alpha")
    create_team(bob_api, bob, [], name="Bob's own")
    response = call(api, "get", "/v1/teams")
    assert response.status_code == 200
    body = response.json()
    keys_of(body, "teams", "total")
    assert body["total"] == 2 and [t["name"] for t in body["teams"]] == ["Alpha", "Zeta"]
    for team in body["teams"]:
        assert_team(team)
        assert team["users"] is None
    assert call(bob_api, "get", "/v1/teams").json()["total"] == 2


def test_read_a_team_bare(signed_in: SignedIn) -> None:
    ada, api = signed_in("Ada")
    bob, bob_api = signed_in("Bob")
    _, outsider = signed_in("Cy")
    team = create_team(api, ada, [bob])
    response = call(bob_api, "get", f"/v1/teams/{team['id']}")
    assert response.status_code == 200
    read = response.json()
    assert_team(read)
    assert (read["id"], read["name"], read["created_by"], read["poc_id"], read["users"]) == (
        team["id"], "Core", ada.id, ada.id, None,
    )  # fmt: skip
    assert call(outsider, "get", f"/v1/teams/{team['id']}").status_code == 403
    assert call(api, "get", f"/v1/teams/{MISSING}").status_code == 404
    assert call(browser(), "get", f"/v1/teams/{team['id']}").status_code == 401


def test_read_a_team_with_its_members(signed_in: SignedIn) -> None:
    ada, api = signed_in("Ada")
    bob, _ = signed_in("Bob")
    team = create_team(api, ada, [bob])
    moment = now()
    tasks = get_repository(Task)
    assignments = get_repository(TaskAssignment)
    for title, status in (("open", "TODO"), ("done", "DONE")):
        task = tasks.create({"title": title, "status": status, "createdAt": moment, "updatedAt": moment})
        assignments.create(
            {"task_id": task.id, "assignee_id": bob.id, "user_type": "user", "team_id": team["id"],
             "is_active": True, "created_at": moment, "updated_at": moment}
        )  # fmt: skip
    elsewhere = tasks.create({"title": "not this team", "createdAt": moment, "updatedAt": moment})
    assignments.create(
        {"task_id": elsewhere.id, "assignee_id": bob.id, "user_type": "user", "team_id": None,
         "is_active": True, "created_at": moment, "updated_at": moment}
    )  # fmt: skip
    response = call(api, "get", f"/v1/teams/{team['id']}?member=true")
    assert response.status_code == 200
    read = response.json()
    assert_team(read)
    assert (read["created_by"], read["poc_id"]) == (ada.id, ada.id)
    users = {u["id"]: u for u in read["users"]}
    for entry in users.values():
        assert set(entry) == {"id", "name", "addedOn", "tasksAssignedCount"}
        assert is_zoned_datetime(entry["addedOn"])
        assert isinstance(entry["tasksAssignedCount"], int)
    assert (users[ada.id]["name"], users[ada.id]["tasksAssignedCount"]) == ("Ada", 0)
    assert (users[bob.id]["name"], users[bob.id]["tasksAssignedCount"]) == ("Bob", 2)
    assert mirrored_everywhere() == {}


# -- join by invite ----------------------------------------------------------------------------------
def test_join_by_invite(signed_in: SignedIn) -> None:
    ada, api = signed_in("Ada")
    bob, bob_api = signed_in("Bob")
    team = create_team(api, ada, [])
    response = call(bob_api, "post", "/v1/teams/join-by-invite", {"invite_code": team["invite_code"]})
    assert response.status_code == 200, response.content
    joined = response.json()
    assert_team(joined)
    assert (joined["id"], joined["name"]) == (team["id"], "Core")
    assert roles_of(api, team["id"], bob.id) == ["member"]
    assert mirrored_everywhere() == {}
    entry = next(e for e in timeline(api, team["id"]) if e["action"] == "member_joined_team")
    assert (entry["performed_by_name"], entry["team_name"]) == ("Bob", "Core")
    again = call(bob_api, "post", "/v1/teams/join-by-invite", {"invite_code": team["invite_code"]})
    assert again.status_code == 400
    assert call(bob_api, "post", "/v1/teams/join-by-invite", {"invite_code": "ZZZZZZ"}).status_code == 400
    assert mirrored_everywhere() == {}


# -- add members -------------------------------------------------------------------------------------
def test_add_members(signed_in: SignedIn) -> None:
    ada, api = signed_in("Ada")
    bob, bob_api = signed_in("Bob")
    cy, _ = signed_in("Cy")
    dee, dee_api = signed_in("Dee")
    team = create_team(api, ada, [bob])
    url = f"/v1/teams/{team['id']}/members"
    response = call(bob_api, "post", url, {"member_ids": [cy.id]})
    assert response.status_code == 200, response.content
    assert_team(response.json())
    assert member_ids(api, team["id"]) == {ada.id, bob.id, cy.id}
    assert roles_of(api, team["id"], cy.id) == ["member"]
    assert mirrored_everywhere() == {}
    entry = next(e for e in timeline(api, team["id"]) if e["action"] == "member_added_to_team")
    assert (entry["performed_by_name"], entry["team_name"]) == ("Bob", "Core")
    assert call(dee_api, "post", url, {"member_ids": [dee.id]}).status_code == 403  # not a member
    assert call(api, "post", url, {"member_ids": [MISSING]}).status_code == 400
    assert call(api, "post", url, {"member_ids": [cy.id]}).status_code == 400  # already a member
    assert call(api, "post", url, {"member_ids": []}).status_code == 400
    assert call(api, "post", f"/v1/teams/{MISSING}/members", {"member_ids": [dee.id]}).status_code == 404
    assert member_ids(api, team["id"]) == {ada.id, bob.id, cy.id}
    assert mirrored_everywhere() == {}


# -- remove and leave --------------------------------------------------------------------------------
def _assign(user: User, team_id: str, title: str, status: str = "TODO") -> str:
    moment = now()
    task = get_repository(Task).create(
        {"title": title, "status": status, "createdAt": moment, "updatedAt": moment}
    )
    get_repository(TaskAssignment).create(
        {"task_id": task.id, "assignee_id": user.id, "user_type": "user", "team_id": team_id,
         "is_active": True, "created_at": moment, "updated_at": moment}
    )  # fmt: skip
    return task.id


def test_an_admin_removes_a_member_whose_open_tasks_return_to_the_team(signed_in: SignedIn) -> None:
    ada, api = signed_in("Ada")
    bob, bob_api = signed_in("Bob")
    team = create_team(api, ada, [bob])
    open_task = _assign(bob, team["id"], "open work")
    done_task = _assign(bob, team["id"], "finished", status="DONE")
    response = call(api, "delete", f"/v1/teams/{team['id']}/members/{bob.id}")
    assert response.status_code == 204
    assert member_ids(api, team["id"]) == {ada.id}
    active = get_repository(TaskAssignment).get_active_for_task(open_task)
    assert (active.assignee_id, active.user_type, active.team_id) == (team["id"], "team", team["id"])
    assert get_repository(TaskAssignment).get_active_for_task(done_task).assignee_id == bob.id
    entry = next(e for e in timeline(api, team["id"]) if e["action"] == "member_removed_from_team")
    assert (entry["performed_by_name"], entry["team_name"]) == ("Ada", "Core")
    assert call(bob_api, "get", f"/v1/teams/{team['id']}").status_code == 403  # no longer a member
    assert mirrored_everywhere() == {}


def test_a_member_leaves(signed_in: SignedIn) -> None:
    ada, api = signed_in("Ada")
    bob, bob_api = signed_in("Bob")
    team = create_team(api, ada, [bob])
    assert call(bob_api, "delete", f"/v1/teams/{team['id']}/members/{bob.id}").status_code == 204
    assert call(bob_api, "get", "/v1/teams").json()["total"] == 0
    entry = next(e for e in timeline(api, team["id"]) if e["action"] == "member_left_team")
    assert (entry["performed_by_name"], entry["team_name"]) == ("Bob", "Core")
    assert mirrored_everywhere() == {}


def test_removal_rules(signed_in: SignedIn) -> None:
    ada, api = signed_in("Ada")
    bob, bob_api = signed_in("Bob")
    cy, cy_api = signed_in("Cy")
    dee, _ = signed_in("Dee")
    team = create_team(api, ada, [bob, cy], poc=cy)
    url = f"/v1/teams/{team['id']}/members"
    assert call(api, "delete", f"{url}/{ada.id}").status_code == 403  # the owner and creator
    assert call(api, "delete", f"{url}/{cy.id}").status_code == 403  # the point of contact
    assert call(cy_api, "delete", f"{url}/{cy.id}").status_code == 403  # the POC cannot leave either
    assert call(bob_api, "delete", f"{url}/{cy.id}").status_code == 403  # not an admin
    assert call(api, "delete", f"{url}/{dee.id}").status_code == 404  # not a member
    assert call(api, "delete", f"{url}/{MISSING}").status_code == 404
    assert call(api, "delete", f"/v1/teams/{MISSING}/members/{bob.id}").status_code == 404
    assert member_ids(api, team["id"]) == {ada.id, bob.id, cy.id}
    assert mirrored_everywhere() == {}


# -- point of contact --------------------------------------------------------------------------------
def test_appoint_a_point_of_contact(signed_in: SignedIn) -> None:
    ada, api = signed_in("Ada")
    bob, bob_api = signed_in("Bob")
    cy, _ = signed_in("Cy")
    dee, _ = signed_in("Dee")
    team = create_team(api, ada, [bob, cy])
    url = f"/v1/teams/{team['id']}"
    response = call(api, "patch", url, {"poc_id": bob.id})
    assert response.status_code == 200, response.content
    patched = response.json()
    assert_team(patched)
    assert (patched["poc_id"], patched["updated_by"]) == (bob.id, ada.id)
    assert call(api, "get", url).json()["poc_id"] == bob.id
    assert mirrored_everywhere() == {}
    entry = next(e for e in timeline(api, team["id"]) if e["action"] == "poc_changed")
    assert (entry["performed_by_name"], entry["team_name"]) == ("Ada", "Core")
    assert call(bob_api, "patch", url, {"poc_id": cy.id}).status_code == 403  # plain member
    assert call(api, "patch", url, {"poc_id": dee.id}).status_code == 400  # not a member
    assert call(api, "patch", f"/v1/teams/{MISSING}", {"poc_id": cy.id}).status_code == 404
    # a team admin may appoint too
    granted = call(api, "post", f"{url}/users/{bob.id}/roles", {"role_name": "admin"})
    assert granted.status_code == 201
    assert call(bob_api, "patch", url, {"poc_id": cy.id}).status_code == 200
    assert call(api, "get", url).json()["poc_id"] == cy.id
    assert mirrored_everywhere() == {}


# -- activity timeline -------------------------------------------------------------------------------
def test_timeline_entries_carry_names_never_ids(signed_in: SignedIn) -> None:
    ada, api = signed_in("Ada")
    bob, bob_api = signed_in("Bob")
    cy, _ = signed_in("Cy")
    team = create_team(api, ada, [], name="Platform")
    call(bob_api, "post", "/v1/teams/join-by-invite", {"invite_code": team["invite_code"]})
    call(api, "post", f"/v1/teams/{team['id']}/members", {"member_ids": [cy.id]})
    call(api, "patch", f"/v1/teams/{team['id']}", {"poc_id": bob.id})
    moment = now()
    task = get_repository(Task).create({"title": "Fix login", "createdAt": moment, "updatedAt": moment})
    logs = get_repository(AuditLog)
    for entry in (
        {"action": "assigned_to_team", "performed_by": ada.id, "assignee_to": team["id"]},
        {"action": "assigned_to_member", "performed_by": ada.id, "assignee_to": cy.id},
        {"action": "status_changed", "performed_by": cy.id, "status_from": "TODO", "status_to": "IN_PROGRESS"},
        {"action": "reassign_executor", "performed_by": bob.id, "spoc_id": bob.id,
         "previous_executor_id": cy.id, "new_executor_id": ada.id},
        {"action": "unassigned_from_team", "performed_by": ada.id},
    ):  # fmt: skip
        logs.create({"timestamp": now(), "team_id": team["id"], "task_id": task.id, **entry})
    call(bob_api, "delete", f"/v1/teams/{team['id']}/members/{cy.id}")  # not an admin: refused
    call(api, "delete", f"/v1/teams/{team['id']}/members/{cy.id}")
    assert mirrored_everywhere() == {}

    response = call(bob_api, "get", f"/v1/teams/{team['id']}/activity-timeline")
    assert response.status_code == 200
    entries = response.json()["timeline"]
    stamps = [e["timestamp"] for e in entries]
    assert all(is_zoned_datetime(s) for s in stamps) and stamps == sorted(stamps, reverse=True)
    assert all(e["team_name"] == "Platform" for e in entries)
    by_action: dict[str, dict[str, Any]] = {}
    for entry in entries:
        keys_of(entry, "action", "timestamp", "team_name")
        by_action.setdefault(entry["action"], entry)
    assert entries[0]["action"] == "member_removed_from_team"
    names = {
        "team_created": "Ada",
        "member_joined_team": "Ada",  # newest first: Bob joined after Ada
        "member_added_to_team": "Ada",
        "poc_changed": "Ada",
        "member_removed_from_team": "Ada",
        "assigned_to_team": "Ada",
        "assigned_to_member": "Ada",
        "status_changed": "Cy",
        "unassigned_from_team": "Ada",
    }
    joined = [e["performed_by_name"] for e in entries if e["action"] == "member_joined_team"]
    assert joined == ["Bob", "Ada"]
    names.pop("member_joined_team")
    for action, name in names.items():
        assert by_action[action]["performed_by_name"] == name, action
    for action in ("assigned_to_team", "assigned_to_member", "status_changed", "unassigned_from_team"):
        assert by_action[action]["task_title"] == "Fix login", action
    status = by_action["status_changed"]
    assert (status["status_from"], status["status_to"]) == ("TODO", "IN_PROGRESS")
    reassigned = by_action["reassign_executor"]
    assert (
        reassigned["spoc_name"], reassigned["task_title"], reassigned["previous_executor_name"],
        reassigned["new_executor_name"],
    ) == ("Bob", "Fix login", "Cy", "Ada")  # fmt: skip
    ids = {ada.id, bob.id, cy.id, team["id"], task.id}
    for entry in entries:
        for key, value in entry.items():
            if key.endswith("_name") or key == "task_title":
                assert value not in ids, (key, value)


def test_timeline_of_a_team_executor_change_without_a_stored_spoc(signed_in: SignedIn) -> None:
    """The task code records executor changes with the point of contact as `performed_by`."""
    ada, api = signed_in("Ada")
    bob, _ = signed_in("Bob")
    team = create_team(api, ada, [bob])
    moment = now()
    task = get_repository(Task).create({"title": "Ship it", "createdAt": moment, "updatedAt": moment})
    get_repository(AuditLog).create(
        {"action": "reassign_executor", "timestamp": now(), "team_id": team["id"], "task_id": task.id,
         "performed_by": ada.id, "previous_executor_id": None, "new_executor_id": bob.id}
    )  # fmt: skip
    entry = timeline(api, team["id"])[0]
    assert (entry["spoc_name"], entry["task_title"], entry["new_executor_name"]) == ("Ada", "Ship it", "Bob")
    assert entry["previous_executor_name"] is None


def test_timeline_needs_membership(signed_in: SignedIn) -> None:
    ada, api = signed_in("Ada")
    _, outsider = signed_in("Eve")
    team = create_team(api, ada, [])
    assert call(outsider, "get", f"/v1/teams/{team['id']}/activity-timeline").status_code == 403
    assert call(api, "get", f"/v1/teams/{MISSING}/activity-timeline").status_code == 404


# -- signed out --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/v1/teams", None),
        ("post", "/v1/teams", {"name": "T", "team_invite_code": "ABCDEF"}),
        ("get", f"/v1/teams/{MISSING}", None),
        ("get", f"/v1/teams/{MISSING}?member=true", None),
        ("patch", f"/v1/teams/{MISSING}", {"poc_id": MISSING}),
        ("post", "/v1/teams/join-by-invite", {"invite_code": "ABCDEF"}),
        ("post", f"/v1/teams/{MISSING}/members", {"member_ids": [MISSING]}),
        ("delete", f"/v1/teams/{MISSING}/members/{MISSING}", None),
        ("get", f"/v1/teams/{MISSING}/activity-timeline", None),
    ],
)
def test_signed_out_is_401(mongo_db: Any, method: str, path: str, body: Any) -> None:
    assert call(browser(), method, path, body).status_code == 401
