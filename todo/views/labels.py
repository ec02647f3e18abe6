"""GET /v1/labels: live labels, searched literally and case-insensitively, sorted by name
(docs/frontend-contract.md, section 5: the client reads `labels`)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from todo.api import serializers as out
from todo.api.params import page_and_limit, paginated, text
from todo.models.documents import Label
from todo.repositories.factory import get_repository
from todo.repositories.queries import Contains


class LabelsView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("search", str),
            OpenApiParameter("page", int),
            OpenApiParameter("limit", int),
        ],
        responses={200: out.LabelListSerializer},
        summary="Labels, sorted by name",
    )
    def get(self, request: Request) -> Response:
        search = text(request, "search")
        page, limit = page_and_limit(request)
        labels = get_repository(Label)
        items = [out.label(label) for label in labels.search(search, page, limit)]
        filters = {"isDeleted": False, **({"name": Contains(search)} if search else {})}
        body = paginated(request, "labels", items, page, limit, labels.count(filters))
        return Response({**body, "error": None})
