"""Sign-in: bearer and cookie tokens, renewal from the refresh cookie, Google sign-in against a
local stand-in provider, sign-out, and every way a token can be wrong."""

from __future__ import annotations

import datetime as dt
import re

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import call_command
from django.test import Client

from tests.api.conftest import bearer
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


@pytest.mark.stand_in_only(reason="/v1/auth/local-token is served with the in-process stand-in only")
def test_local_token_endpoint_serves_the_in_process_mode_only_with_the_local_secret(
    mongo_db, settings, tmp_path
) -> None:
    from todo.auth import local_secret

    settings.DATA_DIR = tmp_path
    settings.ADMIN_EMAILS = frozenset({"boss@example.com"})
    local_secret.write_new_secret()
    secret_file = tmp_path / "local-token.secret"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    with_secret = Client(HTTP_X_LOCAL_TOKEN_SECRET=local_secret.read_secret())
    response = with_secret.post(
        "/v1/auth/local-token", {"email": "dev@example.com"}, content_type="application/json"
    )
    token = response.json()["token"]
    profile = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/v1/users?profile=true").json()["data"]
    assert profile["email"] == "dev@example.com"
    # Without the secret (another account, a local proxy, a DNS-rebinding page): nothing, not
    # even for an admin's email.
    for client in (Client(), Client(HTTP_X_LOCAL_TOKEN_SECRET="guess")):
        refused = client.post(
            "/v1/auth/local-token", {"email": "boss@example.com"}, content_type="application/json"
        )
        assert refused.status_code == 403 and "token" not in refused.json()
    assert mongo_db.get_collection("users").count_documents({"email_id": "boss@example.com"}) == 0
    remote = Client(REMOTE_ADDR="10.1.2.3", HTTP_X_LOCAL_TOKEN_SECRET=local_secret.read_secret())
    assert (
        remote.post(
            "/v1/auth/local-token", {"email": "x@example.com"}, content_type="application/json"
        ).status_code
        == 403
    )
    bad = with_secret.post("/v1/auth/local-token", {"email": {"$ne": None}}, content_type="application/json")
    assert bad.status_code == 400
    settings.MONGODB_URI = "mongodb://db.invalid:27017"
    assert (
        with_secret.post(
            "/v1/auth/local-token", {"email": "a@b.c"}, content_type="application/json"
        ).status_code
        == 404
    )


def test_a_debug_service_answers_only_its_own_host_names(mongo_db) -> None:
    """ALLOWED_HOSTS is explicit in every mode: a page on another name (DNS rebinding) gets a 400."""
    assert Client(HTTP_HOST="attacker.example").get("/v1/health").status_code == 400


@pytest.mark.stand_in_only(reason="with the in-process stand-in, issue_token asks the running service")
def test_issue_token_without_a_running_service_says_so(mongo_db) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="start it with `make run`"):
        call_command("issue_token", "--email", "you@example.com", "--url", "http://127.0.0.1:9")


@pytest.mark.stand_in_only(
    reason="signs in through /v1/auth/local-token, served with the in-process stand-in only"
)
def test_listed_admin_emails_become_moderators_at_sign_in(mongo_db, settings, tmp_path) -> None:
    from todo.auth import local_secret

    settings.ADMIN_EMAILS = frozenset({"boss@example.com"})
    settings.DATA_DIR = tmp_path
    local_secret.write_new_secret()
    operator = Client(HTTP_X_LOCAL_TOKEN_SECRET=local_secret.read_secret())
    boss = operator.post(
        "/v1/auth/local-token", {"email": "Boss@example.com"}, content_type="application/json"
    )
    other = operator.post(
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
    operator.post("/v1/auth/local-token", {"email": "boss@example.com"}, content_type="application/json")
    assert mongo_db.get_collection("user_roles").count_documents({"role_name": "moderator"}) == 1
