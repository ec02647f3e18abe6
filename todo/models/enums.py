"""Enumerations of the todo domain, shared by the Postgres models (CHECK constraints) and the
collection mappings (allowed values)."""

from django.db import models


class TaskPriority(models.IntegerChoices):
    HIGH = 1
    MEDIUM = 2
    LOW = 3


class TaskStatus(models.TextChoices):
    TODO = "TODO"
    IN_PROGRESS = "IN_PROGRESS"
    DEFERRED = "DEFERRED"
    BLOCKED = "BLOCKED"
    DONE = "DONE"


class RoleName(models.TextChoices):
    MODERATOR = "moderator"
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


class RoleScope(models.TextChoices):
    GLOBAL = "GLOBAL"
    TEAM = "TEAM"


class AssigneeType(models.TextChoices):
    USER = "user"
    TEAM = "team"


class AuditAction(models.TextChoices):
    TEAM_CREATED = "team_created"
    INVITE_CODE_GENERATED = "team_creation_invite_code_generated"
    INVITE_CODE_CONSUMED = "team_creation_invite_code_consumed"
    MEMBER_JOINED_TEAM = "member_joined_team"
    MEMBER_ADDED_TO_TEAM = "member_added_to_team"
    MEMBER_REMOVED_FROM_TEAM = "member_removed_from_team"
    MEMBER_LEFT_TEAM = "member_left_team"
    POC_CHANGED = "poc_changed"
    ASSIGNED_TO_TEAM = "assigned_to_team"
    UNASSIGNED_FROM_TEAM = "unassigned_from_team"
    ASSIGNED_TO_MEMBER = "assigned_to_member"
    REASSIGN_EXECUTOR = "reassign_executor"
    STATUS_CHANGED = "status_changed"
