"""Request bodies and response shapes of the teams, roles and team-creation invite code endpoints.

Requests are validated strictly: a field accepts only its JSON type (a string field refuses
numbers, objects and lists, so `{"name": {"$gt": ""}}` is a 400 naming `name` and never reaches a
query), text may not hold NUL bytes, ids are 24-hex strings, and keys the endpoint does not know
are refused.

Responses follow the web client's contract (docs/frontend-contract.md, sections 9-11): the team
endpoints answer bare snake_case objects, and every date is ISO-8601 with an explicit zone (`Z`).
The response serializers below both render the answers (from plain dicts) and document them in
the OpenAPI schema, so the two cannot drift apart.
"""

from __future__ import annotations

import re
from typing import Any

from rest_framework import serializers

from todo.api.fields import ObjectIdField, StrictCharField, StrictSerializer, unique_ids
from todo.api.responses import LinksOut, ZonedDateTimeField, envelope
from todo.models.enums import RoleName

TEAM_CODE_PATTERN = re.compile(r"[0-9A-Z]{6}")
CREATION_CODE_PATTERN = re.compile(r"[0-9A-Za-z_-]{6,20}")
TEAM_ROLES = (RoleName.OWNER.value, RoleName.ADMIN.value, RoleName.MEMBER.value)
MAX_MEMBERS = 100


# == request bodies =============================================================================
class InviteCodeField(StrictCharField):
    """A team's join code: 6 characters of 0-9A-Z (lower-case letters are upper-cased)."""

    default_error_messages = {"invalid_code": "Must be 6 characters of 0-9 and A-Z."}

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data).upper()
        if not TEAM_CODE_PATTERN.fullmatch(value):
            self.fail("invalid_code")
        return value


class CreationCodeField(StrictCharField):
    """A team-creation invite code: 6 to 20 letters, digits, `-` or `_` (kept as given; the
    service also tries the upper-cased form, so codes may be typed in lower case)."""

    default_error_messages = {"invalid_code": "Must be 6 to 20 letters, digits, '-' or '_'."}

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not CREATION_CODE_PATTERN.fullmatch(value):
            self.fail("invalid_code")
        return value


class TeamCreateSerializer(StrictSerializer):
    """The create form as the client sends it; `poc_id` null (or absent) stores no point of contact."""

    name = StrictCharField(min_length=1, max_length=100)
    description = StrictCharField(max_length=500, required=False, allow_null=True, allow_blank=True)
    team_invite_code = CreationCodeField()
    member_ids = serializers.ListField(
        child=ObjectIdField(), required=False, default=list, max_length=MAX_MEMBERS
    )
    poc_id = ObjectIdField(required=False, allow_null=True)

    def validate_member_ids(self, value: list[str]) -> list[str]:
        return unique_ids(value)


class TeamUpdateSerializer(StrictSerializer):
    poc_id = ObjectIdField()


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
    code = CreationCodeField()


# == response fields ============================================================================
def _text(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(allow_blank=True, **kwargs)


def _nullable_text() -> serializers.CharField:
    return serializers.CharField(allow_null=True, allow_blank=True)


def _nullable_date() -> ZonedDateTimeField:
    return ZonedDateTimeField(allow_null=True)


# == teams ======================================================================================
class TeamMemberOut(serializers.Serializer):
    id = serializers.CharField()
    name = _nullable_text()
    addedOn = ZonedDateTimeField(source="added_on", allow_null=True)
    tasksAssignedCount = serializers.IntegerField(source="tasks_assigned_count", allow_null=True)


class TeamOut(serializers.Serializer):
    id = serializers.CharField()
    name = _nullable_text()
    description = _nullable_text()
    poc_id = serializers.CharField(allow_null=True)
    created_by = serializers.CharField(allow_null=True)
    updated_by = serializers.CharField(allow_null=True)
    created_at = _nullable_date()
    updated_at = _nullable_date()
    users = TeamMemberOut(many=True, allow_null=True)


class CreatedTeamOut(TeamOut):
    invite_code = serializers.CharField(allow_null=True)


class TeamCreatedOut(serializers.Serializer):
    team = CreatedTeamOut()
    message = serializers.CharField()


class TeamListOut(serializers.Serializer):
    links = LinksOut()
    teams = TeamOut(many=True)
    page = serializers.IntegerField()
    limit = serializers.IntegerField()
    total = serializers.IntegerField()


class TeamInviteCodeOut(serializers.Serializer):
    teamId = serializers.CharField()
    inviteCode = serializers.CharField(allow_blank=True)


class ActivityOut(serializers.Serializer):
    """One timeline entry: ids resolved to display names (user and team names, task titles)."""

    id = serializers.CharField()
    action = serializers.CharField()
    timestamp = _nullable_date()
    team_id = serializers.CharField(allow_null=True)
    team_name = _nullable_text()
    performed_by = serializers.CharField(allow_null=True)
    performed_by_name = _nullable_text()
    task_id = serializers.CharField(allow_null=True)
    task_title = _nullable_text()
    status_from = serializers.CharField(allow_null=True)
    status_to = serializers.CharField(allow_null=True)
    spoc_id = serializers.CharField(allow_null=True)
    spoc_name = _nullable_text()
    previous_executor_id = serializers.CharField(allow_null=True)
    previous_executor_name = _nullable_text()
    new_executor_id = serializers.CharField(allow_null=True)
    new_executor_name = _nullable_text()
    assignee_from = serializers.CharField(allow_null=True)
    assignee_from_name = _nullable_text()
    assignee_to = serializers.CharField(allow_null=True)
    assignee_to_name = _nullable_text()


class TimelineOut(serializers.Serializer):
    links = LinksOut()
    timeline = ActivityOut(many=True)
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    limit = serializers.IntegerField()


# == roles ======================================================================================
class RoleOut(serializers.Serializer):
    id = serializers.CharField()
    name = _nullable_text()
    description = _nullable_text()
    scope = serializers.CharField(allow_null=True)
    isActive = serializers.BooleanField(source="is_active")
    createdAt = ZonedDateTimeField(source="created_at", allow_null=True)
    updatedAt = ZonedDateTimeField(source="updated_at", allow_null=True)


class UserRoleOut(serializers.Serializer):
    id = serializers.CharField()
    userId = serializers.CharField(source="user_id", allow_null=True)
    roleName = serializers.CharField(source="role_name", allow_null=True)
    scope = serializers.CharField(allow_null=True)
    teamId = serializers.CharField(source="team_id", allow_null=True)
    isActive = serializers.BooleanField(source="is_active")
    createdAt = ZonedDateTimeField(source="created_at", allow_null=True)
    createdBy = serializers.CharField(source="created_by", allow_null=True)


class TeamRoleOut(serializers.Serializer):
    """A user's team role as the members page reads it (`role_name` lower case)."""

    role_id = serializers.CharField()
    role_name = serializers.CharField()
    scope = serializers.CharField()
    team_id = serializers.CharField()
    assigned_at = _nullable_date()


class TeamUserRolesOut(serializers.Serializer):
    team_id = serializers.CharField()
    user_id = serializers.CharField()
    roles = TeamRoleOut(many=True)


class UserRolesOut(serializers.Serializer):
    userId = serializers.CharField()
    roles = UserRoleOut(many=True)


# == team-creation invite codes =================================================================
class PersonOut(serializers.Serializer):
    id = serializers.CharField()
    name = _nullable_text()


class InviteCodeOut(serializers.Serializer):
    id = serializers.CharField()
    code = serializers.CharField()
    description = _nullable_text()
    created_by = PersonOut()
    created_at = ZonedDateTimeField()
    used_at = _nullable_date()
    used_by = PersonOut(allow_null=True)
    is_used = serializers.BooleanField()


class InviteCodeGeneratedOut(serializers.Serializer):
    code = serializers.CharField()
    description = _nullable_text()
    message = serializers.CharField()


class InviteCodeListOut(serializers.Serializer):
    codes = InviteCodeOut(many=True)
    previous_url = serializers.CharField(allow_null=True)
    next_url = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class MessageOut(serializers.Serializer):
    message = serializers.CharField()


# == envelopes of the endpoints the client does not call (kept as they were) ======================
RoleEnvelopeOut = envelope("RoleEnvelopeOut", RoleOut)


UserRoleEnvelopeOut = envelope("UserRoleEnvelopeOut", UserRoleOut)


UserRoleListEnvelopeOut = envelope("UserRoleListEnvelopeOut", UserRoleOut, many=True)


UserRolesEnvelopeOut = envelope("UserRolesEnvelopeOut", UserRolesOut)


TeamInviteCodeEnvelopeOut = envelope("TeamInviteCodeEnvelopeOut", TeamInviteCodeOut)


class RoleListOut(serializers.Serializer):
    links = LinksOut()
    roles = RoleOut(many=True)
    page = serializers.IntegerField()
    limit = serializers.IntegerField()
    total = serializers.IntegerField()


class UserRoleListOut(serializers.Serializer):
    links = LinksOut()
    roles = UserRoleOut(many=True)
    page = serializers.IntegerField()
    limit = serializers.IntegerField()
    total = serializers.IntegerField()
