"""Team-creation invite codes as the admin page uses them (docs/frontend-contract.md, section
11): generate and list for admins (GLOBAL moderators, or users listed in ADMIN_EMAILS), verify for
anyone signed in, without using the code up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.api.team_helpers import make_moderator, new_code
from tests.contract.conftest import browser, call
from tests.contract.helpers import is_zoned_datetime, keys_of, mirrored_everywhere
from todo.models.documents import TeamCreationInviteCode, User
from todo.repositories.factory import get_repository

pytestmark = pytest.mark.django_db(transaction=True)
SignedIn = Callable[..., tuple[User, Client]]
CODE_KEYS = {"id", "code", "description", "created_by", "created_at", "used_at", "used_by", "is_used"}


@pytest.fixture
def admin(signed_in: SignedIn) -> tuple[User, Client]:
    person, api = signed_in("Root")
    make_moderator(person)
    return person, api


def test_generate_with_and_without_a_description(admin: tuple[User, Client]) -> None:
    _, api = admin
    response = call(api, "post", "/v1/team-invite-codes/generate", {"description": "for the infra team"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"code", "description", "message"}
    assert isinstance(body["code"], str) and 6 <= len(body["code"]) <= 20
    assert body["description"] == "for the infra team" and isinstance(body["message"], str)
    bare = call(api, "post", "/v1/team-invite-codes/generate", {})
    assert bare.status_code == 201 and bare.json()["description"] is None and bare.json()["code"]
    assert bare.json()["code"] != body["code"]
    assert mirrored_everywhere() == {}


def test_a_generated_code_creates_a_team(admin: tuple[User, Client], signed_in: SignedIn) -> None:
    _, api = admin
    code = call(api, "post", "/v1/team-invite-codes/generate", {}).json()["code"]
    ada, ada_api = signed_in("Ada")
    form = {"name": "Core", "description": "", "member_ids": [], "poc_id": ada.id, "team_invite_code": code}
    assert call(ada_api, "post", "/v1/teams", form).status_code == 201
    assert call(ada_api, "post", "/v1/team-invite-codes/verify", {"code": code}).status_code == 400
    assert mirrored_everywhere() == {}


def test_list_codes_as_the_admin_table_reads_them(admin: tuple[User, Client], signed_in: SignedIn) -> None:
    root, api = admin
    for n in range(9):
        call(api, "post", "/v1/team-invite-codes/generate", {"description": f"code {n}"})
    first = call(api, "get", "/v1/team-invite-codes?page=1&limit=8")
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"codes", "previous_url", "next_url", "message"}
    assert len(body["codes"]) == 8 and body["previous_url"] is None and isinstance(body["next_url"], str)
    for code in body["codes"]:
        assert set(code) == CODE_KEYS
        assert code["created_by"] == {"id": root.id, "name": "Root"}
        assert is_zoned_datetime(code["created_at"])
        assert (code["used_at"], code["used_by"], code["is_used"]) == (None, None, False)
    assert body["codes"][0]["description"] == "code 8"  # newest first
    second = call(api, "get", body["next_url"]).json()
    assert (
        len(second["codes"]) == 1 and second["next_url"] is None and isinstance(second["previous_url"], str)
    )
    assert call(api, "get", "/v1/team-invite-codes?page=2&limit=8").json()["codes"] == second["codes"]

    # a used code names who used it and when
    ada, ada_api = signed_in("Ada")
    used = body["codes"][0]["code"]
    form = {"name": "Core", "description": "", "member_ids": [], "poc_id": None, "team_invite_code": used}
    assert call(ada_api, "post", "/v1/teams", form).status_code == 201
    entry = next(c for c in call(api, "get", "/v1/team-invite-codes").json()["codes"] if c["code"] == used)
    assert entry["is_used"] is True and entry["used_by"] == {"id": ada.id, "name": "Ada"}
    assert is_zoned_datetime(entry["used_at"])
    assert mirrored_everywhere() == {}


@pytest.mark.parametrize("limit", ["0", "51", "500", "abc", "-1", ""])
def test_an_out_of_range_limit_means_ten(admin: tuple[User, Client], limit: str) -> None:
    _, api = admin
    for _ in range(11):
        new_code()
    response = call(api, "get", f"/v1/team-invite-codes?page=1&limit={limit}")
    assert response.status_code == 200
    assert len(response.json()["codes"]) == 10 and response.json()["next_url"] is not None


def test_a_code_without_a_stored_creation_time_still_shows_a_date(admin: tuple[User, Client]) -> None:
    _, api = admin
    get_repository(TeamCreationInviteCode).create(
        {"code": "OLD123", "created_by": "system", "is_used": False}
    )
    codes = call(api, "get", "/v1/team-invite-codes").json()["codes"]
    entry = next(c for c in codes if c["code"] == "OLD123")
    assert is_zoned_datetime(entry["created_at"])
    keys_of(entry["created_by"], "id", "name")


def test_generate_and_list_are_for_admins_only(signed_in: SignedIn) -> None:
    _, api = signed_in("Ada")
    assert call(api, "post", "/v1/team-invite-codes/generate", {}).status_code == 403
    assert call(api, "get", "/v1/team-invite-codes?page=1&limit=8").status_code == 403
    assert call(browser(), "post", "/v1/team-invite-codes/generate", {}).status_code == 401
    assert call(browser(), "get", "/v1/team-invite-codes").status_code == 401
    assert mirrored_everywhere() == {}


def test_a_listed_admin_email_is_an_admin_before_the_role_is_granted(
    signed_in: SignedIn, settings: Any
) -> None:
    """The client shows the Admin page to the emails of VITE_ADMIN_EMAILS; the backend's list must
    agree, even for a user who signed in before being listed (no moderator role yet)."""
    settings.ADMIN_EMAILS = frozenset({"boss@example.com"})
    _, api = signed_in("Boss", "Boss@Example.com")
    generated = call(api, "post", "/v1/team-invite-codes/generate", {"description": "first"})
    assert generated.status_code == 201
    assert call(api, "get", "/v1/team-invite-codes?page=1&limit=8").status_code == 200
    _, other = signed_in("Dev", "dev@example.com")
    assert call(other, "post", "/v1/team-invite-codes/generate", {}).status_code == 403
    assert mirrored_everywhere() == {}


def test_verify_for_anyone_signed_in_without_consuming(signed_in: SignedIn) -> None:
    _, api = signed_in("Ada")
    code = new_code()
    for _ in range(2):
        response = call(api, "post", "/v1/team-invite-codes/verify", {"code": code})
        assert response.status_code == 200 and isinstance(response.json()["message"], str)
    stored = get_repository(TeamCreationInviteCode).get_by_code(code)
    assert stored is not None and stored.is_used is False
    assert call(api, "post", "/v1/team-invite-codes/verify", {"code": "NOSUCH"}).status_code == 400
    assert call(api, "post", "/v1/team-invite-codes/verify", {"code": "ABC"}).status_code == 400  # too short
    assert call(api, "post", "/v1/team-invite-codes/verify", {"code": "A" * 21}).status_code == 400
    assert call(browser(), "post", "/v1/team-invite-codes/verify", {"code": code}).status_code == 401
    assert mirrored_everywhere() == {}
