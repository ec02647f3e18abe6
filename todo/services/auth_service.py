"""Google sign-in (OpenID Connect's authorization code flow with PKCE, through Authlib): the login
redirect, the code exchange and the user it signs in (created or updated). The provider's
endpoints are settings, so a local stand-in can play Google in tests.

The flow is bound to the browser that started it: `start_sign_in` returns the `state` and the
PKCE verifier, which the login view keeps in a signed, HttpOnly cookie of that browser; the
callback accepts a `state` only together with that cookie, and deletes it (single use). A callback
URL replayed in another browser, or twice, is refused (`invalid_state`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare

from todo.auth import tokens
from todo.models.documents import User
from todo.repositories.abstract_repository import now
from todo.repositories.errors import DuplicateKey
from todo.repositories.factory import get_repository
from todo.services.admin_bootstrap import grant_admin_if_listed

logger = logging.getLogger(__name__)
STATE_SALT = "todo.google-sign-in"
STATE_MAX_AGE = 600  # seconds between login and callback
PROVIDER_TIMEOUT = 5
SCOPE = "openid email profile"


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


@dataclass(frozen=True)
class SignInStart:
    url: str  # the provider's consent page
    binding: str  # the signed {state, verifier} the browser keeps until the callback


def _client(**extra: Any) -> OAuth2Session:
    return OAuth2Session(
        settings.GOOGLE_CLIENT_ID,
        settings.GOOGLE_CLIENT_SECRET,
        scope=SCOPE,
        redirect_uri=settings.GOOGLE_REDIRECT_URI,
        code_challenge_method="S256",
        **extra,
    )


def start_sign_in() -> SignInStart:
    """The consent page's URL (state and PKCE challenge in it), and what binds it to the browser
    (no caller-chosen redirect: after sign-in the browser goes to FRONTEND_URL/... only)."""
    verifier = generate_token(64)
    url, state = _client().create_authorization_url(
        settings.GOOGLE_AUTH_URL, code_verifier=verifier, prompt="select_account"
    )
    return SignInStart(url, signing.dumps({"state": state, "verifier": verifier}, salt=STATE_SALT))


def _bound_verifier(state: str, binding: str | None) -> str:
    """The PKCE verifier of this browser's sign-in, if `state` is the one it started."""
    try:
        kept = signing.loads(binding or "", salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except signing.BadSignature:
        raise SignInFailed("invalid_state") from None
    if not isinstance(kept, dict) or not constant_time_compare(str(kept.get("state")), state):
        raise SignInFailed("invalid_state")
    return str(kept["verifier"])


def _exchange(code: str, verifier: str) -> dict[str, Any]:
    client = _client()
    try:
        client.fetch_token(
            settings.GOOGLE_TOKEN_URL, code=code, code_verifier=verifier, timeout=PROVIDER_TIMEOUT
        )
        response = client.get(settings.GOOGLE_USERINFO_URL, timeout=PROVIDER_TIMEOUT)
        response.raise_for_status()
        info = response.json()
    except (AuthlibBaseError, requests.RequestException, ValueError) as exc:
        logger.warning("sign-in provider call failed (%s)", type(exc).__name__)
        raise SignInFailed("auth_failed") from None
    if (
        not isinstance(info, dict)
        or not isinstance(info.get("sub"), str)
        or not isinstance(info.get("email"), str)
    ):
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
        try:
            return users.create({"google_id": google_id, **fields, "created_at": moment})
        except DuplicateKey:  # a concurrent first sign-in of the same account created the user
            existing = users.get_by_google_id(google_id)
            if existing is None:
                raise
    return users.update(existing.id, fields) or existing


def complete_sign_in(code: str, state: str, binding: str | None) -> SignIn:
    """Finish the sign-in this browser started (`binding`: its cookie)."""
    info = _exchange(code, _bound_verifier(state, binding))
    user = user_sign_in(
        google_id=info["sub"], email=info["email"], name=info.get("name"), picture=info.get("picture")
    )
    grant_admin_if_listed(user)
    version = user.token_version
    return SignIn(
        user, tokens.issue(user.id, version=version), tokens.issue(user.id, tokens.REFRESH, version=version)
    )
