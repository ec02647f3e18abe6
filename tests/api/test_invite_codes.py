"""Team-creation invite codes: generate and list (admins: GLOBAL moderators, or users listed in
ADMIN_EMAILS), verify (anyone signed in), consumed once by team creation; each write mirrored to
Postgres and audited."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.api.team_helpers import client, error_sources, make_moderator, mirrored_everywhere, new_code
from todo.models.postgres import PostgresAuditLog, PostgresTeamCreationInviteCode

pytestmark = pytest.mark.django_db(transaction=True)
JSON = "application/json"


@pytest.fixture
def admin(make_user):
    return make_moderator(make_user("Mod"))


def test_admin_generates_a_code_stored_in_both_stores(admin) -> None:
    response = client(admin).post(
        "/v1/team-invite-codes/generate", {"description": "for QA"}, content_type=JSON
    )
    assert response.status_code == 201
    data = response.json()
    assert re.fullmatch(r"[0-9A-Z]{6}", data["code"]) and data["description"] == "for QA"
    row = PostgresTeamCreationInviteCode.objects.get(code=data["code"])
    assert (row.code, row.created_by, row.is_used, row.sync_status) == (
        data["code"],
        admin.id,
        False,
        "SYNCED",
    )
    audit = PostgresAuditLog.objects.get(action="team_creation_invite_code_generated")
    assert audit.performed_by == admin.id
    assert mirrored_everywhere() == {}


def test_generate_without_body_and_codes_are_distinct(admin) -> None:
    api = client(admin)
    codes = {
        api.post("/v1/team-invite-codes/generate", {}, content_type=JSON).json()["code"] for _ in range(5)
    }
    assert len(codes) == 5


def test_non_admins_may_not_generate_or_list_but_may_verify(api: Client) -> None:
    code = new_code()
    assert api.post("/v1/team-invite-codes/generate", {}, content_type=JSON).status_code == 403
    assert api.post("/v1/team-invite-codes/verify", {"code": code}, content_type=JSON).status_code == 200
    response = api.get("/v1/team-invite-codes")
    assert response.status_code == 403 and response.json()["statusCode"] == 403
    assert PostgresTeamCreationInviteCode.objects.count() == 1


def test_signed_out_gets_401() -> None:
    assert Client().post("/v1/team-invite-codes/generate", {}, content_type=JSON).status_code == 401
    assert (
        Client().post("/v1/team-invite-codes/verify", {"code": "ABC123"}, content_type=JSON).status_code
        == 401
    )
    assert Client().get("/v1/team-invite-codes").status_code == 401


def test_verify_unused_unknown_and_used(admin, make_user) -> None:
    api = client(admin)
    code = new_code()
    ok = api.post("/v1/team-invite-codes/verify", {"code": code.lower()}, content_type=JSON)
    assert ok.status_code == 200 and isinstance(ok.json()["message"], str)
    missing = api.post("/v1/team-invite-codes/verify", {"code": "ZZZZZZ"}, content_type=JSON)
    assert missing.status_code == 400 and error_sources(missing) == [{"pointer": "code"}]
    creator = make_user("Lin")
    made = client(creator).post("/v1/teams", {"name": "T", "team_invite_code": code}, content_type=JSON)
    assert made.status_code == 201
    used = api.post("/v1/team-invite-codes/verify", {"code": code}, content_type=JSON)
    assert used.status_code == 400 and error_sources(used) == [{"pointer": "code"}]
    row = PostgresTeamCreationInviteCode.objects.get(code=code)
    assert (row.is_used, row.used_by) == (True, creator.id) and row.used_at is not None
    assert PostgresAuditLog.objects.filter(action="team_creation_invite_code_consumed").count() == 1
    assert mirrored_everywhere() == {}


def test_a_code_is_consumed_once(make_user) -> None:
    code = new_code()
    first = client(make_user("A")).post(
        "/v1/teams", {"name": "One", "team_invite_code": code}, content_type=JSON
    )
    second = client(make_user("B")).post(
        "/v1/teams", {"name": "Two", "team_invite_code": code}, content_type=JSON
    )
    assert (first.status_code, second.status_code) == (201, 400)
    unknown = client(make_user("C")).post(
        "/v1/teams", {"name": "3", "team_invite_code": "QQQQQQ"}, content_type=JSON
    )
    assert unknown.status_code == 400 and error_sources(unknown) == [{"pointer": "team_invite_code"}]


def test_list_newest_first_paginated(admin) -> None:
    api = client(admin)
    made = [
        api.post("/v1/team-invite-codes/generate", {}, content_type=JSON).json()["code"] for _ in range(3)
    ]
    body = api.get("/v1/team-invite-codes", {"limit": 2}).json()
    assert len(body["codes"]) == 2 and body["next_url"] and body["previous_url"] is None
    rest = api.get(body["next_url"]).json()["codes"]
    listed = [c["code"] for c in body["codes"] + rest]
    assert sorted(listed) == sorted(made)
    stamps = [c["created_at"] for c in body["codes"] + rest]
    assert stamps == sorted(stamps, reverse=True)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("generate", {"description": {"$gt": ""}}, "description"),
        ("generate", {"description": 5}, "description"),
        ("generate", {"description": "a\x00b"}, "description"),
        ("generate", {"description": "x" * 501}, "description"),
        ("generate", {"unexpected": 1}, "unexpected"),
        ("verify", {"code": {"$ne": None}}, "code"),
        ("verify", {"code": ["ABC123"]}, "code"),
        ("verify", {"code": "ABC12"}, "code"),
        ("verify", {"code": "A" * 21}, "code"),
        ("verify", {"code": "ABC12!"}, "code"),
        ("verify", {"code": "ABC\x0012"}, "code"),
        ("verify", {}, "code"),
    ],
)
def test_bad_bodies_get_400_naming_the_field(admin, path: str, body: dict, field: str) -> None:
    response = client(admin).post(f"/v1/team-invite-codes/{path}", body, content_type=JSON)
    assert response.status_code == 400
    assert error_sources(response) == [{"pointer": field}]
    assert PostgresTeamCreationInviteCode.objects.count() == 0


def test_non_object_and_malformed_bodies_get_400(admin) -> None:
    api = client(admin)
    assert api.post("/v1/team-invite-codes/verify", ["ABC123"], content_type=JSON).status_code == 400
    assert api.post("/v1/team-invite-codes/verify", "{not json", content_type=JSON).status_code == 400
    assert api.get("/v1/team-invite-codes", {"page": "0"}).status_code == 400
    assert api.get("/v1/team-invite-codes", {"limit": "0"}).status_code == 200  # means 10


def test_concurrent_team_creations_consume_a_code_once(make_user, monkeypatch) -> None:
    import time
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    from todo.repositories.mongo_repository import TeamCreationInviteCodeRepository

    slow_read = TeamCreationInviteCodeRepository.get_by_code

    def get_by_code(self, code: str):  # widens the window between reading and marking the code
        found = slow_read(self, code)
        time.sleep(0.1)
        return found

    monkeypatch.setattr(TeamCreationInviteCodeRepository, "get_by_code", get_by_code)
    code = new_code()
    clients = [client(make_user(f"U{i}")) for i in range(4)]

    def create(api: Client) -> int:
        try:
            body = {"name": "Race", "team_invite_code": code}
            return api.post("/v1/teams", body, content_type=JSON).status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(create, clients))
    assert statuses == [201, 400, 400, 400]
    assert PostgresTeamCreationInviteCode.objects.get(code=code).is_used is True
    assert mirrored_everywhere() == {}
