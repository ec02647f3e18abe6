from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from todo.services.health_service import check_health


class ComponentSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["UP", "DOWN"])
    reason = serializers.CharField(required=False, help_text="why it is DOWN")


class ComponentsSerializer(serializers.Serializer):
    mongodb = ComponentSerializer()
    postgres = ComponentSerializer()


class BacklogSerializer(serializers.Serializer):
    status = serializers.CharField(required=False, help_text="UNKNOWN when the backlog could not be read")
    pending = serializers.IntegerField(required=False)
    failed = serializers.IntegerField(required=False)
    oldestPendingAgeSeconds = serializers.FloatField(required=False, allow_null=True)


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["UP", "DOWN"])
    components = ComponentsSerializer()
    dualWrite = BacklogSerializer()


class HealthView(APIView):
    """GET /v1/health: status of MongoDB and PostgreSQL; 503 when either is down."""

    authentication_classes: list[type] = []
    permission_classes: list[type] = []

    @extend_schema(responses={200: HealthSerializer, 503: HealthSerializer}, summary="Health of both stores")
    def get(self, request: Request) -> Response:
        report = check_health()
        return Response(report.as_dict(), status=200 if report.up else 503)
