"""Teams: list mine and create, read and change the point of contact, join by invite code, add and
remove members, the team's invite code and its activity timeline. Thin views: parse and validate,
call one service function, shape the answer (todo/services/team_service.py holds the rules)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from todo.api import team_serializers as io
from todo.api.fields import validated
from todo.api.params import flag, object_id, page_and_limit, paginated
from todo.services import team_service

PAGE_PARAMETERS = [OpenApiParameter("page", int), OpenApiParameter("limit", int)]


def _data(data: object, code: int = status.HTTP_200_OK) -> Response:
    return Response({"statusCode": code, "data": data}, status=code)


class TeamsView(APIView):
    @extend_schema(
        operation_id="teams_list",
        parameters=PAGE_PARAMETERS,
        responses={200: dict},
        summary="The teams I am a member of",
    )
    def get(self, request: Request) -> Response:
        page, limit = page_and_limit(request)
        teams, total = team_service.team_list_mine(actor=request.user.id, page=page, limit=limit)
        items = [io.team_out(t) for t in teams]
        return Response(paginated(request, "teams", items, page, limit, total))

    @extend_schema(
        request=io.TeamCreateSerializer,
        responses={201: dict},
        summary="Create a team with a team-creation invite code (consumed); I become owner, admin and member",
    )
    def post(self, request: Request) -> Response:
        body = validated(io.TeamCreateSerializer, request.data)
        team = team_service.team_create(
            actor=request.user.id,
            name=body["name"],
            description=body.get("description"),
            team_invite_code=body["team_invite_code"],
            member_ids=body.get("member_ids", []),
            point_of_contact_id=body.get("point_of_contact_id"),
        )
        return _data(io.team_out(team, with_invite_code=True), status.HTTP_201_CREATED)


class TeamDetailView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("member", bool)],
        responses={200: dict},
        summary="A team (members only); `member=true` adds its members with their roles",
    )
    def get(self, request: Request, team_id: str) -> Response:
        team_id = object_id(team_id, "team_id")
        with_members = flag(request, "member")
        team = team_service.team_for_member(actor=request.user.id, team_id=team_id)
        body = io.team_out(team)
        if with_members:
            body["users"] = [
                io.member_out(u, roles) for u, roles in team_service.team_members(team_id=team.id)
            ]
        return _data(body)

    @extend_schema(
        request=io.TeamUpdateSerializer,
        responses={200: dict},
        summary="Change the point of contact (the team's creator or an admin/owner)",
    )
    def patch(self, request: Request, team_id: str) -> Response:
        team_id = object_id(team_id, "team_id")
        body = validated(io.TeamUpdateSerializer, request.data)
        team = team_service.team_change_poc(
            actor=request.user.id, team_id=team_id, point_of_contact_id=body["point_of_contact_id"]
        )
        return _data(io.team_out(team))


class JoinByInviteView(APIView):
    @extend_schema(
        request=io.JoinByInviteSerializer, responses={200: dict}, summary="Join a team by its invite code"
    )
    def post(self, request: Request) -> Response:
        body = validated(io.JoinByInviteSerializer, request.data)
        team = team_service.team_join_by_invite(actor=request.user.id, invite_code=body["invite_code"])
        return _data(io.team_out(team))


class TeamMembersView(APIView):
    @extend_schema(
        request=io.AddMembersSerializer, responses={200: dict}, summary="Add members (members only)"
    )
    def post(self, request: Request, team_id: str) -> Response:
        team_id = object_id(team_id, "team_id")
        body = validated(io.AddMembersSerializer, request.data)
        added = team_service.team_add_members(
            actor=request.user.id, team_id=team_id, member_ids=body["member_ids"]
        )
        return _data({"teamId": team_id, "addedMemberIds": added})


class TeamMemberView(APIView):
    @extend_schema(
        responses={200: dict},
        summary="Remove a member (admin/owner, or the member leaving); their open team tasks return to the team",
    )
    def delete(self, request: Request, team_id: str, user_id: str) -> Response:
        team_id = object_id(team_id, "team_id")
        user_id = object_id(user_id, "user_id")
        returned = team_service.team_remove_member(actor=request.user.id, team_id=team_id, user_id=user_id)
        return _data({"teamId": team_id, "userId": user_id, "tasksReturnedToTeam": returned})


class TeamInviteCodeView(APIView):
    @extend_schema(responses={200: dict}, summary="The team's invite code (its creator or point of contact)")
    def get(self, request: Request, team_id: str) -> Response:
        team_id = object_id(team_id, "team_id")
        code = team_service.team_invite_code(actor=request.user.id, team_id=team_id)
        return _data({"teamId": team_id, "inviteCode": code})


class TeamActivityView(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS, responses={200: dict}, summary="The team's audit log, newest first"
    )
    def get(self, request: Request, team_id: str) -> Response:
        team_id = object_id(team_id, "team_id")
        page, limit = page_and_limit(request)
        logs, total = team_service.team_activity(
            actor=request.user.id, team_id=team_id, page=page, limit=limit
        )
        return Response(paginated(request, "timeline", [io.audit_out(x) for x in logs], page, limit, total))
