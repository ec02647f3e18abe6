"""Request bodies of the task, task-assignment and watchlist endpoints, validated strictly, and the
JSON shapes of their responses.

Strict means: the body is a JSON object; a key the endpoint does not know is refused; every value
has exactly the JSON type the field wants (no "1" for 1, no 1 for "1", no objects or arrays where a
scalar belongs), so values such as {"$gt": ""} are refused with the field named before anything
reaches a query; text holds no NUL byte or lone surrogate; ids are 24-hex strings; timestamps are
ISO-8601 strings, kept as UTC with the millisecond precision MongoDB stores.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rest_framework import serializers

from todo.api.fields import (
    ObjectIdField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictSerializer,
    UtcDateTimeField,
    unique_ids,
)
from todo.models import documents as d
from todo.models.enums import AssigneeType, TaskPriority, TaskStatus

if TYPE_CHECKING:
    from todo.services.task_service import TaskDetails

# Statuses a request may set; DEFERRED is reached through `?action=defer` only.
SETTABLE_STATUSES = [s for s in TaskStatus.values if s != TaskStatus.DEFERRED]
PRIORITY_NAMES = {p.name: p.value for p in TaskPriority}
MAX_LABELS = 50


# == request bodies =============================================================================
class AssigneeSerializer(StrictSerializer):
    assignee_id = ObjectIdField()
    user_type = StrictChoiceField(choices=AssigneeType.values)


class TaskCreateSerializer(StrictSerializer):
    title = StrictCharField(max_length=500)
    description = StrictCharField(max_length=10000, allow_null=True, allow_blank=True, required=False)
    priority = StrictChoiceField(choices=list(PRIORITY_NAMES), required=False)
    status = StrictChoiceField(choices=SETTABLE_STATUSES, required=False)
    labels = serializers.ListField(child=ObjectIdField(), max_length=MAX_LABELS, required=False)
    dueAt = UtcDateTimeField(allow_null=True, required=False)
    assignee = AssigneeSerializer(allow_null=True, required=False)

    def validate_labels(self, value: list[str]) -> list[str]:
        return unique_ids(value)


class TaskUpdateSerializer(StrictSerializer):
    title = StrictCharField(max_length=500, required=False)
    description = StrictCharField(max_length=10000, allow_null=True, allow_blank=True, required=False)
    priority = StrictChoiceField(choices=list(PRIORITY_NAMES), required=False)
    status = StrictChoiceField(choices=SETTABLE_STATUSES, required=False)
    labels = serializers.ListField(child=ObjectIdField(), max_length=MAX_LABELS, required=False)
    dueAt = UtcDateTimeField(allow_null=True, required=False)
    startedAt = UtcDateTimeField(allow_null=True, required=False)
    isAcknowledged = StrictBooleanField(required=False)

    def validate_labels(self, value: list[str]) -> list[str]:
        return unique_ids(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError({"body": ["Give at least one field to change."]})
        return attrs


class TaskDeferSerializer(StrictSerializer):
    deferredTill = UtcDateTimeField()


class TaskAssignSerializer(StrictSerializer):
    """PATCH /v1/tasks/{id}/assign."""

    assignee_id = ObjectIdField()
    user_type = StrictChoiceField(choices=AssigneeType.values)


class TaskAssignmentCreateSerializer(StrictSerializer):
    """POST /v1/task-assignments."""

    task_id = ObjectIdField()
    assignee_id = ObjectIdField()
    user_type = StrictChoiceField(choices=AssigneeType.values)


class ExecutorSerializer(StrictSerializer):
    """PATCH /v1/task-assignments/{task_id}: the executor of a team task."""

    executor_id = ObjectIdField()


class WatchlistCreateSerializer(StrictSerializer):
    taskId = ObjectIdField()


class WatchlistUpdateSerializer(StrictSerializer):
    """isActive sets the entry's state; an empty body toggles it."""

    isActive = StrictBooleanField(required=False)


# == responses ==================================================================================
def person(user_id: str | None, users: Mapping[str, d.User]) -> dict[str, Any] | None:
    """{id, name} of a user id ("system" and unknown users keep their id and have no name)."""
    if user_id is None:
        return None
    found = users.get(user_id)
    return {"id": user_id, "name": found.name if found else None}


def assignment(
    model: d.TaskAssignment, users: Mapping[str, d.User], teams: Mapping[str, d.Team]
) -> dict[str, Any]:
    if model.user_type == AssigneeType.TEAM:
        team = teams.get(model.assignee_id or "")
        name = team.name if team else None
    else:
        assignee = users.get(model.assignee_id or "")
        name = assignee.name if assignee else None
    executor = person(model.executor_id, users)
    return {
        "id": model.id,
        "task_id": model.task_id,
        "assignee_id": model.assignee_id,
        "assignee_name": name,
        "user_type": model.user_type,
        "team_id": model.team_id,
        "executor_id": model.executor_id,
        "executor_name": executor["name"] if executor else None,
        "is_active": model.is_active,
        "created_by": model.created_by,
        "created_at": model.created_at,
        "updated_by": model.updated_by,
        "updated_at": model.updated_at,
    }


def task(
    model: d.Task,
    *,
    status: str,
    labels: Mapping[str, d.Label],
    users: Mapping[str, d.User],
    teams: Mapping[str, d.Team],
    active_assignment: d.TaskAssignment | None,
) -> dict[str, Any]:
    deferred = model.deferred_details
    return {
        "id": model.id,
        "displayId": model.display_id,
        "title": model.title,
        "description": model.description,
        "priority": TaskPriority(model.priority).name if model.priority in TaskPriority.values else None,
        "status": status,
        "isAcknowledged": model.is_acknowledged,
        "labels": [
            {"id": label.id, "name": label.name, "color": label.color}
            for label in (labels.get(label_id) for label_id in model.labels)
            if label is not None
        ],
        "isDeleted": model.is_deleted,
        "deferredDetails": (
            {
                "deferredAt": deferred.deferred_at,
                "deferredTill": deferred.deferred_till,
                "deferredBy": person(deferred.deferred_by, users),
            }
            if deferred is not None
            else None
        ),
        "startedAt": model.started_at,
        "dueAt": model.due_at,
        "assignee": assignment(active_assignment, users, teams) if active_assignment else None,
        "createdAt": model.created_at,
        "updatedAt": model.updated_at,
        "createdBy": person(model.created_by, users),
        "updatedBy": person(model.updated_by, users),
    }


def watchlist_entry(model: d.Watchlist) -> dict[str, Any]:
    return {
        "id": model.id,
        "taskId": model.task_id,
        "userId": model.user_id,
        "isActive": model.is_active,
        "createdAt": model.created_at,
        "createdBy": model.created_by,
        "updatedAt": model.updated_at,
        "updatedBy": model.updated_by,
    }


def task_details(details: TaskDetails) -> dict[str, Any]:
    """The response of a task read with its related documents (task_service.task_details)."""
    return task(
        details.task,
        status=details.status,
        labels=details.labels,
        users=details.users,
        teams=details.teams,
        active_assignment=details.assignment,
    )
