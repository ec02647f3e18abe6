"""Teams: create (invite code consumed, roles given), list, read, point of contact, join by invite,
add and remove members (open team tasks return to the team), invite code, activity timeline;
checked in the responses and in the Postgres rows."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.api.team_helpers import client, create_team, error_sources, mirrored_everywhere, new_code
from todo.models.documents import Task, TaskAssignment, Team
from todo.models.postgres import (
    PostgresAuditLog,
    PostgresTaskAssignment,
    PostgresTeam,
    PostgresTeamCreationInviteCode,
    PostgresUserRole,
    PostgresUserTeamDetails,
)
from todo.repositories.abstract_repository import now
from todo.repositories.factory import get_repository

pytestmark = pytest.mark.django_db(transaction=True)
JSON = "application/json"
MISSING = "5f5f5f5f5f5f5f5f5f5f5f5f"


def roles_in_postgres(team_id: str, user_id: str) -> set[str]:
    rows = PostgresUserRole.objects.filter(
        team_id=team_id, user_id=user_id, is_active=True, source_deleted=False
    )
    assert all(r.scope == "TEAM" for r in rows)
    return {r.role_name for r in rows}


def active_members_in_postgres(team_id: str) -> set[str]:
    rows = PostgresUserTeamDetails.objects.filter(team_id=team_id, is_active=True, source_deleted=False)
    return {r.user_id for r in rows}


@pytest.fixture
def people(make_user):
    return {name: make_user(name) for name in ("Bob", "Cy", "Dee")}


# -- create ------------------------------------------------------------------------------------------
def test_create_team_gives_roles_memberships_and_consumes_the_code(api: Client, user, people) -> None:
    code = new_code()
    bob, cy = people["Bob"], people["Cy"]
    body = {
        "name": "Platform",
        "description": "core services",
        "team_invite_code": code,
        "member_ids": [bob.id, bob.id],
        "poc_id": cy.id,
    }
    response = api.post("/v1/teams", body, content_type=JSON)
    assert response.status_code == 201
    data = response.json()["team"]
    assert (data["name"], data["description"], data["poc_id"], data["created_by"]) == (
        "Platform",
        "core services",
        cy.id,
        user.id,
    )
    assert re.fullmatch(r"[0-9A-Z]{6}", data["invite_code"])
    team = PostgresTeam.objects.get(mongo_id=data["id"])
    assert (team.name, team.poc_id, team.invite_code, team.created_by, team.is_deleted) == (
        "Platform",
        cy.id,
        data["invite_code"],
        user.id,
        False,
    )
    assert team.sync_status == "SYNCED" and team.created_at is not None
    assert active_members_in_postgres(data["id"]) == {user.id, bob.id, cy.id}
    assert roles_in_postgres(data["id"], user.id) == {"owner", "admin", "member"}
    assert roles_in_postgres(data["id"], bob.id) == {"member"}
    assert roles_in_postgres(data["id"], cy.id) == {"member"}
    used = PostgresTeamCreationInviteCode.objects.get(code=code)
    assert (used.is_used, used.used_by) == (True, user.id)
    actions = list(PostgresAuditLog.objects.filter(team_id=data["id"]).values_list("action", "assignee_to"))
    assert ("team_created", None) in actions
    assert ("member_joined_team", user.id) in actions
    assert {("member_added_to_team", bob.id), ("member_added_to_team", cy.id)} <= set(actions)
    assert mirrored_everywhere() == {}


def test_create_team_minimal_body(api: Client, user) -> None:
    data = create_team(api, "Solo")
    assert data["poc_id"] is None and data["description"] is None
    assert active_members_in_postgres(data["id"]) == {user.id}


def test_create_team_unknown_member_is_400_and_leaves_the_code_unused(api: Client) -> None:
    code = new_code()
    body = {"name": "T", "team_invite_code": code, "member_ids": [MISSING]}
    response = api.post("/v1/teams", body, content_type=JSON)
    assert response.status_code == 400 and error_sources(response) == [{"pointer": "member_ids"}]
    assert PostgresTeamCreationInviteCode.objects.get(code=code).is_used is False
    assert PostgresTeam.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": {"$gt": ""}}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": 5}, "name"),
        ({"name": ["T"]}, "name"),
        ({"description": {"$where": "1"}}, "description"),
        ({"team_invite_code": {"$ne": None}}, "team_invite_code"),
        ({"team_invite_code": "abc"}, "team_invite_code"),
        ({"team_invite_code": "A" * 21}, "team_invite_code"),
        ({"description": "x" * 501}, "description"),
        ({"member_ids": "5f5f5f5f5f5f5f5f5f5f5f5f"}, "member_ids"),
        ({"member_ids": [{"$gt": ""}]}, "member_ids.0"),
        ({"member_ids": ["not-an-id"]}, "member_ids.0"),
        ({"poc_id": {"$ne": None}}, "poc_id"),
        ({"poc_id": 12}, "poc_id"),
        ({"point_of_contact_id": MISSING}, "point_of_contact_id"),
        ({"is_deleted": True}, "is_deleted"),
        ({"$where": "1"}, "$where"),
    ],
)
def test_create_team_bad_input_is_400_naming_the_field(api: Client, body: dict, field: str) -> None:
    code = new_code()
    response = api.post("/v1/teams", {"name": "T", "team_invite_code": code, **body}, content_type=JSON)
    assert response.status_code == 400, response.json()
    assert field in [s.get("pointer") for s in error_sources(response)]
    assert PostgresTeam.objects.count() == 0
    assert PostgresTeamCreationInviteCode.objects.get(code=code).is_used is False


def test_create_team_needs_a_name_and_code(api: Client) -> None:
    response = api.post("/v1/teams", {}, content_type=JSON)
    assert response.status_code == 400
    assert {s["pointer"] for s in error_sources(response)} == {"name", "team_invite_code"}
    assert api.post("/v1/teams", ["x"], content_type=JSON).status_code == 400
    assert api.post("/v1/teams", "{", content_type=JSON).status_code == 400
    blank = api.post("/v1/teams", {"name": "   ", "team_invite_code": new_code()}, content_type=JSON)
    assert blank.status_code == 400


# -- list and read -----------------------------------------------------------------------------------
def test_list_my_teams_paginated_by_name(api: Client, people) -> None:
    for name in ("Zeta", "Alpha", "Mid"):
        create_team(api, name)
    create_team(client(people["Bob"]), "Not mine")
    body = api.get("/v1/teams", {"limit": 2}).json()
    assert [t["name"] for t in body["teams"]] == ["Alpha", "Mid"] and body["total"] == 3
    assert "invite_code" not in body["teams"][0] and body["teams"][0]["users"] is None
    assert [t["name"] for t in api.get(body["links"]["next"]).json()["teams"]] == ["Zeta"]
    assert api.get("/v1/teams", {"page": "0"}).status_code == 400


def test_read_team_members_only(api: Client, user, people) -> None:
    team = create_team(api, "Core", member_ids=[people["Bob"].id])
    plain = api.get(f"/v1/teams/{team['id']}").json()
    assert plain["name"] == "Core" and plain["users"] is None and "invite_code" not in plain
    members = api.get(f"/v1/teams/{team['id']}", {"member": "true"}).json()["users"]
    assert [(m["name"], m["tasksAssignedCount"]) for m in members] == [("Ada", 0), ("Bob", 0)]
    assert client(people["Bob"]).get(f"/v1/teams/{team['id']}").status_code == 200
    assert client(people["Cy"]).get(f"/v1/teams/{team['id']}").status_code == 403
    assert api.get(f"/v1/teams/{MISSING}").status_code == 404
    bad = api.get("/v1/teams/not-an-id")
    assert bad.status_code == 400 and error_sources(bad) == [{"path": "team_id"}]
    assert api.get(f"/v1/teams/{team['id']}", {"member": "yes"}).status_code == 400


# -- point of contact --------------------------------------------------------------------------------
def test_creator_changes_the_point_of_contact(api: Client, user, people) -> None:
    bob = people["Bob"]
    team = create_team(api, "Core", member_ids=[bob.id])
    response = api.patch(f"/v1/teams/{team['id']}", {"poc_id": bob.id}, content_type=JSON)
    assert response.status_code == 200 and response.json()["poc_id"] == bob.id
    row = PostgresTeam.objects.get(mongo_id=team["id"])
    assert (row.poc_id, row.updated_by) == (bob.id, user.id)
    audit = PostgresAuditLog.objects.get(team_id=team["id"], action="poc_changed")
    assert (audit.spoc_id, audit.performed_by) == (bob.id, user.id)
    assert mirrored_everywhere() == {}


def test_point_of_contact_permissions_and_conflicts(api: Client, user, people) -> None:
    bob, cy, dee = people["Bob"], people["Cy"], people["Dee"]
    team = create_team(api, "Core", member_ids=[bob.id, cy.id])
    url = f"/v1/teams/{team['id']}"
    assert client(bob).patch(url, {"poc_id": cy.id}, content_type=JSON).status_code == 403
    assert client(dee).patch(url, {"poc_id": cy.id}, content_type=JSON).status_code == 403
    not_member = api.patch(url, {"poc_id": dee.id}, content_type=JSON)
    assert not_member.status_code == 400 and error_sources(not_member) == [{"pointer": "poc_id"}]
    assert api.patch(url, {"poc_id": MISSING}, content_type=JSON).status_code == 400
    assert api.patch(f"/v1/teams/{MISSING}", {"poc_id": cy.id}, content_type=JSON).status_code == 404
    # an admin of the team may change it too
    granted = api.post(f"{url}/users/{bob.id}/roles", {"role_name": "admin"}, content_type=JSON)
    assert granted.status_code == 201
    assert client(bob).patch(url, {"poc_id": cy.id}, content_type=JSON).status_code == 200
    assert PostgresTeam.objects.get(mongo_id=team["id"]).poc_id == cy.id


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"poc_id": {"$gt": ""}}, "poc_id"),
        ({"poc_id": "xyz"}, "poc_id"),
        ({"poc_id": None}, "poc_id"),
        ({}, "poc_id"),
        ({"poc_id": MISSING, "name": "x"}, "name"),
    ],
)
def test_patch_bad_input(api: Client, body: dict, field: str) -> None:
    team = create_team(api)
    response = api.patch(f"/v1/teams/{team['id']}", body, content_type=JSON)
    assert response.status_code == 400 and error_sources(response) == [{"pointer": field}]


# -- join by invite ----------------------------------------------------------------------------------
def test_join_by_invite_then_refused_as_a_member(api: Client, people) -> None:
    team = create_team(api)
    bob = client(people["Bob"])
    response = bob.post("/v1/teams/join-by-invite", {"invite_code": team["invite_code"]}, content_type=JSON)
    assert response.status_code == 200 and response.json()["id"] == team["id"]
    assert people["Bob"].id in active_members_in_postgres(team["id"])
    assert roles_in_postgres(team["id"], people["Bob"].id) == {"member"}
    joined = PostgresAuditLog.objects.get(
        team_id=team["id"], action="member_joined_team", assignee_to=people["Bob"].id
    )
    assert joined.performed_by == people["Bob"].id
    again = bob.post("/v1/teams/join-by-invite", {"invite_code": team["invite_code"]}, content_type=JSON)
    assert again.status_code == 400 and error_sources(again) == [{"pointer": "invite_code"}]
    assert bob.get("/v1/teams").json()["total"] == 1
    assert mirrored_everywhere() == {}


def test_join_by_invite_bad_and_unknown_codes(api: Client) -> None:
    unknown = api.post("/v1/teams/join-by-invite", {"invite_code": "000000"}, content_type=JSON)
    assert unknown.status_code == 400 and error_sources(unknown) == [{"pointer": "invite_code"}]
    for body in ({"invite_code": {"$ne": ""}}, {"invite_code": "12345"}, {}, {"invite_code": "ABC\x00EF"}):
        response = api.post("/v1/teams/join-by-invite", body, content_type=JSON)
        assert response.status_code == 400 and error_sources(response) == [{"pointer": "invite_code"}]


def test_rejoining_reactivates_the_membership(api: Client, people) -> None:
    team = create_team(api)
    bob = client(people["Bob"])
    bob.post("/v1/teams/join-by-invite", {"invite_code": team["invite_code"]}, content_type=JSON)
    assert bob.delete(f"/v1/teams/{team['id']}/members/{people['Bob'].id}").status_code == 204
    assert bob.get("/v1/teams").json()["total"] == 0
    # The code he knew was rotated when he left; the new one (from the creator) lets him back in.
    old = bob.post("/v1/teams/join-by-invite", {"invite_code": team["invite_code"]}, content_type=JSON)
    assert old.status_code == 400
    new_code = api.get(f"/v1/teams/{team['id']}/invite-code").json()["data"]["inviteCode"]
    assert new_code != team["invite_code"]
    back = bob.post("/v1/teams/join-by-invite", {"invite_code": new_code}, content_type=JSON)
    assert back.status_code == 200
    rows = PostgresUserTeamDetails.objects.filter(team_id=team["id"], user_id=people["Bob"].id)
    assert [r.is_active for r in rows] == [True]
    assert roles_in_postgres(team["id"], people["Bob"].id) == {"member"}
    assert mirrored_everywhere() == {}


# -- add members -------------------------------------------------------------------------------------
def test_members_add_members(api: Client, people) -> None:
    bob, cy, dee = people["Bob"], people["Cy"], people["Dee"]
    team = create_team(api, member_ids=[bob.id])
    url = f"/v1/teams/{team['id']}/members"
    response = client(bob).post(url, {"member_ids": [cy.id, dee.id]}, content_type=JSON)
    assert response.status_code == 200 and response.json()["id"] == team["id"]
    assert {cy.id, dee.id} <= active_members_in_postgres(team["id"])
    assert roles_in_postgres(team["id"], dee.id) == {"member"}
    added = PostgresAuditLog.objects.get(
        team_id=team["id"], action="member_added_to_team", assignee_to=dee.id
    )
    assert added.performed_by == bob.id
    conflict = api.post(url, {"member_ids": [cy.id]}, content_type=JSON)
    assert conflict.status_code == 400 and error_sources(conflict) == [{"pointer": "member_ids"}]
    assert mirrored_everywhere() == {}


def test_add_members_permissions_and_bad_input(api: Client, people) -> None:
    team = create_team(api)
    url = f"/v1/teams/{team['id']}/members"
    assert (
        client(people["Bob"]).post(url, {"member_ids": [people["Cy"].id]}, content_type=JSON).status_code
        == 403
    )
    assert api.post(url, {"member_ids": [MISSING]}, content_type=JSON).status_code == 400
    assert (
        api.post(
            f"/v1/teams/{MISSING}/members", {"member_ids": [people["Cy"].id]}, content_type=JSON
        ).status_code
        == 404
    )
    assert (
        api.post("/v1/teams/nope/members", {"member_ids": [people["Cy"].id]}, content_type=JSON).status_code
        == 400
    )
    for body, field in (
        ({"member_ids": []}, "member_ids"),
        ({"member_ids": {"$in": []}}, "member_ids"),
        ({"member_ids": ["x"]}, "member_ids.0"),
        ({}, "member_ids"),
    ):
        response = api.post(url, body, content_type=JSON)
        assert response.status_code == 400 and error_sources(response) == [{"pointer": field}]
    assert active_members_in_postgres(team["id"]) == {api_user_id(api)}


def api_user_id(api: Client) -> str:
    return api.get("/v1/users", {"profile": "true"}).json()["data"]["id"]


# -- remove members ----------------------------------------------------------------------------------
def _assign(task_title: str, user_id: str, team_id: str, status: str = "TODO") -> tuple[str, str]:
    moment = now()
    task = get_repository(Task).create(
        {"title": task_title, "status": status, "createdAt": moment, "updatedAt": moment}
    )
    assignment = get_repository(TaskAssignment).create(
        {"task_id": task.id, "assignee_id": user_id, "user_type": "user", "team_id": team_id, "is_active": True,
         "created_at": moment, "updated_at": moment}
    )  # fmt: skip
    return task.id, assignment.id


def test_removing_a_member_returns_open_team_tasks_to_the_team(api: Client, user, people) -> None:
    bob, cy = people["Bob"], people["Cy"]
    team = create_team(api, member_ids=[bob.id, cy.id])
    other = create_team(api, "Other", member_ids=[bob.id])
    open_task, open_assignment = _assign("open", bob.id, team["id"])
    done_task, done_assignment = _assign("done", bob.id, team["id"], status="DONE")
    _other_task, other_assignment = _assign("other team", bob.id, other["id"])
    executed_task, executed = _assign("team task Bob executes", team["id"], team["id"])
    get_repository(TaskAssignment).update(executed, {"user_type": "team", "executor_id": bob.id})
    response = api.delete(f"/v1/teams/{team['id']}/members/{bob.id}")
    assert response.status_code == 204 and response.content == b""
    executed_row = PostgresTaskAssignment.objects.get(mongo_id=executed)
    assert (executed_row.is_active, executed_row.executor_id) == (True, None)
    cleared = PostgresAuditLog.objects.get(
        task_id=executed_task, action="reassign_executor", new_executor_id=None
    )
    assert (cleared.previous_executor_id, cleared.performed_by) == (bob.id, user.id)
    assert bob.id not in active_members_in_postgres(team["id"])
    assert roles_in_postgres(team["id"], bob.id) == set()
    removed = PostgresAuditLog.objects.get(team_id=team["id"], action="member_removed_from_team")
    assert (removed.assignee_from, removed.performed_by) == (bob.id, user.id)
    assert PostgresTaskAssignment.objects.get(mongo_id=open_assignment).is_active is False
    back = PostgresTaskAssignment.objects.get(task_id=open_task, is_active=True)
    assert (back.assignee_id, back.user_type, back.team_id) == (team["id"], "team", team["id"])
    assert PostgresTaskAssignment.objects.get(mongo_id=done_assignment).is_active is True
    assert PostgresTaskAssignment.objects.get(mongo_id=other_assignment).is_active is True
    assert PostgresTaskAssignment.objects.filter(task_id=done_task).count() == 1
    assert client(bob).get("/v1/teams").json()["total"] == 1
    assert mirrored_everywhere() == {}


def test_a_member_may_leave(api: Client, people) -> None:
    bob = people["Bob"]
    team = create_team(api, member_ids=[bob.id])
    assert client(bob).delete(f"/v1/teams/{team['id']}/members/{bob.id}").status_code == 204
    left = PostgresAuditLog.objects.get(team_id=team["id"], action="member_left_team")
    assert (left.assignee_from, left.performed_by) == (bob.id, bob.id)


def test_removal_rules(api: Client, user, people) -> None:
    bob, cy, dee = people["Bob"], people["Cy"], people["Dee"]
    team = create_team(api, member_ids=[bob.id, cy.id], poc_id=cy.id)
    url = f"/v1/teams/{team['id']}/members"
    assert client(bob).delete(f"{url}/{cy.id}").status_code == 403  # a plain member removing another
    owner = api.delete(f"{url}/{user.id}")
    assert owner.status_code == 403 and error_sources(owner) == [{"path": "user_id"}]
    poc = api.delete(f"{url}/{cy.id}")
    assert poc.status_code == 403 and error_sources(poc) == [{"path": "user_id"}]
    assert api.delete(f"{url}/{dee.id}").status_code == 404  # not a member
    assert api.delete(f"{url}/{MISSING}").status_code == 404
    assert api.delete(f"{url}/bad").status_code == 400
    assert api.delete(f"/v1/teams/{MISSING}/members/{bob.id}").status_code == 404
    assert active_members_in_postgres(team["id"]) == {user.id, bob.id, cy.id}


# -- invite code and timeline ------------------------------------------------------------------------
def test_invite_code_for_creator_and_point_of_contact_only(api: Client, people) -> None:
    bob, cy = people["Bob"], people["Cy"]
    team = create_team(api, member_ids=[bob.id], poc_id=cy.id)
    url = f"/v1/teams/{team['id']}/invite-code"
    assert api.get(url).json()["data"]["inviteCode"] == team["invite_code"]
    assert client(cy).get(url).json()["data"]["inviteCode"] == team["invite_code"]
    assert client(bob).get(url).status_code == 403
    assert api.get(f"/v1/teams/{MISSING}/invite-code").status_code == 404
    assert api.get("/v1/teams/123/invite-code").status_code == 400


def test_activity_timeline_newest_first(api: Client, user, people) -> None:
    bob = people["Bob"]
    team = create_team(api, member_ids=[bob.id])
    api.patch(f"/v1/teams/{team['id']}", {"poc_id": bob.id}, content_type=JSON)
    url = f"/v1/teams/{team['id']}/activity-timeline"
    body = api.get(url).json()
    actions = [e["action"] for e in body["timeline"]]
    assert actions[0] == "poc_changed" and actions[-1] == "team_created"
    assert {"member_joined_team", "member_added_to_team"} <= set(actions)
    stamps = [e["timestamp"] for e in body["timeline"]]
    assert stamps == sorted(stamps, reverse=True)
    assert body["total"] == PostgresAuditLog.objects.filter(team_id=team["id"]).count() == len(actions)
    page = api.get(url, {"limit": 1, "page": 2}).json()
    assert [e["action"] for e in page["timeline"]] == actions[1:2]
    assert client(people["Cy"]).get(url).status_code == 403
    assert api.get(url, {"limit": "500"}).status_code == 400
    assert api.get(f"/v1/teams/{MISSING}/activity-timeline").status_code == 404


# -- signed out --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v1/teams"),
        ("post", "/v1/teams"),
        ("get", f"/v1/teams/{MISSING}"),
        ("patch", f"/v1/teams/{MISSING}"),
        ("post", "/v1/teams/join-by-invite"),
        ("post", f"/v1/teams/{MISSING}/members"),
        ("delete", f"/v1/teams/{MISSING}/members/{MISSING}"),
        ("get", f"/v1/teams/{MISSING}/invite-code"),
        ("get", f"/v1/teams/{MISSING}/activity-timeline"),
    ],
)
def test_signed_out_gets_401(mongo_db, method: str, path: str) -> None:
    response = (
        getattr(Client(), method)(path, {}, content_type=JSON) if method != "get" else Client().get(path)
    )
    assert response.status_code == 401 and response.json()["statusCode"] == 401


def test_a_moderator_may_read_any_team(api: Client, people) -> None:
    from tests.api.team_helpers import make_moderator

    team = create_team(api)
    moderator = client(make_moderator(people["Dee"]))
    assert moderator.get(f"/v1/teams/{team['id']}").status_code == 200
    assert moderator.get(f"/v1/teams/{team['id']}/activity-timeline").status_code == 200
    assert moderator.get(f"/v1/teams/{team['id']}/invite-code").status_code == 403


COLLECTIONS = ("users", "teams", "user_team_details", "user_roles", "roles", "audit_logs",
               "team_creation_invite_codes", "task_assignments", "tasks", "labels")  # fmt: skip


@pytest.mark.parametrize(
    ("phase", "source"),
    [("read_migration", "postgres"), ("read_migration", "shadow"), ("postgres_only", None)],
)
def test_team_flow_in_every_migration_phase(make_user, settings, phase: str, source: str | None) -> None:
    """The services use only the repository interface, so the flow works whichever store answers."""
    import copy

    from todo.repositories.routing import shadow_mismatch_counts

    ada, bob, cy = make_user("Ada"), make_user("Bob"), make_user("Cy")
    code = new_code()
    mismatches_before = copy.deepcopy(shadow_mismatch_counts())
    settings.MIGRATION_PHASE = phase
    settings.DUAL_WRITE_READ_SOURCE = {name: source for name in COLLECTIONS} if source else {}
    api, as_bob = client(ada), client(bob)
    made = api.post(
        "/v1/teams", {"name": "P", "team_invite_code": code, "member_ids": [cy.id]}, content_type=JSON
    )
    assert made.status_code == 201, made.json()
    team = made.json()["team"]
    url = f"/v1/teams/{team['id']}"
    join = {"invite_code": team["invite_code"]}
    assert as_bob.post("/v1/teams/join-by-invite", join, content_type=JSON).status_code == 200
    assert as_bob.delete(f"{url}/members/{bob.id}").status_code == 204
    assert as_bob.post("/v1/teams/join-by-invite", join, content_type=JSON).status_code == 400  # rotated
    join = {"invite_code": get_repository(Team).get_by_id(team["id"]).invite_code}
    assert as_bob.post("/v1/teams/join-by-invite", join, content_type=JSON).status_code == 200
    assert (
        api.post(f"{url}/users/{bob.id}/roles", {"role_name": "admin"}, content_type=JSON).status_code == 201
    )
    assert as_bob.patch(url, {"poc_id": cy.id}, content_type=JSON).status_code == 200
    members = api.get(url, {"member": "true"}).json()["users"]
    assert [m["name"] for m in members] == ["Ada", "Bob", "Cy"]
    roles = [r["role_name"] for r in api.get(f"{url}/users/{bob.id}/roles").json()["roles"]]
    assert sorted(roles) == ["admin", "member"]
    timeline = [e["action"] for e in api.get(f"{url}/activity-timeline", {"limit": 200}).json()["timeline"]]
    assert timeline[0] == "poc_changed" and timeline.count("member_joined_team") == 3  # Ada, Bob twice
    assert "member_left_team" in timeline
    assert shadow_mismatch_counts() == mismatches_before  # in shadow, both stores answered alike
