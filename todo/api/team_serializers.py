"""Request bodies of the teams, roles and team-creation invite code endpoints, validated strictly.

Strict means: a field accepts only its JSON type (a string field refuses numbers, objects and
lists, so `{"name": {"$gt": ""}}` is a 400 naming `name` and never reaches a query), text may not
hold NUL bytes, ids are 24-hex strings, and keys the endpoint does not know are refused.
"""

from __future__ import annotations

import re
from typing import Any

from rest_framework import serializers

from todo.api.fields import ObjectIdField, StrictCharField, StrictSerializer, unique_ids
from todo.models import documents as d
from todo.models.enums import RoleName

CODE_PATTERN = re.compile(r"[0-9A-Z]{6}")
TEAM_ROLES = (RoleName.OWNER.value, RoleName.ADMIN.value, RoleName.MEMBER.value)
MAX_MEMBERS = 100


class InviteCodeField(StrictCharField):
    """A 6-character code of 0-9A-Z (lower-case letters are accepted and upper-cased)."""

    default_error_messages = {"invalid_code": "Must be 6 characters of 0-9 and A-Z."}

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data).upper()
        if not CODE_PATTERN.fullmatch(value):
            self.fail("invalid_code")
        return value


class TeamCreateSerializer(StrictSerializer):
    name = StrictCharField(min_length=1, max_length=100)
    description = StrictCharField(max_length=1000, required=False, allow_null=True, allow_blank=True)
    team_invite_code = InviteCodeField()
    member_ids = serializers.ListField(
        child=ObjectIdField(), required=False, default=list, max_length=MAX_MEMBERS
    )
    point_of_contact_id = ObjectIdField(required=False, allow_null=True)

    def validate_member_ids(self, value: list[str]) -> list[str]:
        return unique_ids(value)


class TeamUpdateSerializer(StrictSerializer):
    point_of_contact_id = ObjectIdField()


class JoinByInviteSerializer(StrictSerializer):
    invite_code = InviteCodeField()


class AddMembersSerializer(StrictSerializer):
    member_ids = serializers.ListField(child=ObjectIdField(), min_length=1, max_length=MAX_MEMBERS)

    def validate_member_ids(self, value: list[str]) -> list[str]:
        return unique_ids(value)


class RoleGrantSerializer(StrictSerializer):
    """Exactly one of role_name (owner, admin, member) or role_id (a TEAM role's id)."""

    role_name = serializers.ChoiceField(choices=TEAM_ROLES, required=False)
    role_id = ObjectIdField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("role_name" in attrs) == ("role_id" in attrs):
            raise serializers.ValidationError({"role_name": ["Give exactly one of role_name or role_id."]})
        return attrs


class InviteCodeGenerateSerializer(StrictSerializer):
    description = StrictCharField(max_length=500, required=False, allow_null=True, allow_blank=True)


class InviteCodeVerifySerializer(StrictSerializer):
    code = InviteCodeField()


# -- response shapes (plain functions from domain models to JSON-ready dicts) -------------------------
def team_out(model: d.Team, *, with_invite_code: bool = False) -> dict[str, Any]:
    body = {
        "id": model.id,
        "name": model.name,
        "description": model.description,
        "pocId": model.poc_id,
        "createdBy": model.created_by,
        "updatedBy": model.updated_by,
        "createdAt": model.created_at,
        "updatedAt": model.updated_at,
    }
    if with_invite_code:
        body["inviteCode"] = model.invite_code
    return body


def member_out(model: d.User, roles: list[str]) -> dict[str, Any]:
    return {
        "id": model.id,
        "name": model.name,
        "email": model.email_id,
        "picture": model.picture,
        "roles": roles,
    }


def role_out(model: d.Role) -> dict[str, Any]:
    return {
        "id": model.id,
        "name": model.name,
        "description": model.description,
        "scope": model.scope,
        "isActive": model.is_active,
        "createdAt": model.created_at,
        "updatedAt": model.updated_at,
    }


def user_role_out(model: d.UserRole) -> dict[str, Any]:
    return {
        "id": model.id,
        "userId": model.user_id,
        "roleName": model.role_name,
        "scope": model.scope,
        "teamId": model.team_id,
        "isActive": model.is_active,
        "createdAt": model.created_at,
        "createdBy": model.created_by,
    }


def audit_out(model: d.AuditLog) -> dict[str, Any]:
    return {
        "id": model.id,
        "action": model.action,
        "timestamp": model.timestamp,
        "performedBy": model.performed_by,
        "taskId": model.task_id,
        "teamId": model.team_id,
        "spocId": model.spoc_id,
        "assigneeFrom": model.assignee_from,
        "assigneeTo": model.assignee_to,
        "previousExecutorId": model.previous_executor_id,
        "newExecutorId": model.new_executor_id,
        "statusFrom": model.status_from,
        "statusTo": model.status_to,
    }


def invite_code_out(model: d.TeamCreationInviteCode) -> dict[str, Any]:
    return {
        "id": model.id,
        "code": model.code,
        "description": model.description,
        "createdBy": model.created_by,
        "createdAt": model.created_at,
        "isUsed": model.is_used,
        "usedBy": model.used_by,
        "usedAt": model.used_at,
    }
