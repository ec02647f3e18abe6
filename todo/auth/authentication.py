"""DRF authentication: an RS256 access token from `Authorization: Bearer` or the `todo-access`
cookie; an expired cookie token is renewed from a valid `todo-refresh` cookie (the middleware
sets the new cookie on the response)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from dualwrite.errors import InvalidMongoIdError
from todo.auth import tokens
from todo.models.documents import User
from todo.repositories.factory import get_repository

ACCESS_COOKIE, REFRESH_COOKIE = "todo-access", "todo-refresh"


@dataclass(frozen=True)
class AuthenticatedUser:
    """The signed-in user as DRF sees it."""

    model: User

    @property
    def id(self) -> str:
        return self.model.id

    @property
    def is_authenticated(self) -> bool:
        return True


class JWTAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[AuthenticatedUser, str] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'")
            return self._user(self._verify(token.strip()), token)
        token = request.COOKIES.get(ACCESS_COOKIE)
        if not token:
            return None
        try:
            return self._user(tokens.verify(token), token)
        except tokens.TokenError as error:
            if not error.expired:
                raise exceptions.AuthenticationFailed("Invalid access token") from None
        return self._renew(request)

    def _renew(self, request: Request) -> tuple[AuthenticatedUser, str]:
        refresh = request.COOKIES.get(REFRESH_COOKIE)
        if not refresh:
            raise exceptions.AuthenticationFailed("Access token expired")
        user_id = self._verify(refresh, tokens.REFRESH)
        renewed = tokens.issue(user_id)
        request._request.renewed_access_token = renewed  # type: ignore[attr-defined]
        return self._user(user_id, renewed)

    @staticmethod
    def _verify(token: str, token_type: str = tokens.ACCESS) -> str:
        try:
            return tokens.verify(token, token_type)
        except tokens.TokenError as error:
            raise exceptions.AuthenticationFailed(f"Invalid {token_type} token: {error}") from None

    @staticmethod
    def _user(user_id: str, token: str) -> tuple[AuthenticatedUser, str]:
        try:
            user = get_repository(User).get_by_id(user_id)
        except InvalidMongoIdError:
            user = None
        if user is None:
            raise exceptions.AuthenticationFailed("The token's user does not exist")
        return AuthenticatedUser(user), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="todo"'  # makes DRF answer 401 (not 403) to missing credentials


def set_auth_cookies(response: Any, access: str, refresh: str | None = None) -> None:
    from django.conf import settings

    options = {"httponly": True, "samesite": "Lax", "secure": settings.COOKIE_SECURE}
    response.set_cookie(ACCESS_COOKIE, access, max_age=settings.JWT_ACCESS_TTL, **options)
    if refresh is not None:
        response.set_cookie(REFRESH_COOKIE, refresh, max_age=settings.JWT_REFRESH_TTL, **options)


class RenewedTokenCookieMiddleware:
    """Sets the `todo-access` cookie when authentication renewed it from the refresh token."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        response = self.get_response(request)
        renewed = getattr(request, "renewed_access_token", None)
        if renewed:
            set_auth_cookies(response, renewed)
        return response
