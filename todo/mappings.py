"""The todo app's collection → table mapping: one declaration per MongoDB collection.

Field types say what MongoDB may hold and how it is stored (see dualwrite/types.py). Defaults are
the domain's (../shared/domain.md): a missing or null key takes them. Adding a collection is one
entry here plus one model in todo/models/postgres/. Each mapping reads and writes the MongoDB
collection `mongo_collection` (the existing app's names by default, `MONGODB_COLLECTION_NAMES`
to override); the dual-write API and the mirror tables keep the dual-write names.
"""

from __future__ import annotations

import dataclasses
from functools import cache

from django.conf import settings

from dualwrite.mapping import ArrayTable, CollectionMapping, EmbeddedTable, Field, MappingRegistry
from dualwrite.types import Bool, Enum, ObjectIdRef, Text, Timestamp
from todo.models import postgres as pg
from todo.models.enums import AssigneeType, AuditAction, RoleName, RoleScope, TaskPriority, TaskStatus

REF = ObjectIdRef()
# Creators and updaters: a user id, or "system" for seeded documents.
ACTOR = ObjectIdRef(literals=("system",))
TEXT = Text()
TIME = Timestamp()
BOOL = Bool()


def _fields(*specs: tuple) -> tuple[Field, ...]:
    return tuple(Field(*spec) for spec in specs)


def _mappings() -> list[CollectionMapping]:
    return [
        CollectionMapping(
            "users",
            pg.PostgresUser,
            _fields(
                ("google_id", "google_id", TEXT),
                ("email_id", "email_id", TEXT),
                ("name", "name", TEXT),
                ("picture", "picture", TEXT),
                ("created_at", "created_at", TIME),
                ("updated_at", "updated_at", TIME),
            ),
        ),
        CollectionMapping(
            "tasks",
            pg.PostgresTask,
            _fields(
                ("displayId", "display_id", TEXT),
                ("title", "title", TEXT),
                ("description", "description", TEXT),
                ("priority", "priority", Enum(values=tuple(TaskPriority.values)), TaskPriority.LOW.value),
                ("status", "status", Enum(values=tuple(TaskStatus.values)), TaskStatus.TODO.value),
                ("isAcknowledged", "is_acknowledged", BOOL, False),
                ("isDeleted", "is_deleted", BOOL, False),
                ("startedAt", "started_at", TIME),
                ("dueAt", "due_at", TIME),
                ("createdAt", "created_at", TIME),
                ("updatedAt", "updated_at", TIME),
                ("createdBy", "created_by", ACTOR),
                ("updatedBy", "updated_by", ACTOR),
            ),
            children=(
                ArrayTable("labels", pg.PostgresTaskLabel, "task_mongo_id", "label_mongo_id", REF),
                EmbeddedTable(
                    "deferredDetails",
                    pg.PostgresDeferredDetails,
                    "task_mongo_id",
                    _fields(
                        ("deferredAt", "deferred_at", TIME),
                        ("deferredTill", "deferred_till", TIME),
                        ("deferredBy", "deferred_by", REF),
                    ),
                ),
            ),
        ),
        CollectionMapping(
            "teams",
            pg.PostgresTeam,
            _fields(
                ("name", "name", TEXT),
                ("description", "description", TEXT),
                ("poc_id", "poc_id", REF),
                ("invite_code", "invite_code", TEXT),
                ("created_by", "created_by", ACTOR),
                ("updated_by", "updated_by", ACTOR),
                ("created_at", "created_at", TIME),
                ("updated_at", "updated_at", TIME),
                ("is_deleted", "is_deleted", BOOL, False),
            ),
        ),
        CollectionMapping(
            "user_team_details",
            pg.PostgresUserTeamDetails,
            _fields(
                ("user_id", "user_id", REF),
                ("team_id", "team_id", REF),
                ("is_active", "is_active", BOOL, True),
                ("created_by", "created_by", ACTOR),
                ("updated_by", "updated_by", ACTOR),
                ("created_at", "created_at", TIME),
                ("updated_at", "updated_at", TIME),
            ),
        ),
        CollectionMapping(
            "labels",
            pg.PostgresLabel,
            _fields(
                ("name", "name", TEXT),
                ("color", "color", TEXT),
                ("description", "description", TEXT),
                ("isDeleted", "is_deleted", BOOL, False),
                ("createdAt", "created_at", TIME),
                ("updatedAt", "updated_at", TIME),
                ("createdBy", "created_by", ACTOR),
                ("updatedBy", "updated_by", ACTOR),
            ),
        ),
        CollectionMapping(
            "roles",
            pg.PostgresRole,
            _fields(
                ("name", "name", Enum(values=tuple(RoleName.values))),
                ("description", "description", TEXT),
                ("scope", "scope", Enum(values=tuple(RoleScope.values))),
                ("is_active", "is_active", BOOL, True),
                ("created_by", "created_by", ACTOR),
                ("created_at", "created_at", TIME),
                ("updated_by", "updated_by", ACTOR),
                ("updated_at", "updated_at", TIME),
            ),
        ),
        CollectionMapping(
            "user_roles",
            pg.PostgresUserRole,
            _fields(
                ("user_id", "user_id", REF),
                ("role_name", "role_name", Enum(values=tuple(RoleName.values))),
                ("scope", "scope", Enum(values=tuple(RoleScope.values))),
                ("team_id", "team_id", REF),
                ("is_active", "is_active", BOOL, True),
                ("created_at", "created_at", TIME),
                ("created_by", "created_by", ACTOR),
            ),
        ),
        CollectionMapping(
            "task_assignments",
            pg.PostgresTaskAssignment,
            _fields(
                ("task_id", "task_id", REF),
                ("assignee_id", "assignee_id", REF),
                ("user_type", "user_type", Enum(values=tuple(AssigneeType.values))),
                ("team_id", "team_id", REF),
                ("executor_id", "executor_id", REF),
                ("is_active", "is_active", BOOL, True),
                ("created_by", "created_by", ACTOR),
                ("updated_by", "updated_by", ACTOR),
                ("created_at", "created_at", TIME),
                ("updated_at", "updated_at", TIME),
            ),
        ),
        CollectionMapping(
            "watchlists",
            pg.PostgresWatchlist,
            _fields(
                ("taskId", "task_id", REF),
                ("userId", "user_id", REF),
                ("isActive", "is_active", BOOL, True),
                ("createdAt", "created_at", TIME),
                ("createdBy", "created_by", ACTOR),
                ("updatedAt", "updated_at", TIME),
                ("updatedBy", "updated_by", ACTOR),
            ),
        ),
        CollectionMapping(
            "audit_logs",
            pg.PostgresAuditLog,
            _fields(
                ("action", "action", Enum(values=tuple(AuditAction.values))),
                ("timestamp", "timestamp", TIME),
                ("task_id", "task_id", REF),
                ("team_id", "team_id", REF),
                ("previous_executor_id", "previous_executor_id", REF),
                ("new_executor_id", "new_executor_id", REF),
                ("spoc_id", "spoc_id", REF),
                ("assignee_from", "assignee_from", REF),
                ("assignee_to", "assignee_to", REF),
                ("performed_by", "performed_by", ACTOR),
                ("status_from", "status_from", Enum(values=tuple(TaskStatus.values))),
                ("status_to", "status_to", Enum(values=tuple(TaskStatus.values))),
            ),
        ),
        CollectionMapping(
            "team_creation_invite_codes",
            pg.PostgresTeamCreationInviteCode,
            _fields(
                ("code", "code", TEXT),
                ("description", "description", TEXT),
                ("created_by", "created_by", ACTOR),
                ("created_at", "created_at", TIME),
                ("is_used", "is_used", BOOL, False),
                ("used_by", "used_by", REF),
                ("used_at", "used_at", TIME),
            ),
        ),
    ]


# The MongoDB collections of the existing app, where they differ from the dual-write names.
LEGACY_COLLECTION_NAMES = {"task_assignments": "task_details", "watchlists": "watchlist"}


def mongo_collection_names() -> dict[str, str]:
    """Dual-write name → MongoDB collection, for the names that differ (MONGODB_COLLECTION_NAMES
    over the existing app's defaults)."""
    return {**LEGACY_COLLECTION_NAMES, **settings.MONGODB_COLLECTION_NAMES}


@cache
def get_registry() -> MappingRegistry:
    """All mappings, validated against the models on first use."""
    names = mongo_collection_names()
    return MappingRegistry(
        dataclasses.replace(m, mongo_collection=names.get(m.collection, m.collection)) for m in _mappings()
    )
