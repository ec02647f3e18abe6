"""DRF authentication: an RS256 access token from `Authorization: Bearer` or the access cookie
(`todo-access`); a missing or expired access cookie is renewed from a valid refresh cookie
(`todo-refresh`; the middleware sets the new access cookie on the response). Writes signed in by
cookie pass the origin check of todo.auth.origin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from dualwrite.errors import InvalidMongoIdError
from todo.api.throttles import RefreshThrottle
from todo.auth import tokens
from todo.auth.origin import UntrustedOrigin, check_cookie_write
from todo.models.documents import User
from todo.repositories.factory import get_repository


def access_cookie() -> str:
    from django.conf import settings

    return settings.ACCESS_TOKEN_COOKIE_NAME


def refresh_cookie() -> str:
    from django.conf import settings

    return settings.REFRESH_TOKEN_COOKIE_NAME


@dataclass(frozen=True)
class AuthenticatedUser:
    """The signed-in user as DRF sees it."""

    model: User

    @property
    def id(self) -> str:
        return self.model.id

    @property
    def pk(self) -> str:
        """What DRF's throttles key signed-in users by."""
        return self.model.id

    @property
    def is_authenticated(self) -> bool:
        return True


def signed_in(request: Request) -> AuthenticatedUser:
    """The signed-in user of an API request. The default permission (IsAuthenticated) lets only
    requests this module authenticated reach a view; any other raises NotAuthenticated (401)."""
    user: object = request.user
    if not isinstance(user, AuthenticatedUser):
        raise exceptions.NotAuthenticated()
    return user


def signed_in_user(user_id: str, version: int) -> User | None:
    """The user a token names, if it exists and the token's session was not ended since."""
    try:
        user = get_repository(User).get_by_id(user_id)
    except InvalidMongoIdError:
        return None
    if user is None or user.token_version != version:
        return None
    return user


def end_sessions(request: Any) -> None:
    """Sign-out: every token of the user the request's cookies name stops working (access and
    refresh tokens alike, in every browser), by raising the user's session version."""
    for name, token_type in ((access_cookie(), tokens.ACCESS), (refresh_cookie(), tokens.REFRESH)):
        token = request.COOKIES.get(name)
        if not token:
            continue
        try:
            user_id, version = tokens.verify_session(token, token_type)
        except tokens.TokenError:
            continue  # an expired or forged cookie ends nothing
        user = signed_in_user(user_id, version)
        if user is not None:
            get_repository(User).update(user.id, {"token_version": user.token_version + 1})
        return


class JWTAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[AuthenticatedUser, str] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'")
            return self._user(*self._verify(token.strip()), token)
        token = request.COOKIES.get(access_cookie())
        if not token and not request.COOKIES.get(refresh_cookie()):
            return None
        try:
            check_cookie_write(request._request)
        except UntrustedOrigin as refused:
            raise exceptions.PermissionDenied(str(refused)) from None
        if token:
            try:
                return self._user(*tokens.verify_session(token), token)
            except tokens.TokenError as error:
                if not error.expired:
                    raise exceptions.AuthenticationFailed("Invalid access token") from None
        return self._renew(request)

    def _renew(self, request: Request) -> tuple[AuthenticatedUser, str]:
        refresh = request.COOKIES.get(refresh_cookie())
        if not refresh:
            raise exceptions.AuthenticationFailed("Access token expired")
        throttle = RefreshThrottle()
        # No view yet: authentication runs before the view's dispatch. SimpleRateThrottle hands
        # `view` only to get_cache_key, which RefreshThrottle does without; the stubs ask an APIView.
        if not throttle.allow_request(request, None):  # type: ignore[arg-type]
            raise exceptions.Throttled(throttle.wait())
        user_id, version = self._verify(refresh, tokens.REFRESH)
        renewed = tokens.issue(user_id, version=version)
        # Rotated on use: the response carries a fresh refresh token too.
        rotated = tokens.issue(user_id, tokens.REFRESH, version=version)
        request._request.renewed_tokens = (renewed, rotated)  # type: ignore[attr-defined]
        return self._user(user_id, version, renewed)

    @staticmethod
    def _verify(token: str, token_type: str = tokens.ACCESS) -> tuple[str, int]:
        try:
            return tokens.verify_session(token, token_type)
        except tokens.TokenError as error:
            raise exceptions.AuthenticationFailed(f"Invalid {token_type} token: {error}") from None

    @staticmethod
    def _user(user_id: str, version: int, token: str) -> tuple[AuthenticatedUser, str]:
        user = signed_in_user(user_id, version)
        if user is None:
            raise exceptions.AuthenticationFailed("The session has ended or its user does not exist")
        return AuthenticatedUser(user), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="todo"'  # makes DRF answer 401 (not 403) to missing credentials


def _cookie_options() -> dict[str, Any]:
    from django.conf import settings

    return {
        "path": "/",
        "domain": settings.COOKIE_DOMAIN,
        "secure": settings.COOKIE_SECURE,
        "httponly": True,
        "samesite": settings.COOKIE_SAMESITE,
    }


def set_auth_cookies(response: Any, access: str, refresh: str | None = None) -> None:
    from django.conf import settings

    options = _cookie_options()
    response.set_cookie(access_cookie(), access, max_age=settings.JWT_ACCESS_TTL, **options)
    if refresh is not None:
        response.set_cookie(refresh_cookie(), refresh, max_age=settings.JWT_REFRESH_TTL, **options)


def delete_auth_cookies(response: Any) -> None:
    """Expire both sign-in cookies (same name, path, domain and attributes as they were set)."""
    options = _cookie_options()
    for name in (access_cookie(), refresh_cookie()):
        response.delete_cookie(
            name, path=options["path"], domain=options["domain"], samesite=options["samesite"]
        )


class RenewedTokenCookieMiddleware:
    """Sets both sign-in cookies when authentication renewed them from the refresh token."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        response = self.get_response(request)
        renewed = getattr(request, "renewed_tokens", None)
        if renewed:
            set_auth_cookies(response, *renewed)
        return response
