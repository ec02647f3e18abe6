"""Requests racing on a unique key: both find nothing, then both write. The store of record (MongoDB
in dual_write, Postgres in postgres_only) refuses the second write with the repositories'
`DuplicateKey`, and the service answers as if that request had come second: never a 500, and the
key is held once."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.task_helpers import make_team
from tests.api.team_helpers import client, make_moderator
from todo.models.documents import TeamCreationInviteCode, User, UserTeamDetails
from todo.repositories import abstract_repository as interfaces
from todo.repositories.factory import get_repository
from todo.services import invite_code_service
from todo.services.auth_service import user_sign_in
from todo.services.local_token_service import local_token

pytestmark = pytest.mark.django_db(transaction=True)
PHASES = pytest.mark.parametrize("phase", ["dual_write", "postgres_only"])


@pytest.fixture
def enter(mongo_db: Any, settings: Any) -> Any:
    def phase(name: str) -> None:
        mongo_db.ensure_indexes()  # MongoDB's unique indexes, as `prepare` makes them
        settings.MIGRATION_PHASE = name

    return phase


def missing_once(monkeypatch: pytest.MonkeyPatch, cls: type, name: str) -> None:
    """The first call of a lookup finds nothing (the other request had not written yet)."""
    original = getattr(cls, name)
    calls = itertools.count()

    def lookup(self: Any, *args: Any, **kwargs: Any) -> Any:
        return None if next(calls) == 0 else original(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, lookup)


@PHASES
def test_first_sign_ins_of_one_account_make_one_user(
    enter: Any, monkeypatch: pytest.MonkeyPatch, phase: str
) -> None:
    enter(phase)
    first = user_sign_in(google_id="g-race", email="race@example.com", name="Race", picture=None)
    missing_once(monkeypatch, interfaces.AbstractUserRepository, "get_by_google_id")
    second = user_sign_in(google_id="g-race", email="race@example.com", name="Renamed", picture=None)
    assert (second.id, second.name) == (first.id, "Renamed")
    assert get_repository(User).count({"google_id": "g-race"}) == 1


@PHASES
def test_first_local_tokens_of_one_email_make_one_user(
    enter: Any, monkeypatch: pytest.MonkeyPatch, phase: str
) -> None:
    enter(phase)
    local_token(email="local@example.com")
    missing_once(monkeypatch, interfaces.AbstractUserRepository, "get_by_email")
    assert local_token(email="local@example.com")
    assert get_repository(User).count({"email_id": "local@example.com"}) == 1


@PHASES
def test_joins_of_one_user_make_one_membership(
    enter: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch, phase: str
) -> None:
    ada, bob = make_user("Ada"), make_user("Bob")
    team = make_team(ada, [ada, bob])
    enter(phase)
    # Both of Bob's joins (in two processes) found no membership, before either was written.
    monkeypatch.setattr(
        interfaces.AbstractUserTeamDetailsRepository, "get_membership", lambda self, user, team: None
    )
    response = client(bob).post(
        "/v1/teams/join-by-invite", {"invite_code": team.invite_code}, content_type="application/json"
    )
    monkeypatch.undo()
    assert response.status_code == 200, response.json()
    assert get_repository(UserTeamDetails).count({"user_id": bob.id, "team_id": team.id}) == 1


@PHASES
def test_a_code_drawn_twice_at_once_is_drawn_again(
    enter: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch, phase: str
) -> None:
    admin = make_moderator(make_user("Mod"))
    enter(phase)
    get_repository(TeamCreationInviteCode).create({"code": "AAAAAA", "is_used": False})
    draws: Iterator[str] = iter("AAAAAA" + "BBBBBB")
    monkeypatch.setattr(invite_code_service.secrets, "choice", lambda alphabet: next(draws))
    missing_once(monkeypatch, interfaces.AbstractTeamCreationInviteCodeRepository, "get_by_code")
    made = invite_code_service.invite_code_generate(actor=admin.id, description=None)
    assert made.code == "BBBBBB"
    assert get_repository(TeamCreationInviteCode).count({"code": "AAAAAA"}) == 1
