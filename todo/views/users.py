"""GET /v1/users: the signed-in user's profile (`?profile=true`) or a user search (`?search=`),
in the shapes the web client reads (docs/frontend-contract.md, section 4)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from todo.api import serializers as out
from todo.api.params import flag, integer, invalid, text
from todo.auth.authentication import signed_in
from todo.models.documents import User
from todo.repositories.factory import get_repository

SEARCH_DEFAULT_LIMIT, SEARCH_MAX_LIMIT = 10, 100
# The web client searches once 3 characters are typed; shorter searches would list everyone.
MIN_SEARCH = 3


class UsersView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("profile", bool, description="true: the signed-in user"),
            OpenApiParameter("search", str, description="part of a name or email, any case"),
            OpenApiParameter("page", int),
            OpenApiParameter(
                "limit", int, description=f"1 to {SEARCH_MAX_LIMIT}, default {SEARCH_DEFAULT_LIMIT}"
            ),
        ],
        responses={
            200: PolymorphicProxySerializer(
                component_name="UsersResponse",
                serializers=[out.ProfileResponseSerializer, out.UserSearchResponseSerializer],
                resource_type_field_name=None,
            )
        },
        summary="My profile (`profile=true`), or users whose name or email contains `search`, by name",
    )
    def get(self, request: Request) -> Response:
        if flag(request, "profile"):
            return Response(
                {
                    "message": "Current user details fetched successfully",
                    "data": out.profile(signed_in(request).model),
                }
            )
        search = text(request, "search")
        if len(search.strip()) < MIN_SEARCH:
            raise invalid(
                "search", f"needs at least {MIN_SEARCH} characters (the user list is not browsable)"
            )
        page = integer(request, "page", 1, 1, 10**6)
        limit = integer(request, "limit", SEARCH_DEFAULT_LIMIT, 1, SEARCH_MAX_LIMIT)
        users = get_repository(User)
        found = [out.user_found(u) for u in users.search(search, page=page, limit=limit)]
        return Response(
            {
                "message": "Users fetched successfully",
                "data": {
                    "users": found,
                    "total_count": users.search_count(search),
                    "page": page,
                    "limit": limit,
                },
            }
        )
