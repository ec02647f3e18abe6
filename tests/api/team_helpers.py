"""Helpers shared by the teams, roles and invite code tests: an admin (GLOBAL moderator), fresh
team-creation invite codes, a team made through the API, and Postgres checks."""

from __future__ import annotations

from typing import Any

from django.test import Client

from tests.api.conftest import bearer
from tests.engine.helpers import mirror_differences, mongo_ids
from todo.models.documents import TeamCreationInviteCode, User, UserRole
from todo.repositories.abstract_repository import now
from todo.repositories.factory import get_repository

MIRRORED = (
    "teams",
    "user_team_details",
    "user_roles",
    "roles",
    "labels",
    "audit_logs",
    "team_creation_invite_codes",
    "task_assignments",
)


def make_moderator(user: User) -> User:
    """Give `user` the GLOBAL moderator role (an application admin)."""
    get_repository(UserRole).create(
        {"user_id": user.id, "role_name": "moderator", "scope": "GLOBAL", "is_active": True,
         "created_at": now(), "created_by": "system"}
    )  # fmt: skip
    return user


def new_code(description: str | None = None) -> str:
    """A fresh, unused team-creation invite code, stored directly."""
    import secrets

    code = "".join(secrets.choice("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(6))
    get_repository(TeamCreationInviteCode).create(
        {
            "code": code,
            "description": description,
            "created_by": "system",
            "created_at": now(),
            "is_used": False,
        }
    )
    return code


def client(user: User) -> Client:
    return Client(**bearer(user))


def create_team(api: Client, name: str = "Core", **body: Any) -> dict[str, Any]:
    response = api.post(
        "/v1/teams", {"name": name, "team_invite_code": new_code(), **body}, content_type="application/json"
    )
    assert response.status_code == 201, response.json()
    return response.json()["team"]


def mirrored_everywhere() -> dict[str, dict[str, str]]:
    """Every document of the team collections has an equal row in Postgres ({} when all do)."""
    problems = {name: mirror_differences(name, mongo_ids(name)) for name in MIRRORED}
    return {name: found for name, found in problems.items() if found}


def error_sources(response: Any) -> list[dict[str, str]]:
    return [e["source"] for e in response.json()["errors"]]
