"""Sign-in with Google, and sign-out. Public endpoints."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponseRedirect
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from todo.api import serializers as out
from todo.api.errors import ApiError
from todo.api.params import text
from todo.auth.authentication import ACCESS_COOKIE, REFRESH_COOKIE, set_auth_cookies
from todo.services.auth_service import complete_sign_in, login_url

MESSAGE = inline_serializer(
    "Message", {"statusCode": serializers.IntegerField(), "message": serializers.CharField()}
)


class PublicView(APIView):
    authentication_classes: list[type] = []
    permission_classes: list[type] = []


class GoogleLoginView(PublicView):
    @extend_schema(responses={302: None}, summary="Redirect to Google's consent page")
    def get(self, request: Request) -> HttpResponseRedirect:
        return HttpResponseRedirect(login_url())


class GoogleCallbackView(PublicView):
    @extend_schema(
        parameters=[
            OpenApiParameter("code", str, required=True),
            OpenApiParameter("state", str, required=True),
        ],
        responses={200: MESSAGE, 302: None},
        summary="Finish Google sign-in: create or update the user and set the sign-in cookies",
    )
    def get(self, request: Request) -> Response | HttpResponseRedirect:
        code, state = text(request, "code", 2048), text(request, "state", 2048)
        missing = [name for name, value in (("code", code), ("state", state)) if not value]
        if missing:
            raise ApiError(
                "Missing sign-in parameters",
                errors=[
                    {"source": {"parameter": n}, "title": "Required", "detail": "is required"}
                    for n in missing
                ],
            )
        sign_in = complete_sign_in(code, state)
        if settings.FRONTEND_URL:
            response: Response | HttpResponseRedirect = HttpResponseRedirect(settings.FRONTEND_URL)
        else:
            body = {"statusCode": 200, "message": "Signed in", "data": {"user": out.user(sign_in.user)}}
            response = Response(body)
        set_auth_cookies(response, sign_in.access_token, sign_in.refresh_token)
        return response


class LogoutView(PublicView):
    @extend_schema(request=None, responses={200: MESSAGE}, summary="Sign out (clears the sign-in cookies)")
    def post(self, request: Request) -> Response:
        response = Response({"statusCode": 200, "message": "Signed out"})
        response.delete_cookie(ACCESS_COOKIE, samesite="Lax")
        response.delete_cookie(REFRESH_COOKIE, samesite="Lax")
        return response
