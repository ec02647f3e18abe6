"""Hostile input: every rejection is a clear 4xx in the error shape, never a 5xx, never a leak."""

from __future__ import annotations

import json

import pytest
from bson import ObjectId
from django.test import Client

from tests.api.conftest import bearer

pytestmark = pytest.mark.django_db(transaction=True)

WRITE_PATHS = [
    "/v1/tasks",
    "/v1/teams",
    "/v1/watchlist/tasks",
    "/v1/task-assignments",
    "/v1/team-invite-codes/verify",
]


def _assert_clean_4xx(response, *statuses: int) -> dict:
    assert response.status_code in (statuses or (400,)), response.content[:300]
    body = response.json()
    assert body["statusCode"] == response.status_code and isinstance(body["message"], str)
    assert isinstance(body["errors"], list)
    return body


@pytest.mark.parametrize("path", WRITE_PATHS)
def test_oversized_body_is_refused(api: Client, path: str) -> None:
    body = json.dumps({"title": "x" * (3 * 1024 * 1024)})
    _assert_clean_4xx(api.post(path, body, content_type="application/json"), 400, 413)


@pytest.mark.parametrize("path", WRITE_PATHS)
def test_deeply_nested_body_is_refused(api: Client, path: str) -> None:
    body = '{"title": ' + "[" * 100_000 + "]" * 100_000 + "}"
    _assert_clean_4xx(api.post(path, body, content_type="application/json"))


@pytest.mark.parametrize("path", WRITE_PATHS)
@pytest.mark.parametrize(
    "raw",
    [b"\xff\xfe\x00not utf-8", b'{"title": "a\x00b"}', b"[1, 2, 3]", b"null", b"", b"{", b'"just a string"'],
    ids=["invalid-utf8", "nul", "array", "null", "empty", "truncated", "string"],
)
def test_malformed_bodies_are_refused(api: Client, path: str, raw: bytes) -> None:
    _assert_clean_4xx(api.generic("POST", path, raw, content_type="application/json"))


@pytest.mark.parametrize(
    "body",
    [
        {"title": {"$gt": ""}},
        {"title": "ok", "labels": [{"$ne": None}]},
        {"title": "ok", "labels": {"$in": []}},
        {"title": "ok", "priority": {"$regex": ".*"}},
        {"title": "ok", "dueAt": {"$date": 0}},
        {"title": "ok", "$where": "1 == 1"},
    ],
)
def test_mongodb_operators_in_values_never_reach_a_query(api: Client, mongo_db, body: dict) -> None:
    _assert_clean_4xx(api.post("/v1/tasks", body, content_type="application/json"))
    assert mongo_db.get_collection("tasks").count_documents({}) == 0


def test_operator_in_a_watchlist_body(api: Client, mongo_db) -> None:
    _assert_clean_4xx(
        api.post("/v1/watchlist/tasks", {"taskId": {"$ne": None}}, content_type="application/json")
    )
    assert mongo_db.get_collection("watchlists").count_documents({}) == 0


@pytest.mark.parametrize(
    "query",
    [
        {"page": "99999999999999999999"},
        {"limit": "100000"},
        {"page": "0"},
        {"limit": "-5"},
        {"page": "1.5"},
        {"limit": "1e3"},
    ],
)
@pytest.mark.parametrize("path", ["/v1/tasks", "/v1/labels", "/v1/users", "/v1/teams", "/v1/watchlist/tasks"])
def test_huge_or_bad_pagination_is_a_400(api: Client, path: str, query: dict) -> None:
    _assert_clean_4xx(api.get(path, query))


@pytest.mark.parametrize("bad_id", ["123", "zzzzzzzzzzzzzzzzzzzzzzzz", "6b0c" * 7, "%24ne", "' OR 1=1 --"])
@pytest.mark.parametrize(
    "template", ["/v1/tasks/{}", "/v1/teams/{}", "/v1/roles/{}", "/v1/task-assignments/{}"]
)
def test_invalid_ids_are_a_400(api: Client, template: str, bad_id: str) -> None:
    _assert_clean_4xx(api.get(template.format(bad_id)))


def test_another_users_task_cannot_be_changed_or_deleted(make_user, mongo_db) -> None:
    owner, intruder = make_user("Owner"), make_user("Intruder")
    created = Client(**bearer(owner)).post("/v1/tasks", {"title": "private"}, content_type="application/json")
    task_id = created.json()["data"]["id"]
    other = Client(**bearer(intruder))
    assert other.patch(
        f"/v1/tasks/{task_id}", {"title": "mine now"}, content_type="application/json"
    ).status_code in (403, 404)
    assert other.delete(f"/v1/tasks/{task_id}").status_code in (403, 404)
    stored = mongo_db.get_collection("tasks").find_one({"_id": ObjectId(task_id)})
    assert stored["title"] == "private" and not stored.get("isDeleted")


@pytest.mark.parametrize("value", ["²", "١٢", "1²", "\uff15"])
def test_non_ascii_digits_in_page_and_limit_are_a_400(value: str, make_user) -> None:
    """str.isdigit() accepts '²' and Arabic-Indic digits, and int('²') raises: an HTML 500 before."""
    client = Client(**bearer(make_user("Ada")))
    for path in (
        f"/v1/users?search=abc&limit={value}",
        f"/v1/labels?page={value}",
        f"/v1/tasks?limit={value}",
    ):
        response = client.get(path)
        assert response.status_code == 400, (path, response.status_code)
        assert response.json()["statusCode"] == 400


def test_a_team_task_is_not_readable_or_watchable_by_outsiders(make_user) -> None:
    """A task id (a guessable ObjectId) reveals nothing to someone who could not list the task."""
    from tests.api.task_helpers import make_team

    creator, member, outsider = make_user("Creator"), make_user("Member"), make_user("Outsider")
    team = make_team(creator, [creator, member])
    body = {"title": "team secret", "assignee_id": team.id, "user_type": "team", "timezone": "UTC"}
    created = Client(**bearer(creator)).post("/v1/tasks", body, content_type="application/json")
    assert created.status_code == 201, created.json()
    task_id = created.json()["data"]["id"]
    assert Client(**bearer(member)).get(f"/v1/tasks/{task_id}").status_code == 200
    stranger = Client(**bearer(outsider))
    refused = stranger.get(f"/v1/tasks/{task_id}")
    assert refused.status_code == 404 and "team secret" not in refused.content.decode()
    watch = stranger.post("/v1/watchlist/tasks", {"taskId": task_id}, content_type="application/json")
    assert watch.status_code == 404
    assert stranger.get("/v1/watchlist/tasks").json()["tasks"] == []


def test_another_users_roles_are_for_moderators_only(make_user) -> None:
    """Roles name the teams a user is in: another user's are not for any signed-in user."""
    from tests.api.team_helpers import make_moderator

    ada, grace = make_user("Ada"), make_user("Grace")
    assert Client(**bearer(grace)).get(f"/v1/users/{ada.id}/roles").status_code == 403
    assert Client(**bearer(ada)).get(f"/v1/users/{ada.id}/roles").status_code == 200
    moderator = make_moderator(make_user("Mo"))
    assert Client(**bearer(moderator)).get(f"/v1/users/{ada.id}/roles").status_code == 200
