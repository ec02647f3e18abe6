"""Section 3 of the contract: the sign-in flow ends on the client's page with both cookies set,
the cookies' attributes, renewal from the refresh cookie, and sign-out."""

from __future__ import annotations

import datetime as dt
from http.cookies import Morsel
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from tests.contract.conftest import CLIENT_ORIGIN, browser, call
from tests.contract.helpers import mirrored_everywhere
from tests.google_provider import GOOD_CODE, consent, stand_in_google
from todo.auth import tokens
from todo.db.mongo_manager import DatabaseManager

pytestmark = pytest.mark.django_db(transaction=True)

LIN = {
    "sub": "google-42",
    "email": "lin@example.com",
    "email_verified": True,
    "name": "Lin",
    "picture": "https://p.example/lin.png",
}


@pytest.fixture
def google(settings: Any, mongo_db: Any) -> Any:
    with stand_in_google(settings, LIN) as provider:
        yield provider


def state_of(client: Client) -> str:
    """Start a sign-in in this browser and consent (the stand-in records the PKCE challenge)."""
    location = client.get("/v1/auth/google/login")["Location"]
    return consent(location)["state"]


def callback(client: Client, **query: str) -> Any:
    return client.get("/v1/auth/google/callback", query)


def users_in_mongo() -> int:
    return DatabaseManager.get().get_collection("users").count_documents({})


def test_login_redirects_to_the_provider(google: Any, settings: Any) -> None:
    response = Client().get("/v1/auth/google/login")
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == settings.GOOGLE_AUTH_URL
    query = parse_qs(target.query)
    assert query["redirect_uri"] == [settings.GOOGLE_REDIRECT_URI] and query["state"][0]


def test_callback_sets_both_cookies_and_lands_on_the_dashboard(google: Any) -> None:
    client = Client()
    response = callback(client, code=GOOD_CODE, state=state_of(client))
    assert response.status_code == 302
    assert response["Location"] == f"{CLIENT_ORIGIN}/dashboard?success=true"
    access, refresh = response.cookies["todo-access"], response.cookies["todo-refresh"]
    user_id = tokens.verify(access.value)
    assert tokens.verify(refresh.value, tokens.REFRESH) == user_id
    for cookie in (access, refresh):
        assert cookie["httponly"] and cookie["path"] == "/" and cookie["samesite"] == "Lax"
    assert int(access["max-age"]) == 3600 and int(refresh["max-age"]) > int(access["max-age"])
    # The cookie alone now signs the browser in, and the user is mirrored.
    profile = call(browser(), "get", "/v1/users?profile=true")
    assert profile.status_code == 401
    signed = Client(HTTP_ORIGIN=CLIENT_ORIGIN)
    signed.cookies["todo-access"] = access.value
    assert call(signed, "get", "/v1/users?profile=true").json()["data"]["email"] == LIN["email"]
    assert mirrored_everywhere() == {}
    # Signing in again updates the same user.
    google.identity = {**LIN, "name": "Lin Renamed"}
    again = callback(client, code=GOOD_CODE, state=state_of(client))
    assert tokens.verify(again.cookies["todo-access"].value) == user_id
    assert users_in_mongo() == 1
    assert call(signed, "get", "/v1/users?profile=true").json()["data"]["name"] == "Lin Renamed"
    assert mirrored_everywhere() == {}


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({"error": "access_denied"}, "access_denied"),
        ({}, "missing_code"),
        ({"code": GOOD_CODE}, "missing_state"),
        ({"code": GOOD_CODE, "state": "forged"}, "invalid_state"),
        ({"code": "refused", "state": None}, "auth_failed"),
    ],
)
def test_failed_callbacks_redirect_to_the_client_with_the_reason(
    google: Any, query: dict[str, Any], reason: str
) -> None:
    client = Client()
    if query.get("state", "") is None:
        query = {**query, "state": state_of(client)}
    response = callback(client, **query)
    assert response.status_code == 302
    assert response["Location"] == f"{CLIENT_ORIGIN}/dashboard?error={reason}"
    assert "todo-access" not in response.cookies and "todo-refresh" not in response.cookies
    assert users_in_mongo() == 0


def test_unreachable_provider_redirects_with_auth_failed(settings: Any, mongo_db: Any) -> None:
    settings.GOOGLE_TOKEN_URL = "http://127.0.0.1:9/token"  # nothing listens on the discard port
    client = Client()
    location = client.get("/v1/auth/google/login")["Location"]  # its consent page is not visited
    response = callback(client, code="x", state=parse_qs(urlsplit(location).query)["state"][0])
    assert response["Location"].endswith("?error=auth_failed")


def test_redirect_target_and_cookie_attributes_are_settings(google: Any, settings: Any) -> None:
    settings.FRONTEND_URL = "https://app.example.com"
    settings.FRONTEND_REDIRECT_PATH = "home"
    settings.COOKIE_SECURE, settings.COOKIE_SAMESITE, settings.COOKIE_DOMAIN = True, "None", ".example.com"
    settings.ACCESS_TOKEN_COOKIE_NAME, settings.REFRESH_TOKEN_COOKIE_NAME = "a-cookie", "r-cookie"
    client = Client()
    response = callback(client, code=GOOD_CODE, state=state_of(client))
    assert response["Location"] == "https://app.example.com/home?success=true"
    for name in ("a-cookie", "r-cookie"):
        cookie: Morsel[str] = response.cookies[name]
        assert cookie["secure"] and cookie["samesite"] == "None" and cookie["domain"] == ".example.com"
    # The renamed cookie is the one that signs in.
    signed = Client(HTTP_ORIGIN=CLIENT_ORIGIN)
    signed.cookies["a-cookie"] = response.cookies["a-cookie"].value
    assert call(signed, "get", "/v1/users?profile=true").status_code == 200
    old_name = Client(HTTP_ORIGIN=CLIENT_ORIGIN)
    old_name.cookies["todo-access"] = response.cookies["a-cookie"].value
    assert call(old_name, "get", "/v1/users?profile=true").status_code == 401
    # Logout deletes them with the same name, path and domain.
    out = call(signed, "post", "/v1/auth/logout")
    for name in ("a-cookie", "r-cookie"):
        deleted = out.cookies[name]
        assert deleted.value == "" and deleted["max-age"] == 0
        assert deleted["path"] == "/" and deleted["domain"] == ".example.com"


@pytest.mark.parametrize("access", ["missing", "expired"])
def test_the_refresh_cookie_alone_signs_in_and_renews_the_access_cookie(make_user: Any, access: str) -> None:
    user = make_user("Ada")
    client = Client(HTTP_ORIGIN=CLIENT_ORIGIN)
    client.cookies["todo-refresh"] = tokens.issue(user.id, tokens.REFRESH)
    if access == "expired":
        client.cookies["todo-access"] = tokens.issue(
            user.id, now=dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        )
    response = call(client, "get", "/v1/users?profile=true")
    assert response.status_code == 200 and response.json()["data"]["id"] == user.id
    assert tokens.verify(response.cookies["todo-access"].value) == user.id
    # A write signed in by the refresh cookie alone is origin-checked too.
    hostile = Client(HTTP_ORIGIN="https://evil.example")
    hostile.cookies["todo-refresh"] = tokens.issue(user.id, tokens.REFRESH)
    assert call(hostile, "post", "/v1/tasks", {"title": "x"}).status_code == 403


def test_logout_answers_as_the_reference_and_deletes_both_cookies(signed_in: Any) -> None:
    _, client = signed_in()
    response = call(client, "post", "/v1/auth/logout")
    assert response.status_code == 200
    assert response.json() == {
        "statusCode": 200,
        "message": "Successfully logged out",
        "data": {"success": True},
    }
    for name in ("todo-access", "todo-refresh"):
        assert response.cookies[name].value == "" and response.cookies[name]["max-age"] == 0
        assert response.cookies[name]["path"] == "/"
    # Signed out, logout still works (public path).
    assert call(browser(), "post", "/v1/auth/logout").status_code == 200


def test_a_bad_or_expired_session_is_401_not_403(make_user: Any) -> None:
    user = make_user("Ada")
    expired = Client(HTTP_ORIGIN=CLIENT_ORIGIN)
    expired.cookies["todo-access"] = tokens.issue(user.id, now=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    assert call(expired, "get", "/v1/users?profile=true").status_code == 401
    garbage = Client(HTTP_ORIGIN=CLIENT_ORIGIN)
    garbage.cookies["todo-access"] = "not-a-token"
    assert call(garbage, "get", "/v1/tasks").status_code == 401


def test_an_unverified_email_signs_nobody_in_and_grants_nothing(google: Any, settings: Any) -> None:
    """Security: a provider answer whose email is not verified never matches an admin's email (or
    anyone's): no user, no cookies, no role."""
    settings.ADMIN_EMAILS = frozenset({"boss@example.com"})
    google.identity = {**LIN, "email": "boss@example.com", "email_verified": False}
    client = Client()
    response = callback(client, code=GOOD_CODE, state=state_of(client))
    assert response["Location"].endswith("?error=auth_failed")
    assert "todo-access" not in response.cookies
    assert users_in_mongo() == 0
    assert DatabaseManager.get().get_collection("user_roles").count_documents({}) == 0
    google.identity = {k: v for k, v in LIN.items() if k != "email_verified"}  # claim missing
    assert callback(client, code=GOOD_CODE, state=state_of(client))["Location"].endswith("?error=auth_failed")


def test_signing_out_ends_every_token_of_the_session_and_refresh_rotates(google: Any) -> None:
    """Security: a refresh token is rotated when used and stops working at sign-out, in every
    browser, together with every access token issued before."""
    client = Client()
    signed = callback(client, code=GOOD_CODE, state=state_of(client))
    access, refresh = signed.cookies["todo-access"].value, signed.cookies["todo-refresh"].value
    # Another browser of the same user (a stolen copy of the cookies, say).
    other = Client(HTTP_ORIGIN=CLIENT_ORIGIN)
    other.cookies["todo-refresh"] = refresh
    renewed = call(other, "get", "/v1/users?profile=true")
    assert renewed.status_code == 200
    assert renewed.cookies["todo-refresh"].value  # rotated: a new refresh token on the response
    # Sign out in the first browser.
    browser_one = Client(HTTP_ORIGIN=CLIENT_ORIGIN)
    browser_one.cookies["todo-access"] = access
    assert call(browser_one, "post", "/v1/auth/logout").status_code == 200
    for name, value in (("todo-access", access), ("todo-refresh", refresh),
                        ("todo-refresh", renewed.cookies["todo-refresh"].value)):  # fmt: skip
        stale = Client(HTTP_ORIGIN=CLIENT_ORIGIN)
        stale.cookies[name] = value
        assert call(stale, "get", "/v1/users?profile=true").status_code == 401, name
    # Signing in again works (tokens of the new session).
    again = callback(client, code=GOOD_CODE, state=state_of(client))
    fresh = Client(HTTP_ORIGIN=CLIENT_ORIGIN)
    fresh.cookies["todo-access"] = again.cookies["todo-access"].value
    assert call(fresh, "get", "/v1/users?profile=true").status_code == 200
    assert mirrored_everywhere() == {}


def test_a_callback_only_works_in_the_browser_that_started_it_and_once(google: Any) -> None:
    """Security (login CSRF): a callback URL carried to another browser, or replayed, signs nobody
    in; the sign-in uses PKCE (the stand-in refuses a code without the right verifier)."""
    victim, attacker = Client(), Client()
    query = consent(attacker.get("/v1/auth/google/login")["Location"])  # the attacker's own sign-in
    planted = callback(victim, **query)  # … whose callback the victim is made to open
    assert planted["Location"].endswith("?error=invalid_state") and "todo-access" not in planted.cookies
    first = callback(attacker, **query)
    assert first["Location"].endswith("?success=true")
    replay = callback(attacker, **query)  # the binding cookie was deleted by the first callback
    assert replay["Location"].endswith("?error=invalid_state") and "todo-access" not in replay.cookies
    assert users_in_mongo() == 1
