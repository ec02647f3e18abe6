"""Sign-in: bearer and cookie tokens, renewal from the refresh cookie, Google sign-in against a
local stand-in provider, sign-out, and every way a token can be wrong."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import call_command
from django.test import Client

from tests.api.conftest import bearer
from tests.engine.helpers import mirror_differences
from todo.auth import tokens

pytestmark = pytest.mark.django_db(transaction=True)


def test_bearer_token_signs_in(api: Client, user) -> None:
    response = api.get("/v1/users?profile=true")
    assert response.status_code == 200
    assert response.json()["data"]["email"] == user.email_id


def test_cookie_token_signs_in(user) -> None:
    client = Client()
    client.cookies["todo-access"] = tokens.issue(user.id)
    assert client.get("/v1/users?profile=true").json()["data"]["id"] == user.id


def test_expired_access_cookie_is_renewed_from_the_refresh_cookie(user) -> None:
    client = Client()
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    client.cookies["todo-access"] = tokens.issue(user.id, now=long_ago)
    client.cookies["todo-refresh"] = tokens.issue(user.id, tokens.REFRESH)
    response = client.get("/v1/users?profile=true")
    assert response.status_code == 200
    renewed = response.cookies["todo-access"].value
    assert tokens.verify(renewed) == user.id


def _forged(user_id: str) -> str:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {
        "sub": user_id,
        "user_id": user_id,
        "token_type": "access",
        "iat": now,
        "exp": now + 600,
        "iss": "todo-backend",
    }
    return jwt.encode(claims, pem, algorithm="RS256")


@pytest.mark.parametrize(
    "header",
    [
        lambda u: None,
        lambda u: "Bearer",
        lambda u: "Basic dXNlcjpwYXNz",
        lambda u: "Bearer not.a.token",
        lambda u: f"Bearer {_forged(u.id)}",
        lambda u: f"Bearer {tokens.issue(u.id, now=dt.datetime.now(dt.UTC) - dt.timedelta(days=2))}",
        lambda u: f"Bearer {tokens.issue(u.id, tokens.REFRESH)}",
        lambda u: f"Bearer {tokens.issue('0' * 24)}",
        lambda u: f"Bearer {tokens.issue('not-an-id')}",
    ],
    ids=[
        "none",
        "empty",
        "basic",
        "garbage",
        "forged",
        "expired",
        "refresh-as-access",
        "unknown-user",
        "bad-id",
    ],
)
def test_bad_credentials_get_401_in_the_error_shape(user, header) -> None:
    value = header(user)
    client = Client(**({"HTTP_AUTHORIZATION": value} if value else {}))
    response = client.get("/v1/users?profile=true")
    assert response.status_code == 401
    body = response.json()
    assert body["statusCode"] == 401 and isinstance(body["message"], str) and "errors" in body


class _StandInGoogle(BaseHTTPRequestHandler):
    """Plays Google's token and userinfo endpoints."""

    identity: dict[str, Any] = {}

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        ok = form.get("code") == ["good-code"] and form.get("grant_type") == ["authorization_code"]
        self._json(200, {"access_token": "provider-token"} if ok else {"error": "invalid_grant"})

    def do_GET(self) -> None:
        if self.headers.get("Authorization") == "Bearer provider-token":
            self._json(200, self.identity)
        else:
            self._json(401, {"error": "unauthorized"})

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def google(settings):
    server = HTTPServer(("127.0.0.1", 0), _StandInGoogle)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    settings.GOOGLE_TOKEN_URL, settings.GOOGLE_USERINFO_URL = f"{base}/token", f"{base}/userinfo"
    settings.GOOGLE_AUTH_URL = f"{base}/auth"
    yield _StandInGoogle
    server.shutdown()


def _state(client: Client) -> str:
    location = client.get("/v1/auth/google/login")["Location"]
    return parse_qs(urlsplit(location).query)["state"][0]


def test_google_sign_in_creates_then_updates_the_user_and_sets_cookies(google, mongo_db) -> None:
    google.identity = {
        "sub": "google-42",
        "email": "lin@example.com",
        "name": "Lin",
        "picture": "https://p/1",
    }
    client = Client()
    login = client.get("/v1/auth/google/login")
    assert login.status_code == 302 and login["Location"].startswith(google and "http://127.0.0.1")
    response = client.get("/v1/auth/google/callback", {"code": "good-code", "state": _state(client)})
    assert response.status_code == 200
    created = response.json()["data"]["user"]
    assert created["email"] == "lin@example.com"
    assert tokens.verify(response.cookies["todo-access"].value) == created["id"]
    assert tokens.verify(response.cookies["todo-refresh"].value, tokens.REFRESH) == created["id"]
    assert mirror_differences("users", [created["id"]]) == {}

    google.identity = {**google.identity, "name": "Lin Renamed"}
    again = client.get("/v1/auth/google/callback", {"code": "good-code", "state": _state(client)})
    assert again.json()["data"]["user"]["id"] == created["id"]
    assert again.json()["data"]["user"]["name"] == "Lin Renamed"
    assert mongo_db.get_collection("users").count_documents({}) == 1
    assert mirror_differences("users", [created["id"]]) == {}

    signed_in = Client()
    signed_in.cookies["todo-access"] = again.cookies["todo-access"].value
    assert signed_in.get("/v1/users?profile=true").status_code == 200
    out = signed_in.post("/v1/auth/logout")
    assert out.status_code == 200 and out.cookies["todo-access"].value == ""


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({}, 400),
        ({"code": "good-code"}, 400),
        ({"code": "good-code", "state": "forged"}, 400),
        ({"code": "bad", "state": None}, 401),
    ],
)
def test_bad_callbacks_are_refused_without_creating_users(google, mongo_db, query, status) -> None:
    client = Client()
    if query.get("state", "") is None:
        query = {**query, "state": _state(client)}
    response = client.get("/v1/auth/google/callback", query)
    assert response.status_code == status
    assert response.json()["statusCode"] == status
    assert mongo_db.get_collection("users").count_documents({}) == 0


def test_unreachable_provider_is_a_502(settings, mongo_db) -> None:
    settings.GOOGLE_TOKEN_URL = "http://127.0.0.1:9/token"  # nothing listens on the discard port
    client = Client()
    response = client.get("/v1/auth/google/callback", {"code": "x", "state": _state(client)})
    assert response.status_code == 502


def test_issue_token_command_prints_a_token_for_the_user(mongo_db, capsys, settings) -> None:
    # With a real MongoDB the command signs the user in directly.
    settings.MONGODB_URI = "mongodb://db.invalid:27017"
    call_command("issue_token", "--email", "you@example.com")
    token = capsys.readouterr().out.strip()
    user_id = tokens.verify(token)
    response = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/v1/users?profile=true")
    assert response.json()["data"] == {**response.json()["data"], "id": user_id, "email": "you@example.com"}


def test_health_and_docs_are_public(mongo_db) -> None:
    client = Client()
    assert client.get("/v1/health").status_code == 200
    assert client.get("/v1/schema").status_code == 200
    docs = client.get("/v1/docs")
    assert docs.status_code == 200
    # The page's scripts and styles are served by the service itself (no CDN needed).
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', docs.content.decode())
    assert len(assets) >= 3 and all(client.get(a).status_code == 200 for a in assets)


def test_tokens_of_one_user_do_not_sign_in_another(make_user) -> None:
    ada, grace = make_user("Ada"), make_user("Grace")
    response = Client(**bearer(grace)).get("/v1/users?profile=true")
    assert response.json()["data"]["id"] == grace.id != ada.id


def test_local_token_endpoint_serves_the_in_process_mode_only_to_this_machine(mongo_db, settings) -> None:
    response = Client().post(
        "/v1/auth/local-token", {"email": "dev@example.com"}, content_type="application/json"
    )
    token = response.json()["token"]
    profile = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/v1/users?profile=true").json()["data"]
    assert profile["email"] == "dev@example.com"
    remote = Client(REMOTE_ADDR="10.1.2.3")
    assert (
        remote.post(
            "/v1/auth/local-token", {"email": "x@example.com"}, content_type="application/json"
        ).status_code
        == 403
    )
    bad = Client().post("/v1/auth/local-token", {"email": {"$ne": None}}, content_type="application/json")
    assert bad.status_code == 400
    settings.MONGODB_URI = "mongodb://db.invalid:27017"
    assert (
        Client().post("/v1/auth/local-token", {"email": "a@b.c"}, content_type="application/json").status_code
        == 404
    )


def test_issue_token_without_a_running_service_says_so(mongo_db) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="start it with `make run`"):
        call_command("issue_token", "--email", "you@example.com", "--url", "http://127.0.0.1:9")


def test_listed_admin_emails_become_moderators_at_sign_in(mongo_db, settings) -> None:
    settings.ADMIN_EMAILS = frozenset({"boss@example.com"})
    boss = Client().post(
        "/v1/auth/local-token", {"email": "Boss@example.com"}, content_type="application/json"
    )
    other = Client().post(
        "/v1/auth/local-token", {"email": "dev@example.com"}, content_type="application/json"
    )
    boss_api = Client(HTTP_AUTHORIZATION=f"Bearer {boss.json()['token']}")
    other_api = Client(HTTP_AUTHORIZATION=f"Bearer {other.json()['token']}")
    assert (
        boss_api.post("/v1/team-invite-codes/generate", {}, content_type="application/json").status_code
        == 201
    )
    assert (
        other_api.post("/v1/team-invite-codes/generate", {}, content_type="application/json").status_code
        == 403
    )
    # Signing in again does not grant twice.
    Client().post("/v1/auth/local-token", {"email": "boss@example.com"}, content_type="application/json")
    assert mongo_db.get_collection("user_roles").count_documents({"role_name": "moderator"}) == 1
