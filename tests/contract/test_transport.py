"""Section 1-2 of the contract: CORS on every answer, preflights without authentication, the origin
check of cookie-authenticated writes, and JSON for every answer (unknown paths, methods, crashes)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.api.conftest import bearer
from tests.contract.conftest import CLIENT_ORIGIN, browser, call
from todo.db.mongo_manager import DatabaseManager

pytestmark = pytest.mark.django_db(transaction=True)

HOSTILE_ORIGIN = "https://evil.example"
ID = "65f1c0ffee0000000000abcd"
# Every (method, path) the client preflights: JSON POST/PATCH and every DELETE.
PREFLIGHTED = [
    ("POST", "/v1/tasks"),
    ("PATCH", f"/v1/tasks/{ID}/update"),
    ("PATCH", f"/v1/tasks/{ID}?action=defer"),
    ("POST", "/v1/watchlist/tasks"),
    ("PATCH", f"/v1/watchlist/tasks/{ID}"),
    ("PATCH", f"/v1/task-assignments/{ID}"),
    ("POST", "/v1/teams"),
    ("POST", "/v1/teams/join-by-invite"),
    ("POST", f"/v1/teams/{ID}/members"),
    ("DELETE", f"/v1/teams/{ID}/members/{ID}"),
    ("PATCH", f"/v1/teams/{ID}"),
    ("POST", "/v1/team-invite-codes/generate"),
    ("POST", "/v1/team-invite-codes/verify"),
]


def cors_headers_for(response: Any, origin: str = CLIENT_ORIGIN) -> None:
    assert response["Access-Control-Allow-Origin"] == origin
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "origin" in response["Vary"].lower()


@pytest.mark.parametrize(("method", "path"), PREFLIGHTED)
def test_preflight_is_answered_without_cookies(method: str, path: str, mongo_db: Any) -> None:
    response = Client().options(
        path,
        HTTP_ORIGIN=CLIENT_ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert response.status_code in (200, 204)
    cors_headers_for(response)
    methods = {m.strip() for m in response["Access-Control-Allow-Methods"].upper().split(",")}
    assert {"GET", "POST", "PATCH", "DELETE", "OPTIONS"} <= methods
    assert "content-type" in response["Access-Control-Allow-Headers"].lower()


def test_preflight_from_another_origin_is_not_allowed(mongo_db: Any) -> None:
    response = Client().options(
        "/v1/tasks", HTTP_ORIGIN=HOSTILE_ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert "Access-Control-Allow-Origin" not in response


def test_signed_out_401_carries_cors_headers_so_the_client_can_redirect(mongo_db: Any) -> None:
    response = browser().get("/v1/users?profile=true")
    assert response.status_code == 401
    cors_headers_for(response)
    assert response.json()["statusCode"] == 401


def test_every_error_is_json_with_cors_headers(signed_in: Any) -> None:
    _, client = signed_in()
    unknown = call(client, "get", "/v1/no-such-thing")
    assert unknown.status_code == 404 and unknown["Content-Type"] == "application/json"
    assert unknown.json()["statusCode"] == 404
    cors_headers_for(unknown)
    outside = call(client, "get", "/nowhere")
    assert outside.status_code == 404 and outside.json()["statusCode"] == 404
    method = call(client, "put", "/v1/tasks", {"title": "x"})
    assert method.status_code == 405 and method.json()["statusCode"] == 405
    cors_headers_for(method)
    bad = call(client, "get", "/v1/users?profile=maybe")
    assert bad.status_code == 400 and bad.json()["errors"]
    cors_headers_for(bad)


def test_a_host_that_is_not_allowed_is_a_json_400(mongo_db: Any) -> None:
    response = Client(HTTP_HOST="api.evil.example").get("/v1/users?profile=true")
    assert response.status_code == 400 and response.json()["statusCode"] == 400


def test_a_crash_is_a_json_500_with_cors_headers(signed_in: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from todo.views.users import UsersView

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(UsersView, "get", crash)
    user, _ = signed_in()
    client = browser(user)
    client.raise_request_exception = False
    response = client.get("/v1/users?profile=true")
    assert response.status_code == 500
    assert response.json() == {"statusCode": 500, "message": "Internal server error", "errors": []}
    cors_headers_for(response)


def test_simple_requests_carry_cors_headers(signed_in: Any) -> None:
    _, client = signed_in()
    profile = call(client, "get", "/v1/users?profile=true")
    assert profile.status_code == 200
    cors_headers_for(profile)
    logout = call(client, "post", "/v1/auth/logout")
    assert logout.status_code == 200
    cors_headers_for(logout)


def tasks_in_mongo() -> int:
    return DatabaseManager.get().get_collection("tasks").count_documents({})


def test_cookie_write_from_an_untrusted_origin_is_refused_and_writes_nothing(signed_in: Any) -> None:
    user, _ = signed_in()
    hostile = browser(user, origin=HOSTILE_ORIGIN)
    response = call(hostile, "post", "/v1/tasks", {"title": "planted"})
    assert response.status_code == 403
    assert response.json()["statusCode"] == 403
    assert "Access-Control-Allow-Origin" not in response
    assert tasks_in_mongo() == 0
    # Reading is harmless (the browser hides the answer from that page: no CORS headers).
    read = call(hostile, "get", "/v1/users?profile=true")
    assert read.status_code == 200 and "Access-Control-Allow-Origin" not in read


def test_cookie_write_without_origin_or_referer_is_refused(signed_in: Any) -> None:
    user, _ = signed_in()
    bare = Client()
    bare.cookies["todo-access"] = browser(user).cookies["todo-access"].value
    response = call(bare, "post", "/v1/tasks", {"title": "planted"})
    assert response.status_code == 403
    assert tasks_in_mongo() == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_REFERER": f"{CLIENT_ORIGIN}/dashboard?tab=All"},  # a browser that sends no Origin
        {"HTTP_ORIGIN": "http://testserver"},  # the API's own origin
    ],
    ids=["trusted-referer", "same-origin"],
)
def test_cookie_write_from_a_trusted_page_is_accepted(signed_in: Any, headers: dict[str, str]) -> None:
    user, _ = signed_in()
    client = Client(**headers)
    client.cookies["todo-access"] = browser(user).cookies["todo-access"].value
    response = call(client, "post", "/v1/tasks", {"title": "from a trusted page"})
    assert response.status_code == 201, response.json()
    assert tasks_in_mongo() == 1


def test_bearer_writes_are_not_origin_checked(make_user: Any) -> None:
    user = make_user("Ada")
    client = Client(HTTP_ORIGIN=HOSTILE_ORIGIN, **bearer(user))
    response = call(client, "post", "/v1/tasks", {"title": "from a script"})
    assert response.status_code == 201, response.json()
    assert tasks_in_mongo() == 1
