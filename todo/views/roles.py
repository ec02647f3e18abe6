"""Roles: the role list, one role, a user's roles, and the roles of a team's users (read by its
members; changed by its admins and owners). Rules in todo/services/role_service.py.

`GET /v1/teams/{team_id}/users/{user_id}/roles` answers the web client's bare shape (section 10 of
docs/frontend-contract.md); the other role endpoints, which the client does not call, keep the
`{statusCode, data}` envelope."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from todo.api import team_serializers
from todo.api.fields import validated
from todo.api.params import invalid, object_id, page_and_limit, paginated
from todo.api.responses import render
from todo.auth.authentication import signed_in
from todo.models.enums import RoleScope
from todo.services import role_service, team_service
from todo.views.teams import PAGE_PARAMETERS, _data


class RolesView(APIView):
    @extend_schema(
        operation_id="roles_list",
        parameters=[OpenApiParameter("scope", str, enum=list(RoleScope.values)), *PAGE_PARAMETERS],
        responses={200: team_serializers.RoleListOut},
        summary="The active roles, by scope and name",
    )
    def get(self, request: Request) -> Response:
        scope = request.query_params.get("scope") or None
        if scope is not None and scope not in RoleScope.values:
            raise invalid("scope", "must be GLOBAL or TEAM")
        page, limit = page_and_limit(request)
        roles, total = role_service.role_list(scope=scope, page=page, limit=limit)
        return Response(
            render(team_serializers.RoleListOut, paginated(request, "roles", roles, page, limit, total))
        )


class RoleView(APIView):
    @extend_schema(responses={200: team_serializers.RoleEnvelopeOut}, summary="One role")
    def get(self, request: Request, role_id: str) -> Response:
        role = role_service.role_get(role_id=object_id(role_id, "role_id"))
        return _data(render(team_serializers.RoleOut, role))


class UserRolesView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("team_id", str)],
        responses={200: team_serializers.UserRolesEnvelopeOut},
        summary="A user's active roles (GLOBAL and every team's, or one team's with team_id): yourself, or moderators",
    )
    def get(self, request: Request, user_id: str) -> Response:
        user_id = object_id(user_id, "user_id")
        role_service.require_self_or_moderator(actor=signed_in(request).id, user_id=user_id)
        raw_team = request.query_params.get("team_id")
        team_id = object_id(raw_team, "team_id", "parameter") if raw_team is not None else None
        grants = role_service.user_roles_of(user_id=user_id, team_id=team_id)
        return _data(render(team_serializers.UserRolesOut, {"userId": user_id, "roles": grants}))


class TeamUsersRolesView(APIView):
    @extend_schema(
        operation_id="teams_users_roles_list",
        parameters=PAGE_PARAMETERS,
        responses={200: team_serializers.UserRoleListOut},
        summary="The active roles of a team's users",
    )
    def get(self, request: Request, team_id: str) -> Response:
        team_id = object_id(team_id, "team_id")
        page, limit = page_and_limit(request)
        grants, total = team_service.team_user_roles_for_member(
            actor=signed_in(request).id, team_id=team_id, page=page, limit=limit
        )
        return Response(
            render(team_serializers.UserRoleListOut, paginated(request, "roles", grants, page, limit, total))
        )


class TeamUserRolesView(APIView):
    @extend_schema(
        responses={200: team_serializers.TeamUserRolesOut},
        summary="A user's active roles in a team (members only); an empty list when none",
    )
    def get(self, request: Request, team_id: str, user_id: str) -> Response:
        team_id, user_id = object_id(team_id, "team_id"), object_id(user_id, "user_id")
        found = team_service.team_roles_for_member(
            actor=signed_in(request).id, team_id=team_id, user_id=user_id
        )
        return Response(render(team_serializers.TeamUserRolesOut, found))

    @extend_schema(
        request=team_serializers.RoleGrantSerializer,
        responses={201: team_serializers.UserRoleEnvelopeOut},
        summary="Give a member a team role (needs the admin or owner role; owner needs owner)",
    )
    def post(self, request: Request, team_id: str, user_id: str) -> Response:
        team_id, user_id = object_id(team_id, "team_id"), object_id(user_id, "user_id")
        body = validated(team_serializers.RoleGrantSerializer, request.data)
        team = team_service.existing_team(team_id)
        grant = role_service.team_role_add(
            actor=signed_in(request).id,
            team=team,
            user_id=user_id,
            role_name=body.get("role_name"),
            role_id=body.get("role_id"),
        )
        return _data(render(team_serializers.UserRoleOut, grant), status.HTTP_201_CREATED)


class TeamUserRoleView(APIView):
    @extend_schema(
        responses={200: team_serializers.UserRoleListEnvelopeOut},
        summary="Remove a user's team role (sets is_active false); role_id is the role's or the grant's id",
    )
    def delete(self, request: Request, team_id: str, user_id: str, role_id: str) -> Response:
        team_id, user_id = object_id(team_id, "team_id"), object_id(user_id, "user_id")
        role_id = object_id(role_id, "role_id")
        team = team_service.existing_team(team_id)
        removed = role_service.team_role_remove(
            actor=signed_in(request).id, team=team, user_id=user_id, role_id=role_id
        )
        return _data(render(team_serializers.UserRoleOut, removed, many=True))
