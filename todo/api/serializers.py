"""Response shapes of the users and labels endpoints: plain functions from domain models to
JSON-ready dicts, and the serializers that describe them in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from todo.api.responses import LinksOut
from todo.models import documents as domain_models


def profile(model: domain_models.User) -> dict[str, Any]:
    """The signed-in user as GET /v1/users?profile=true answers it."""
    return {"id": model.id, "name": model.name, "email": model.email_id, "picture": model.picture or ""}


def user_found(model: domain_models.User) -> dict[str, Any]:
    """A user in a search result."""
    return {"id": model.id, "name": model.name, "email": model.email_id}


def label(model: domain_models.Label) -> dict[str, Any]:
    return {"id": model.id, "name": model.name, "color": model.color, "description": model.description}


# == OpenAPI descriptions ========================================================================
class ProfileSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    email = serializers.EmailField()
    picture = serializers.CharField(allow_blank=True, help_text="avatar URL; empty when there is none")


class ProfileResponseSerializer(serializers.Serializer):
    message = serializers.CharField()
    data = ProfileSerializer()  # type: ignore[assignment]  # a declared field: DRF's metaclass takes it off the class, Serializer.data stays


class FoundUserSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    email = serializers.EmailField()


class UserSearchSerializer(serializers.Serializer):
    users = FoundUserSerializer(many=True)
    total_count = serializers.IntegerField()
    page = serializers.IntegerField()
    limit = serializers.IntegerField()


class UserSearchResponseSerializer(serializers.Serializer):
    message = serializers.CharField()
    data = UserSearchSerializer()  # type: ignore[assignment]  # a declared field: DRF's metaclass takes it off the class, Serializer.data stays


class LabelSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$")
    description = serializers.CharField(allow_null=True)


class LabelListSerializer(serializers.Serializer):
    links = LinksOut()
    error = serializers.CharField(allow_null=True)
    labels = LabelSerializer(many=True)
    page = serializers.IntegerField()
    limit = serializers.IntegerField()
    total = serializers.IntegerField()
