"""Google sign-in: the login URL, the code exchange and the user it signs in (created or
updated). The provider's endpoints are settings, so a local stand-in can play Google in tests."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing

from todo.auth import tokens
from todo.models.documents import User
from todo.repositories.abstract_repository import now
from todo.repositories.factory import get_repository
from todo.services.admin_bootstrap import grant_admin_if_listed

logger = logging.getLogger(__name__)
STATE_SALT = "todo.google-sign-in"
STATE_MAX_AGE = 600  # seconds between login and callback
PROVIDER_TIMEOUT = 5


class SignInFailed(Exception):
    """Sign-in could not be completed; `reason` is what the client page is told
    (invalid_state or auth_failed)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SignIn:
    user: User
    access_token: str
    refresh_token: str


def login_url() -> str:
    """The provider's consent page; `state` is signed and expires (no caller-chosen redirect:
    after sign-in the browser goes to FRONTEND_URL/FRONTEND_REDIRECT_PATH only)."""
    state = signing.dumps({"purpose": "sign-in"}, salt=STATE_SALT)
    query = {
        "client_id": settings.GOOGLE_CLIENT_ID,
        "redirect_uri": settings.GOOGLE_REDIRECT_URI,
        "response_type": "code",
        "scope": "openid email profile",
        "state": state,
        "prompt": "select_account",
    }
    return f"{settings.GOOGLE_AUTH_URL}?{urlencode(query)}"


def _provider(request: urllib.request.Request) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(request, timeout=PROVIDER_TIMEOUT) as response:
            body = json.loads(response.read())
    except (urllib.error.URLError, TimeoutError, json.JSONDecodeError, OSError) as exc:
        logger.warning("sign-in provider call failed (%s)", type(exc).__name__)
        raise SignInFailed("auth_failed") from None
    if not isinstance(body, dict):
        logger.warning("sign-in provider answered with a JSON %s", type(body).__name__)
        raise SignInFailed("auth_failed")
    return body


def _exchange(code: str) -> dict[str, Any]:
    form = urlencode(
        {
            "code": code,
            "client_id": settings.GOOGLE_CLIENT_ID,
            "client_secret": settings.GOOGLE_CLIENT_SECRET,
            "redirect_uri": settings.GOOGLE_REDIRECT_URI,
            "grant_type": "authorization_code",
        }
    ).encode()
    grant = _provider(urllib.request.Request(settings.GOOGLE_TOKEN_URL, data=form, method="POST"))
    access = grant.get("access_token")
    if not isinstance(access, str) or not access:
        logger.info("sign-in refused by the provider")
        raise SignInFailed("auth_failed")
    info = _provider(
        urllib.request.Request(settings.GOOGLE_USERINFO_URL, headers={"Authorization": f"Bearer {access}"})
    )
    if not isinstance(info.get("sub"), str) or not isinstance(info.get("email"), str):
        logger.warning("sign-in provider answered without an identity")
        raise SignInFailed("auth_failed")
    if info.get("email_verified") is not True:
        # An unverified address proves nothing: it must never match an admin or another user.
        logger.warning("sign-in refused: the provider has not verified the email address")
        raise SignInFailed("auth_failed")
    return info


def user_sign_in(*, google_id: str, email: str, name: str | None, picture: str | None) -> User:
    """Create the user on first sign-in; keep email, name and picture current afterwards."""
    users = get_repository(User)
    moment = now()
    existing = users.get_by_google_id(google_id)
    fields = {"email_id": email, "name": name or email, "picture": picture, "updated_at": moment}
    if existing is None:
        return users.create({"google_id": google_id, **fields, "created_at": moment})
    return users.update(existing.id, fields) or existing


def complete_sign_in(code: str, state: str) -> SignIn:
    try:
        signing.loads(state, salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except signing.BadSignature:
        raise SignInFailed("invalid_state") from None
    info = _exchange(code)
    user = user_sign_in(
        google_id=info["sub"], email=info["email"], name=info.get("name"), picture=info.get("picture")
    )
    grant_admin_if_listed(user)
    version = user.token_version
    return SignIn(
        user, tokens.issue(user.id, version=version), tokens.issue(user.id, tokens.REFRESH, version=version)
    )
