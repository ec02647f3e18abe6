"""Roles: the seeded role list, one role, a user's roles, and a team's roles (read by members;
granted and removed by admins and owners, removal deactivates); checked in Postgres too."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.api.team_helpers import client, create_team, error_sources, make_moderator, mirrored_everywhere
from todo.models.postgres import PostgresUserRole
from todo.services.seed_service import seed_reference_data

pytestmark = pytest.mark.django_db(transaction=True)
JSON = "application/json"
MISSING = "5f5f5f5f5f5f5f5f5f5f5f5f"


@pytest.fixture
def seeded(mongo_db) -> dict[str, str]:
    """The seeded roles: name → id."""
    seed_reference_data()
    from todo.models.documents import Role
    from todo.repositories.factory import get_repository

    return {r.name: r.id for r in get_repository(Role).get_all()}


@pytest.fixture
def people(make_user):
    return {name: make_user(name) for name in ("Bob", "Cy", "Dee")}


def active_roles(team_id: str, user_id: str) -> set[str]:
    rows = PostgresUserRole.objects.filter(
        team_id=team_id, user_id=user_id, is_active=True, source_deleted=False
    )
    return {r.role_name for r in rows}


# -- the role list -----------------------------------------------------------------------------------
def test_list_roles_and_filter_by_scope(api: Client, seeded) -> None:
    body = api.get("/v1/roles").json()
    assert [(r["scope"], r["name"]) for r in body["roles"]] == [
        ("GLOBAL", "moderator"),
        ("TEAM", "admin"),
        ("TEAM", "member"),
        ("TEAM", "owner"),
    ]
    assert body["total"] == 4
    team_roles = api.get("/v1/roles", {"scope": "TEAM", "limit": 2}).json()
    assert team_roles["total"] == 3 and len(team_roles["roles"]) == 2 and team_roles["links"]["next"]
    bad = api.get("/v1/roles", {"scope": "{$ne: 1}"})
    assert bad.status_code == 400 and error_sources(bad) == [{"parameter": "scope"}]


def test_get_one_role(api: Client, seeded) -> None:
    data = api.get(f"/v1/roles/{seeded['owner']}").json()["data"]
    assert (data["name"], data["scope"], data["isActive"]) == ("owner", "TEAM", True)
    assert api.get(f"/v1/roles/{MISSING}").status_code == 404
    bad = api.get("/v1/roles/owner")
    assert bad.status_code == 400 and error_sources(bad) == [{"path": "role_id"}]


def test_user_roles_global_and_team(api: Client, user, people) -> None:
    make_moderator(user)
    team = create_team(api)
    roles = api.get(f"/v1/users/{user.id}/roles").json()["data"]["roles"]
    assert sorted((r["roleName"], r["scope"], r["teamId"]) for r in roles) == sorted(
        [("moderator", "GLOBAL", None), ("owner", "TEAM", team["id"]), ("admin", "TEAM", team["id"]),
         ("member", "TEAM", team["id"])]
    )  # fmt: skip
    only_team = api.get(f"/v1/users/{user.id}/roles", {"team_id": team["id"]}).json()["data"]["roles"]
    assert len(only_team) == 3
    assert api.get(f"/v1/users/{people['Bob'].id}/roles").json()["data"]["roles"] == []
    assert api.get(f"/v1/users/{MISSING}/roles").status_code == 404
    assert api.get("/v1/users/zz/roles").status_code == 400
    bad = api.get(f"/v1/users/{user.id}/roles", {"team_id": "x"})
    assert bad.status_code == 400 and error_sources(bad) == [{"parameter": "team_id"}]


# -- a team's roles ----------------------------------------------------------------------------------
def test_team_roles_are_read_by_members(api: Client, user, people) -> None:
    bob = people["Bob"]
    team = create_team(api, member_ids=[bob.id])
    body = client(bob).get(f"/v1/teams/{team['id']}/users/roles").json()
    assert sorted((r["userId"], r["roleName"]) for r in body["roles"]) == sorted(
        [(user.id, "owner"), (user.id, "admin"), (user.id, "member"), (bob.id, "member")]
    )
    assert body["total"] == 4
    one = api.get(f"/v1/teams/{team['id']}/users/{bob.id}/roles").json()
    assert (one["team_id"], one["user_id"]) == (team["id"], bob.id)
    assert [(r["role_name"], r["scope"], r["team_id"]) for r in one["roles"]] == [
        ("member", "TEAM", team["id"])
    ]
    outsider = client(people["Cy"])
    assert outsider.get(f"/v1/teams/{team['id']}/users/roles").status_code == 403
    assert outsider.get(f"/v1/teams/{team['id']}/users/{bob.id}/roles").status_code == 403
    assert api.get(f"/v1/teams/{MISSING}/users/roles").status_code == 404
    assert api.get(f"/v1/teams/{team['id']}/users/{MISSING}/roles").status_code == 404
    assert api.get(f"/v1/teams/{team['id']}/users/bad/roles").status_code == 400


def test_owner_grants_and_removes_a_role(api: Client, user, people, seeded) -> None:
    bob = people["Bob"]
    team = create_team(api, member_ids=[bob.id])
    url = f"/v1/teams/{team['id']}/users/{bob.id}/roles"
    response = api.post(url, {"role_name": "admin"}, content_type=JSON)
    assert response.status_code == 201
    grant = response.json()["data"]
    assert (grant["roleName"], grant["scope"], grant["teamId"], grant["userId"]) == (
        "admin",
        "TEAM",
        team["id"],
        bob.id,
    )
    assert active_roles(team["id"], bob.id) == {"admin", "member"}
    assert api.post(url, {"role_name": "admin"}, content_type=JSON).status_code == 409
    removed = api.delete(f"{url}/{seeded['admin']}")
    assert removed.status_code == 200 and [g["isActive"] for g in removed.json()["data"]] == [False]
    assert active_roles(team["id"], bob.id) == {"member"}
    row = PostgresUserRole.objects.get(mongo_id=grant["id"])
    assert row.is_active is False and row.sync_status == "SYNCED"
    assert api.delete(f"{url}/{seeded['admin']}").status_code == 404  # no longer held
    # by role id, and removal by the grant's own id
    again = api.post(url, {"role_id": seeded["admin"]}, content_type=JSON).json()["data"]
    assert api.delete(f"{url}/{again['id']}").status_code == 200
    assert active_roles(team["id"], bob.id) == {"member"}
    assert mirrored_everywhere() == {}


def test_changing_roles_needs_admin_or_owner(api: Client, user, people, seeded) -> None:
    bob, cy, dee = people["Bob"], people["Cy"], people["Dee"]
    team = create_team(api, member_ids=[bob.id, cy.id])
    base = f"/v1/teams/{team['id']}/users"
    plain = client(bob).post(f"{base}/{cy.id}/roles", {"role_name": "admin"}, content_type=JSON)
    assert plain.status_code == 403
    assert client(bob).delete(f"{base}/{user.id}/roles/{seeded['admin']}").status_code == 403
    assert api.post(f"{base}/{bob.id}/roles", {"role_name": "admin"}, content_type=JSON).status_code == 201
    # an admin may grant admin and member, not owner
    assert (
        client(bob).post(f"{base}/{cy.id}/roles", {"role_name": "admin"}, content_type=JSON).status_code
        == 201
    )
    assert (
        client(bob).post(f"{base}/{cy.id}/roles", {"role_name": "owner"}, content_type=JSON).status_code
        == 403
    )
    assert client(bob).delete(f"{base}/{user.id}/roles/{seeded['owner']}").status_code == 403
    # the target must be a member; the last owner stays
    not_member = api.post(f"{base}/{dee.id}/roles", {"role_name": "member"}, content_type=JSON)
    assert not_member.status_code == 409
    assert api.delete(f"{base}/{user.id}/roles/{seeded['owner']}").status_code == 409
    assert api.post(f"{base}/{bob.id}/roles", {"role_name": "owner"}, content_type=JSON).status_code == 201
    assert api.delete(f"{base}/{user.id}/roles/{seeded['owner']}").status_code == 200
    assert active_roles(team["id"], user.id) == {"admin", "member"}
    assert active_roles(team["id"], dee.id) == set()


def test_global_roles_cannot_be_given_in_a_team(api: Client, people, seeded) -> None:
    bob = people["Bob"]
    team = create_team(api, member_ids=[bob.id])
    url = f"/v1/teams/{team['id']}/users/{bob.id}/roles"
    by_id = api.post(url, {"role_id": seeded["moderator"]}, content_type=JSON)
    assert by_id.status_code == 400 and error_sources(by_id) == [{"pointer": "role_id"}]
    by_name = api.post(url, {"role_name": "moderator"}, content_type=JSON)
    assert by_name.status_code == 400 and error_sources(by_name) == [{"pointer": "role_name"}]
    assert api.post(url, {"role_id": MISSING}, content_type=JSON).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role_name": {"$gt": ""}}, "role_name"),
        ({"role_name": ["admin"]}, "role_name"),
        ({"role_name": 1}, "role_name"),
        ({"role_name": "admin\x00"}, "role_name"),
        ({"role_id": {"$ne": None}}, "role_id"),
        ({"role_id": "admin"}, "role_id"),
        ({}, "role_name"),
        ({"role_name": "admin", "role_id": MISSING}, "role_name"),
        ({"role_name": "admin", "scope": "GLOBAL"}, "scope"),
    ],
)
def test_grant_bad_input(api: Client, people, body: dict, field: str) -> None:
    bob = people["Bob"]
    team = create_team(api, member_ids=[bob.id])
    response = api.post(f"/v1/teams/{team['id']}/users/{bob.id}/roles", body, content_type=JSON)
    assert response.status_code == 400 and error_sources(response) == [{"pointer": field}]
    assert active_roles(team["id"], bob.id) == {"member"}


def test_role_paths_with_bad_or_unknown_ids(api: Client, people, seeded) -> None:
    team = create_team(api)
    bob = people["Bob"]
    assert api.delete(f"/v1/teams/{team['id']}/users/{bob.id}/roles/xyz").status_code == 400
    assert api.delete(f"/v1/teams/{team['id']}/users/{bob.id}/roles/{MISSING}").status_code == 404
    assert api.delete(f"/v1/teams/{MISSING}/users/{bob.id}/roles/{seeded['admin']}").status_code == 404
    assert (
        api.post(
            f"/v1/teams/{MISSING}/users/{bob.id}/roles", {"role_name": "admin"}, content_type=JSON
        ).status_code
        == 404
    )
    assert (
        api.post(
            f"/v1/teams/{team['id']}/users/{MISSING}/roles", {"role_name": "admin"}, content_type=JSON
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v1/roles"),
        ("get", f"/v1/roles/{MISSING}"),
        ("get", f"/v1/users/{MISSING}/roles"),
        ("get", f"/v1/teams/{MISSING}/users/roles"),
        ("get", f"/v1/teams/{MISSING}/users/{MISSING}/roles"),
        ("post", f"/v1/teams/{MISSING}/users/{MISSING}/roles"),
        ("delete", f"/v1/teams/{MISSING}/users/{MISSING}/roles/{MISSING}"),
    ],
)
def test_signed_out_gets_401(mongo_db, method: str, path: str) -> None:
    response = (
        getattr(Client(), method)(path, {}, content_type=JSON) if method != "get" else Client().get(path)
    )
    assert response.status_code == 401
