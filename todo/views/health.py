from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from todo.services.health_service import check_health


class ComponentSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["UP", "DOWN", "RETIRED"],
        help_text="RETIRED: MongoDB in postgres_only without MONGODB_URI, not probed",
    )
    reason = serializers.CharField(required=False, help_text="why it is DOWN (the error class only)")


class ComponentsSerializer(serializers.Serializer):
    mongodb = ComponentSerializer()
    postgres = ComponentSerializer()


class BacklogSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["UNKNOWN", "NOT_USED"],
        required=False,
        help_text="UNKNOWN: the backlog could not be read; NOT_USED: nothing is mirrored (MongoDB retired)",
    )
    direction = serializers.ChoiceField(
        choices=["mongodb_to_postgres", "postgres_to_mongodb"],
        required=False,
        help_text="the mirror of the phase: to Postgres while MongoDB is the truth, back to MongoDB in postgres_only",
    )
    pending = serializers.IntegerField(required=False)
    failed = serializers.IntegerField(required=False)
    oldestPendingAgeSeconds = serializers.FloatField(required=False, allow_null=True)


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["UP", "DEGRADED", "DOWN"],
        help_text="DOWN (503): the phase's store of record is down; DEGRADED (200): the other store is",
    )
    phase = serializers.ChoiceField(choices=["dual_write", "read_migration", "postgres_only"])
    components = ComponentsSerializer()
    dualWrite = BacklogSerializer()


class HealthView(APIView):
    """GET /v1/health: the stores by migration phase; 503 only when the store of record is down."""

    authentication_classes: list[type] = []
    permission_classes: list[type] = []

    @extend_schema(
        responses={200: HealthSerializer, 503: HealthSerializer}, summary="Health of the stores by phase"
    )
    def get(self, request: Request) -> Response:
        report = check_health()
        return Response(report.as_dict(), status=200 if report.up else 503)
