"""Teams: list mine and create, read and change the point of contact, join by invite code, add and
remove members, the team's invite code and its activity timeline. Thin views: parse and validate,
call one service function, render the answer through its response serializer
(todo/services/team_service.py holds the rules; the shapes are the web client's, section 9 of
docs/frontend-contract.md: bare snake_case team objects)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from todo.api import team_serializers, throttles
from todo.api.fields import validated
from todo.api.params import MAX_LIMIT, flag, object_id, page_and_limit, paginated
from todo.api.responses import render
from todo.auth.authentication import signed_in
from todo.services import team_service, team_timeline

PAGE_PARAMETERS = [OpenApiParameter("page", int), OpenApiParameter("limit", int)]
TEAM_CREATED = "Team created successfully"


def _data(data: object, code: int = status.HTTP_200_OK) -> Response:
    """The `{statusCode, data}` envelope of the endpoints the web client does not call."""
    return Response({"statusCode": code, "data": data}, status=code)


def _team(team: Any, users: Any = None) -> Any:
    """A bare team object (`users` null unless the members were asked for)."""
    return render(team_serializers.TeamOut, {**dict(team), "users": users})


class TeamsView(APIView):
    throttle_classes = [throttles.WritesThrottle]
    throttle_scope = throttles.INVITE_CODE

    @extend_schema(
        operation_id="teams_list",
        parameters=PAGE_PARAMETERS,
        responses={200: team_serializers.TeamListOut},
        summary="The teams I am a member of, by name (all of them unless a limit is given)",
    )
    def get(self, request: Request) -> Response:
        page, limit = page_and_limit(request, default_limit=MAX_LIMIT)
        teams, total = team_service.team_list_mine(actor=signed_in(request).id, page=page, limit=limit)
        items = [{**dict(t), "users": None} for t in teams]
        return Response(
            render(team_serializers.TeamListOut, paginated(request, "teams", items, page, limit, total))
        )

    @extend_schema(
        request=team_serializers.TeamCreateSerializer,
        responses={201: team_serializers.TeamCreatedOut},
        summary="Create a team with a team-creation invite code (consumed); I become owner, admin and member",
    )
    def post(self, request: Request) -> Response:
        body = validated(team_serializers.TeamCreateSerializer, request.data)
        team = team_service.team_create(
            actor=signed_in(request).id,
            name=body["name"],
            description=body.get("description"),
            team_invite_code=body["team_invite_code"],
            member_ids=body.get("member_ids", []),
            poc_id=body.get("poc_id"),
        )
        created = render(
            team_serializers.TeamCreatedOut, {"team": {**dict(team), "users": None}, "message": TEAM_CREATED}
        )
        return Response(created, status=status.HTTP_201_CREATED)


class TeamDetailView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("member", bool)],
        responses={200: team_serializers.TeamOut},
        summary="A team (members only); `member=true` fills `users` with its members",
    )
    def get(self, request: Request, team_id: str) -> Response:
        team_id = object_id(team_id, "team_id")
        with_members = flag(request, "member")
        found = team_service.team_details(
            actor=signed_in(request).id, team_id=team_id, with_members=with_members
        )
        return Response(_team(found.team, found.users))

    @extend_schema(
        request=team_serializers.TeamUpdateSerializer,
        responses={200: team_serializers.TeamOut},
        summary="Change the point of contact (the team's creator or an admin); the new one must be a member",
    )
    def patch(self, request: Request, team_id: str) -> Response:
        team_id = object_id(team_id, "team_id")
        body = validated(team_serializers.TeamUpdateSerializer, request.data)
        team = team_service.team_change_poc(
            actor=signed_in(request).id, team_id=team_id, poc_id=body["poc_id"]
        )
        return Response(_team(team))


class JoinByInviteView(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = throttles.INVITE_CODE

    @extend_schema(
        request=team_serializers.JoinByInviteSerializer,
        responses={200: team_serializers.TeamOut},
        summary="Join a team by its invite code",
    )
    def post(self, request: Request) -> Response:
        body = validated(team_serializers.JoinByInviteSerializer, request.data)
        team = team_service.team_join_by_invite(actor=signed_in(request).id, invite_code=body["invite_code"])
        return Response(_team(team))


class TeamMembersView(APIView):
    @extend_schema(
        request=team_serializers.AddMembersSerializer,
        responses={200: team_serializers.TeamOut},
        summary="Add members (members only)",
    )
    def post(self, request: Request, team_id: str) -> Response:
        team_id = object_id(team_id, "team_id")
        body = validated(team_serializers.AddMembersSerializer, request.data)
        team = team_service.team_add_members(
            actor=signed_in(request).id, team_id=team_id, member_ids=body["member_ids"]
        )
        return Response(_team(team))


class TeamMemberView(APIView):
    @extend_schema(
        responses={204: None},
        summary="Remove a member (admin), or leave (my own id); their open team tasks return to the team",
    )
    def delete(self, request: Request, team_id: str, user_id: str) -> Response:
        team_id = object_id(team_id, "team_id")
        user_id = object_id(user_id, "user_id")
        team_service.team_remove_member(actor=signed_in(request).id, team_id=team_id, user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TeamInviteCodeView(APIView):
    @extend_schema(
        responses={200: team_serializers.TeamInviteCodeEnvelopeOut},
        summary="The team's invite code (its creator or point of contact)",
    )
    def get(self, request: Request, team_id: str) -> Response:
        team_id = object_id(team_id, "team_id")
        code = team_service.team_invite_code(actor=signed_in(request).id, team_id=team_id)
        return _data({"teamId": team_id, "inviteCode": code})


class TeamActivityView(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: team_serializers.TimelineOut},
        summary="The team's activity, newest first, with names resolved (the last 200 unless paged)",
    )
    def get(self, request: Request, team_id: str) -> Response:
        team_id = object_id(team_id, "team_id")
        page, limit = page_and_limit(request, default_limit=MAX_LIMIT)
        entries, total = team_timeline.team_activity(
            actor=signed_in(request).id, team_id=team_id, page=page, limit=limit
        )
        return Response(
            render(team_serializers.TimelineOut, paginated(request, "timeline", entries, page, limit, total))
        )
