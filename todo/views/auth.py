"""Sign-in with Google, and sign-out. Public endpoints.

The web client navigates the whole page to /v1/auth/google/login; Google returns the browser to
/v1/auth/google/callback, which always answers with a redirect to the client's page
FRONTEND_URL/FRONTEND_REDIRECT_PATH: `?success=true` with both sign-in cookies set, or
`?error=<reason>` (Google's own error, missing_code, missing_state, invalid_state, auth_failed)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponseRedirect
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from todo.api import throttles
from todo.auth.authentication import delete_auth_cookies, end_sessions, set_auth_cookies
from todo.services.auth_service import STATE_MAX_AGE, SignInFailed, complete_sign_in, start_sign_in

LOGOUT = inline_serializer(
    "LogoutResponse",
    {
        "statusCode": serializers.IntegerField(),
        "message": serializers.CharField(),
        "data": inline_serializer("LogoutData", {"success": serializers.BooleanField()}),
    },
)
# Longest provider error code passed on to the client page (Google's are short words).
MAX_ERROR_LENGTH = 64
# Longest code or state accepted from the callback's query.
MAX_PARAMETER_LENGTH = 2048


class PublicView(APIView):
    authentication_classes: list[type] = []
    permission_classes: list[type] = []


def to_client(**query: str) -> HttpResponseRedirect:
    """A redirect to the client page sign-in ends on."""
    page = f"{settings.FRONTEND_URL}/{settings.FRONTEND_REDIRECT_PATH.lstrip('/')}"
    return HttpResponseRedirect(f"{page}?{urlencode(query)}")


# The browser's binding to the sign-in it started (state and PKCE verifier, signed): set by the
# login redirect, read and deleted by the callback.
SIGN_IN_COOKIE = "todo-sign-in"


def _drop_binding(response: HttpResponseRedirect) -> HttpResponseRedirect:
    response.delete_cookie(SIGN_IN_COOKIE, path="/v1/auth/google/", samesite="Lax")
    return response


class GoogleLoginView(PublicView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = throttles.SIGN_IN

    @extend_schema(responses={302: None}, summary="Redirect to Google's consent page")
    def get(self, request: Request) -> HttpResponseRedirect:
        started = start_sign_in()
        response = HttpResponseRedirect(started.url)
        response.set_cookie(
            SIGN_IN_COOKIE, started.binding, max_age=STATE_MAX_AGE, path="/v1/auth/google/",
            secure=settings.COOKIE_SECURE, httponly=True, samesite="Lax",
        )  # fmt: skip
        return response


class GoogleCallbackView(PublicView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = throttles.SIGN_IN

    @extend_schema(
        parameters=[
            OpenApiParameter("code", str),
            OpenApiParameter("state", str),
            OpenApiParameter("error", str, description="set by Google when the user did not consent"),
        ],
        responses={
            302: OpenApiResponse(
                description="To FRONTEND_URL/FRONTEND_REDIRECT_PATH with ?success=true (cookies set) "
                "or ?error=<google error>|missing_code|missing_state|invalid_state|auth_failed"
            )
        },
        summary="Finish Google sign-in: create or update the user, set the sign-in cookies, go to the client",
    )
    def get(self, request: Request) -> HttpResponseRedirect:
        binding = request.COOKIES.get(SIGN_IN_COOKIE)
        provider_error = request.query_params.get("error", "")
        if provider_error:
            return _drop_binding(to_client(error=provider_error[:MAX_ERROR_LENGTH]))
        code, state = request.query_params.get("code", ""), request.query_params.get("state", "")
        if not all(len(value) <= MAX_PARAMETER_LENGTH and "\x00" not in value for value in (code, state)):
            return to_client(error="auth_failed")
        if not code:
            return to_client(error="missing_code")
        if not state:
            return to_client(error="missing_state")
        try:
            sign_in = complete_sign_in(code, state, binding)
        except SignInFailed as failed:
            return _drop_binding(to_client(error=failed.reason))
        response = _drop_binding(to_client(success="true"))
        set_auth_cookies(response, sign_in.access_token, sign_in.refresh_token)
        return response


class LogoutView(PublicView):
    @extend_schema(
        request=None,
        responses={200: LOGOUT},
        summary="Sign out: ends the session (all its tokens) and deletes both sign-in cookies",
    )
    def post(self, request: Request) -> Response:
        end_sessions(request)  # every token of the session stops working, in every browser
        response = Response(
            {"statusCode": 200, "message": "Successfully logged out", "data": {"success": True}}
        )
        delete_auth_cookies(response)
        return response
