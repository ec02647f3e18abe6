"""POST /v1/auth/local-token: a token for local use, only with the in-process MongoDB stand-in
(whose data lives inside the service, so `manage.py issue_token` must ask the service), and only
for clients on this machine. With a real MONGODB_URI it does not exist (404)."""

from __future__ import annotations

import ipaddress

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from todo.api.errors import ApiError
from todo.auth import local_secret
from todo.phases import mongodb_in_process
from todo.services.local_token_service import InvalidEmail, local_token
from todo.views.auth import PublicView


class LocalTokenRequest(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    name = serializers.CharField(max_length=100, required=False)


class LocalTokenView(PublicView):
    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        if not mongodb_in_process():
            raise Http404
        if not ipaddress.ip_address(request.META.get("REMOTE_ADDR", "0.0.0.0")).is_loopback:
            raise ApiError("Local tokens are for clients on this machine only", status_code=403)
        if not local_secret.matches(request.headers.get(local_secret.HEADER)):
            raise ApiError(
                "Local tokens need the service's local secret (use manage.py issue_token)", status_code=403
            )
        body = LocalTokenRequest(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            token = local_token(email=body.validated_data["email"], name=body.validated_data.get("name"))
        except InvalidEmail as exc:
            raise ApiError(
                "Invalid email",
                errors=[{"source": {"pointer": "email"}, "title": "Invalid value", "detail": str(exc)}],
            ) from None
        return Response({"statusCode": 200, "token": token})
