"""Domain models of the todo app (pydantic), built from canonical documents.

Both repository implementations (MongoDB and Postgres) return these, built from the canonical
document form of dualwrite.transform, so the same data gives equal objects whichever store it was
read from. Field aliases are the stored MongoDB keys (camelCase in tasks, labels and watchlists).
Ids are 24-hex strings (creators may also be "system").
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar

from bson import ObjectId
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel


def _id_text(value: Any) -> Any:
    return str(value) if isinstance(value, ObjectId) else value


Id = Annotated[str, BeforeValidator(_id_text)]


class DomainModel(BaseModel):
    """Base: `id` is the document's `_id`; unknown keys are ignored."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    collection: ClassVar[str]

    id: Id = Field(alias="_id")

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> DomainModel:
        return cls.model_validate(document)


class CamelModel(DomainModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", alias_generator=to_camel)


class User(DomainModel):
    collection = "users"
    google_id: str | None = None
    email_id: str | None = None
    name: str | None = None
    picture: str | None = None
    # Raised by signing out: tokens carry the version they were issued for ("ver").
    token_version: int = 0
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


class DeferredDetails(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", alias_generator=to_camel)

    deferred_at: dt.datetime | None = None
    deferred_till: dt.datetime | None = None
    deferred_by: Id | None = None


class Task(CamelModel):
    collection = "tasks"
    display_id: str | None = None
    title: str | None = None
    description: str | None = None
    priority: int = 3
    status: str = "TODO"
    is_acknowledged: bool = False
    labels: list[Id] = Field(default_factory=list)
    is_deleted: bool = False
    deferred_details: DeferredDetails | None = None
    started_at: dt.datetime | None = None
    due_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    created_by: Id | None = None
    updated_by: Id | None = None


class Team(DomainModel):
    collection = "teams"
    name: str | None = None
    description: str | None = None
    poc_id: Id | None = None
    invite_code: str | None = None
    created_by: Id | None = None
    updated_by: Id | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    is_deleted: bool = False


class UserTeamDetails(DomainModel):
    collection = "user_team_details"
    user_id: Id | None = None
    team_id: Id | None = None
    is_active: bool = True
    created_by: Id | None = None
    updated_by: Id | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


class Label(CamelModel):
    collection = "labels"
    name: str | None = None
    color: str | None = None
    description: str | None = None
    is_deleted: bool = False
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    created_by: Id | None = None
    updated_by: Id | None = None


class Role(DomainModel):
    collection = "roles"
    name: str | None = None
    description: str | None = None
    scope: str | None = None
    is_active: bool = True
    created_by: Id | None = None
    created_at: dt.datetime | None = None
    updated_by: Id | None = None
    updated_at: dt.datetime | None = None


class UserRole(DomainModel):
    collection = "user_roles"
    user_id: Id | None = None
    role_name: str | None = None
    scope: str | None = None
    team_id: Id | None = None
    is_active: bool = True
    created_at: dt.datetime | None = None
    created_by: Id | None = None


class TaskAssignment(DomainModel):
    collection = "task_assignments"
    task_id: Id | None = None
    assignee_id: Id | None = None
    user_type: str | None = None
    team_id: Id | None = None
    executor_id: Id | None = None
    is_active: bool = True
    created_by: Id | None = None
    updated_by: Id | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


class Watchlist(CamelModel):
    collection = "watchlists"
    task_id: Id | None = None
    user_id: Id | None = None
    is_active: bool = True
    created_at: dt.datetime | None = None
    created_by: Id | None = None
    updated_at: dt.datetime | None = None
    updated_by: Id | None = None


class AuditLog(DomainModel):
    collection = "audit_logs"
    action: str | None = None
    timestamp: dt.datetime | None = None
    task_id: Id | None = None
    team_id: Id | None = None
    previous_executor_id: Id | None = None
    new_executor_id: Id | None = None
    spoc_id: Id | None = None
    assignee_from: Id | None = None
    assignee_to: Id | None = None
    performed_by: Id | None = None
    status_from: str | None = None
    status_to: str | None = None


class TeamCreationInviteCode(DomainModel):
    collection = "team_creation_invite_codes"
    code: str | None = None
    description: str | None = None
    created_by: Id | None = None
    created_at: dt.datetime | None = None
    is_used: bool = False
    used_by: Id | None = None
    used_at: dt.datetime | None = None


# Every collection's domain model: the mapping (todo/mappings.py) derives its columns from these,
# and the start-up check (todo/checks.py) holds each mapping against its model.
DOMAIN_MODELS: tuple[type[DomainModel], ...] = (
    User,
    Task,
    Team,
    UserTeamDetails,
    Label,
    Role,
    UserRole,
    TaskAssignment,
    Watchlist,
    AuditLog,
    TeamCreationInviteCode,
)
