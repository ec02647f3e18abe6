"""Team creation that fails part-way (MongoDB refuses one of its writes) leaves no half-made team:
what it wrote is removed, the invite code is given back, and the same request then succeeds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from pymongo.errors import AutoReconnect

from tests.api.team_helpers import mirrored_everywhere, new_code
from todo.db.mongo_manager import DatabaseManager
from todo.models.documents import Team, TeamCreationInviteCode, UserRole, UserTeamDetails
from todo.repositories.abstract_repository import now
from todo.repositories.factory import get_repository

pytestmark = pytest.mark.django_db(transaction=True)
JSON = "application/json"


def _refuse_inserts(monkeypatch: pytest.MonkeyPatch, collection: str, after: int) -> dict[str, int]:
    """insert_one on `collection` raises AutoReconnect from its (after+1)-th call on, once."""
    cls = type(DatabaseManager.get().get_collection(collection))
    seen = {"calls": 0, "raised": 0}
    original: Callable[..., Any] = cls.insert_one

    def insert_one(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.name == collection:
            seen["calls"] += 1
            if seen["calls"] == after + 1:
                seen["raised"] += 1
                raise AutoReconnect("injected: connection to the primary lost")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, "insert_one", insert_one)
    return seen


@pytest.mark.parametrize(
    ("collection", "after"),
    [("teams", 0), ("user_team_details", 0), ("user_roles", 1), ("user_team_details", 1)],
    ids=["team", "creator-membership", "admin-role", "member-membership"],
)
def test_a_team_creation_failing_part_way_leaves_nothing_and_can_be_repeated(
    api: Client, make_user: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, collection: str, after: int
) -> None:
    bob = make_user("Bob")
    code = new_code()
    body = {"name": "Half", "team_invite_code": code, "member_ids": [bob.id]}
    refused = _refuse_inserts(monkeypatch, collection, after)
    response = api.post("/v1/teams", body, content_type=JSON)
    monkeypatch.undo()

    assert refused["raised"] == 1
    assert response.status_code == 503
    assert get_repository(Team).get_all({}) == []
    assert get_repository(UserTeamDetails).get_all({}) == []
    assert [r for r in get_repository(UserRole).get_all({}) if r.team_id] == []
    assert get_repository(TeamCreationInviteCode).get_by_code(code).is_used is False

    again = api.post("/v1/teams", body, content_type=JSON)
    assert again.status_code == 201, again.json()
    assert len(get_repository(Team).get_all({})) == 1
    assert get_repository(TeamCreationInviteCode).get_by_code(code).is_used is True
    assert mirrored_everywhere() == {}


def test_mark_used_is_a_compare_and_set_only_the_first_caller_gets_the_code(api: Client) -> None:
    """The conditional update is the gate: a second caller gets None, and a team request with the
    used code is a 400 that makes no team (the cross-process race: tests/crossprocess)."""
    code = new_code()
    codes = get_repository(TeamCreationInviteCode)
    found = codes.get_by_code(code)
    assert codes.mark_used(found.id, used_by="0" * 24, used_at=now()) is not None
    assert codes.mark_used(found.id, used_by="1" * 24, used_at=now()) is None
    response = api.post("/v1/teams", {"name": "Late", "team_invite_code": code}, content_type=JSON)
    assert response.status_code == 400
    assert get_repository(Team).get_all({}) == []
