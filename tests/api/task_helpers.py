"""Helpers shared by the task, task-assignment and watchlist tests: teams and labels stored
directly through the repositories, JSON requests, and the Postgres mirror checks."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.test import Client

from tests.api.conftest import bearer
from tests.engine.helpers import mirror_differences, mongo_ids
from todo.models.documents import Label, Team, User, UserTeamDetails
from todo.repositories.abstract_repository import now
from todo.repositories.factory import get_repository

MIRRORED = ("tasks", "task_assignments", "watchlists", "audit_logs", "labels", "teams", "user_team_details")

# Request bodies that must be refused before they reach a query, with the field they name.
OPERATOR_VALUES: list[Any] = [{"$gt": ""}, {"$ne": None}, ["x"], 1, True, None]


def client(user: User) -> Client:
    return Client(**bearer(user))


def send(api: Client, method: str, path: str, body: Any = None) -> Any:
    """A JSON request (`body` None sends no body)."""
    call = getattr(api, method.lower())
    if body is None:
        return call(path)
    return call(path, body, content_type="application/json")


def make_team(poc: User | None, members: list[User], name: str = "Core") -> Team:
    """A team with active memberships, stored directly (the teams API belongs to another area)."""
    moment = now()
    team = get_repository(Team).create(
        {"name": name, "poc_id": poc.id if poc else None, "invite_code": "ABC123", "created_by": members[0].id,
         "updated_by": members[0].id, "created_at": moment, "updated_at": moment, "is_deleted": False}
    )  # fmt: skip
    for member in members:
        get_repository(UserTeamDetails).create(
            {"user_id": member.id, "team_id": team.id, "is_active": True, "created_by": members[0].id,
             "updated_by": members[0].id, "created_at": moment, "updated_at": moment}
        )  # fmt: skip
    return team


def make_label(name: str = "Bug", color: str = "#ef4444", deleted: bool = False) -> Label:
    return get_repository(Label).create(
        {"name": name, "color": color, "isDeleted": deleted, "createdBy": "system", "createdAt": now()}
    )


def create_task(api: Client, title: str = "Write tests", **body: Any) -> dict[str, Any]:
    response = send(api, "post", "/v1/tasks", {"title": title, **body})
    assert response.status_code == 201, response.json()
    return response.json()["data"]


def mirrored_everywhere() -> dict[str, dict[str, str]]:
    """Every document of the task collections has an equal row in Postgres ({} when all do)."""
    problems = {name: mirror_differences(name, mongo_ids(name)) for name in MIRRORED}
    return {name: found for name, found in problems.items() if found}


def person(user: User) -> dict[str, Any]:
    """A user as a Task shows it (createdBy, updatedBy, deferredBy)."""
    return {"id": user.id, "name": user.name, "addedOn": None, "tasksAssignedCount": None}


def error_sources(response: Any) -> list[dict[str, str]]:
    return [e["source"] for e in response.json()["errors"]]


# == the web client's requests (docs/frontend-contract.md section 6) ======================================
BROWSER_ZONE = "Asia/Kolkata"


def client_iso(moment: dt.datetime) -> str:
    """`Date.toISOString()`: UTC with milliseconds and `Z`."""
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def local_midnight(days: int, zone: str = BROWSER_ZONE) -> dt.datetime:
    """Midnight of today + `days` in `zone` (what the client's date picker sends), in UTC."""
    today = dt.datetime.now(zoneinfo.ZoneInfo(zone)).date() + dt.timedelta(days=days)
    return dt.datetime.combine(today, dt.time(), zoneinfo.ZoneInfo(zone)).astimezone(dt.UTC)


def form_body(title: str, assignee_id: str, user_type: str = "user", **changes: Any) -> dict[str, Any]:
    """The create form's body, every field as the client sends it (flat assignee, timezone)."""
    return {
        "title": title,
        "description": "",
        "priority": "LOW",
        "status": "TODO",
        "dueAt": client_iso(local_midnight(30)),
        "labels": [],
        "assignee_id": assignee_id,
        "user_type": user_type,
        "timezone": BROWSER_ZONE,
        **changes,
    }
