"""GET /v1/users: the signed-in user's profile (`?profile=true`) or a user search."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from todo.api import serializers as out
from todo.api.params import flag, page_and_limit, paginated, text
from todo.models.documents import User
from todo.repositories.factory import get_repository


class UsersView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("profile", bool),
            OpenApiParameter("search", str),
            OpenApiParameter("page", int),
            OpenApiParameter("limit", int),
        ],
        responses={200: OpenApiTypes.OBJECT},
        summary="My profile, or a literal, case-insensitive search of users by name or email",
    )
    def get(self, request: Request) -> Response:
        if flag(request, "profile"):
            return Response({"statusCode": 200, "data": out.user(request.user.model)})
        search = text(request, "search")
        page, limit = page_and_limit(request)
        found = get_repository(User).search(search, page=1, limit=10**6)
        items = [out.user(u) for u in found[(page - 1) * limit : page * limit]]
        return Response(paginated(request, "users", items, page, limit, len(found)))
