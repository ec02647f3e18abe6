"""Team-creation invite codes: generate and list (admins: GLOBAL moderators, or users listed in
ADMIN_EMAILS), verify (any signed-in user). Shapes are the web client's (section 11 of
docs/frontend-contract.md). Rules in todo/services/invite_code_service.py."""

from __future__ import annotations

from urllib.parse import urlencode

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from todo.api import team_serializers, throttles
from todo.api.fields import validated
from todo.api.params import integer
from todo.api.responses import render
from todo.auth.authentication import signed_in
from todo.services import invite_code_service

DEFAULT_LIMIT, MAX_LIMIT = 10, 50
PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="1 or more"),
    OpenApiParameter("limit", str, description="1 to 50; anything else means 10"),
]


def _limit(request: Request) -> int:
    """The page size: 1 to 50, anything else (missing, out of range, not a number) 10."""
    raw = request.query_params.get("limit", "")
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= MAX_LIMIT else DEFAULT_LIMIT


def _page_url(request: Request, page: int, limit: int) -> str:
    return f"{request.path}?{urlencode({'page': page, 'limit': limit})}"


class InviteCodeGenerateView(APIView):
    @extend_schema(
        request=team_serializers.InviteCodeGenerateSerializer,
        responses={201: team_serializers.InviteCodeGeneratedOut},
        summary="Generate a team-creation invite code (admins only)",
    )
    def post(self, request: Request) -> Response:
        body = validated(team_serializers.InviteCodeGenerateSerializer, request.data)
        code = invite_code_service.invite_code_generate(
            actor=signed_in(request).id, description=body.get("description")
        )
        answer = {"code": code.code, "description": code.description, "message": "Invite code generated"}
        return Response(
            render(team_serializers.InviteCodeGeneratedOut, answer), status=status.HTTP_201_CREATED
        )


class InviteCodeVerifyView(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = throttles.INVITE_CODE

    @extend_schema(
        request=team_serializers.InviteCodeVerifySerializer,
        responses={200: team_serializers.MessageOut},
        summary="Check a code without using it: 200 when usable, 400 when unknown or already used",
    )
    def post(self, request: Request) -> Response:
        body = validated(team_serializers.InviteCodeVerifySerializer, request.data)
        invite_code_service.invite_code_verify(actor=signed_in(request).id, code=body["code"])
        return Response(render(team_serializers.MessageOut, {"message": "Invite code is valid"}))


class InviteCodesView(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: team_serializers.InviteCodeListOut},
        summary="Team-creation invite codes, newest first (admins only)",
    )
    def get(self, request: Request) -> Response:
        page, limit = integer(request, "page", 1, 1, 10**6), _limit(request)
        codes, total = invite_code_service.invite_code_list(
            actor=signed_in(request).id, page=page, limit=limit
        )
        answer = {
            "codes": codes,
            "previous_url": _page_url(request, page - 1, limit) if page > 1 else None,
            "next_url": _page_url(request, page + 1, limit) if page * limit < total else None,
            "message": "Invite codes fetched successfully",
        }
        return Response(render(team_serializers.InviteCodeListOut, answer))
