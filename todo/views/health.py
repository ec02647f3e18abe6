from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from todo.services.health_service import check_health


class HealthView(APIView):
    """GET /v1/health: status of MongoDB and PostgreSQL; 503 when either is down."""

    authentication_classes: list[type] = []
    permission_classes: list[type] = []

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, 503: OpenApiTypes.OBJECT}, summary="Health of both stores"
    )
    def get(self, request: Request) -> Response:
        report = check_health()
        return Response(report.as_dict(), status=200 if report.up else 503)
