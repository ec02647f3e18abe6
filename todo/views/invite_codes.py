"""Team-creation invite codes: generate, verify and list (admins only: holders of the GLOBAL
moderator role). Rules in todo/services/invite_code_service.py."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from todo.api import team_serializers as io
from todo.api.fields import validated
from todo.api.params import page_and_limit, paginated
from todo.services import invite_code_service
from todo.views.teams import PAGE_PARAMETERS, _data


class InviteCodeGenerateView(APIView):
    @extend_schema(
        request=io.InviteCodeGenerateSerializer,
        responses={201: dict},
        summary="Generate a team-creation invite code",
    )
    def post(self, request: Request) -> Response:
        body = validated(io.InviteCodeGenerateSerializer, request.data)
        code = invite_code_service.invite_code_generate(
            actor=request.user.id, description=body.get("description")
        )
        return _data(io.invite_code_out(code), status.HTTP_201_CREATED)


class InviteCodeVerifyView(APIView):
    @extend_schema(
        request=io.InviteCodeVerifySerializer,
        responses={200: dict},
        summary="Check a code: 200 when unused, 404 unknown, 409 already used",
    )
    def post(self, request: Request) -> Response:
        body = validated(io.InviteCodeVerifySerializer, request.data)
        code = invite_code_service.invite_code_verify(actor=request.user.id, code=body["code"])
        return _data({"valid": True, **io.invite_code_out(code)})


class InviteCodesView(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS, responses={200: dict}, summary="Team-creation invite codes, newest first"
    )
    def get(self, request: Request) -> Response:
        page, limit = page_and_limit(request)
        codes, total = invite_code_service.invite_code_list(actor=request.user.id, page=page, limit=limit)
        return Response(
            paginated(request, "codes", [io.invite_code_out(c) for c in codes], page, limit, total)
        )
