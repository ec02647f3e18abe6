"""A user's team roles as the members page reads them (docs/frontend-contract.md, section 10):
`{team_id, user_id, roles: [{role_id, role_name, scope, team_id, assigned_at}]}`, lower-case role
names, an empty list when the user holds none."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.api.team_helpers import new_code
from tests.contract.conftest import browser, call
from tests.contract.helpers import is_zoned_datetime, mirrored_everywhere
from todo.models.documents import Role, User
from todo.repositories.factory import get_repository
from todo.services.seed_service import seed_reference_data

pytestmark = pytest.mark.django_db(transaction=True)
MISSING = "5f5f5f5f5f5f5f5f5f5f5f5f"
SignedIn = Callable[..., tuple[User, Client]]


@pytest.fixture(autouse=True)
def seeded(mongo_db: Any) -> None:
    """The roles seeded at start (moderator, owner, admin, member)."""
    seed_reference_data()


def make_team(api: Client, creator: User, members: list[User]) -> dict[str, Any]:
    body = {"name": "Core", "description": "", "member_ids": [m.id for m in members], "poc_id": creator.id,
            "team_invite_code": new_code()}  # fmt: skip
    response = call(api, "post", "/v1/teams", body)
    assert response.status_code == 201, response.content
    return response.json()["team"]


def roles_body(api: Client, team_id: str, user_id: str) -> dict[str, Any]:
    response = call(api, "get", f"/v1/teams/{team_id}/users/{user_id}/roles")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_creator_holds_owner_admin_and_member(signed_in: SignedIn) -> None:
    ada, api = signed_in("Ada")
    team = make_team(api, ada, [])
    body = roles_body(api, team["id"], ada.id)
    assert set(body) == {"team_id", "user_id", "roles"}
    assert (body["team_id"], body["user_id"]) == (team["id"], ada.id)
    assert sorted(r["role_name"] for r in body["roles"]) == ["admin", "member", "owner"]
    for role in body["roles"]:
        assert set(role) == {"role_id", "role_name", "scope", "team_id", "assigned_at"}
        assert (role["scope"], role["team_id"]) == ("TEAM", team["id"])
        assert isinstance(role["role_id"], str) and is_zoned_datetime(role["assigned_at"])
    # role_id names the role itself (the one /v1/roles lists)
    admin = next(r for r in body["roles"] if r["role_name"] == "admin")
    stored = get_repository(Role).get_by_id(admin["role_id"])
    assert stored is not None and (stored.name, stored.scope) == ("admin", "TEAM")


def test_a_member_has_no_admin_role_so_no_menu(signed_in: SignedIn) -> None:
    ada, api = signed_in("Ada")
    bob, bob_api = signed_in("Bob")
    team = make_team(api, ada, [bob])
    body = roles_body(bob_api, team["id"], bob.id)
    assert [r["role_name"] for r in body["roles"]] == ["member"]
    assert not any(r["role_name"] == "admin" for r in body["roles"])


def test_roles_follow_grants_and_removal(signed_in: SignedIn) -> None:
    ada, api = signed_in("Ada")
    bob, bob_api = signed_in("Bob")
    team = make_team(api, ada, [bob])
    granted = call(api, "post", f"/v1/teams/{team['id']}/users/{bob.id}/roles", {"role_name": "admin"})
    assert granted.status_code == 201
    assert sorted(r["role_name"] for r in roles_body(bob_api, team["id"], bob.id)["roles"]) == [
        "admin",
        "member",
    ]
    assert mirrored_everywhere() == {}
    assert call(bob_api, "delete", f"/v1/teams/{team['id']}/members/{bob.id}").status_code == 204
    assert roles_body(api, team["id"], bob.id)["roles"] == []  # an empty list is valid
    assert mirrored_everywhere() == {}


def test_who_may_read_roles(signed_in: SignedIn) -> None:
    ada, api = signed_in("Ada")
    eve, eve_api = signed_in("Eve")
    team = make_team(api, ada, [])
    assert roles_body(api, team["id"], eve.id)["roles"] == []  # not a member: no roles
    assert call(eve_api, "get", f"/v1/teams/{team['id']}/users/{eve.id}/roles").status_code == 403
    assert call(api, "get", f"/v1/teams/{MISSING}/users/{ada.id}/roles").status_code == 404
    assert call(api, "get", f"/v1/teams/{team['id']}/users/{MISSING}/roles").status_code == 404
    assert call(browser(), "get", f"/v1/teams/{team['id']}/users/{ada.id}/roles").status_code == 401


def test_the_other_role_endpoints_still_answer(signed_in: SignedIn) -> None:
    ada, api = signed_in("Ada")
    team = make_team(api, ada, [])
    listed = call(api, "get", "/v1/roles")
    assert listed.status_code == 200
    assert {r["name"] for r in listed.json()["roles"]} >= {"owner", "admin", "member"}
    assert all(is_zoned_datetime(r["createdAt"]) for r in listed.json()["roles"] if r["createdAt"])
    team_roles = call(api, "get", f"/v1/teams/{team['id']}/users/roles")
    assert team_roles.status_code == 200 and team_roles.json()["total"] == 3
    mine = call(api, "get", f"/v1/users/{ada.id}/roles")
    assert mine.status_code == 200 and len(mine.json()["data"]["roles"]) == 3
    assert all(is_zoned_datetime(r["createdAt"]) for r in mine.json()["data"]["roles"])
