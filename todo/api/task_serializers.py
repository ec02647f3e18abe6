"""Request bodies of the task, task-assignment and watchlist endpoints, validated strictly, and the
JSON shapes of their responses.

Strict means: the body is a JSON object; a key the endpoint does not know is refused; every value
has exactly the JSON type the field wants (no "1" for 1, no 1 for "1", no objects or arrays where a
scalar belongs), so values such as {"$gt": ""} are refused with the field named before anything
reaches a query; text holds no NUL byte or lone surrogate; ids are 24-hex strings; timestamps are
ISO-8601 strings, kept as UTC with the millisecond precision MongoDB stores.
"""

from __future__ import annotations

import functools
import zoneinfo
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
from todo.api.responses import LinksOut, ZonedDateTimeField, envelope, render
from todo.models import documents as domain_models
from todo.models.enums import AssigneeType, TaskPriority, TaskStatus

if TYPE_CHECKING:
    from todo.selectors.tasks import TaskDetails

# Statuses a request may set; DEFERRED is reached through `?action=defer` only.
SETTABLE_STATUSES = [s for s in TaskStatus.values if s != TaskStatus.DEFERRED]
PRIORITY_NAMES = {p.name: p.value for p in TaskPriority}
MAX_LABELS = 50
MAX_TITLE = 255


# == request bodies =============================================================================
class AssigneeSerializer(StrictSerializer):
    assignee_id = ObjectIdField()
    user_type = StrictChoiceField(choices=AssigneeType.values)


class TimezoneField(StrictCharField):
    """An IANA time zone name (e.g. Asia/Kolkata), as the browser reports it."""

    default_error_messages = {"unknown": "Must be an IANA time zone name, e.g. Asia/Kolkata."}

    def to_internal_value(self, data: Any) -> str:
        name = super().to_internal_value(data)
        if name not in _zone_names():
            self.fail("unknown")
        return name


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class TaskCreateSerializer(StrictSerializer):
    """POST /v1/tasks: the web client's flat body (the older nested `assignee` is still read)."""

    title = StrictCharField(max_length=MAX_TITLE)
    description = StrictCharField(max_length=10000, allow_null=True, allow_blank=True, required=False)
    priority = StrictChoiceField(choices=list(PRIORITY_NAMES), required=False)
    status = StrictChoiceField(choices=SETTABLE_STATUSES, required=False)
    labels = serializers.ListField(child=ObjectIdField(), max_length=MAX_LABELS, required=False)
    dueAt = UtcDateTimeField(allow_null=True, required=False)
    timezone = TimezoneField(max_length=64, required=False)
    assignee_id = ObjectIdField(required=False, allow_null=True)
    user_type = StrictChoiceField(choices=AssigneeType.values, required=False, allow_null=True)
    team_id = ObjectIdField(required=False, allow_null=True)
    assignee = AssigneeSerializer(allow_null=True, required=False)

    def validate_labels(self, value: list[str]) -> list[str]:
        return unique_ids(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        flat_id, flat_type = attrs.pop("assignee_id", None), attrs.pop("user_type", None)
        if (flat_id is None) != (flat_type is None):
            missing = "user_type" if flat_type is None else "assignee_id"
            raise serializers.ValidationError({missing: ["Give assignee_id and user_type together."]})
        if flat_id is not None:
            if attrs.get("assignee") is not None:
                raise serializers.ValidationError({"assignee": ["Give either assignee or assignee_id."]})
            attrs["assignee"] = {"assignee_id": flat_id, "user_type": flat_type}
        team_id = attrs.get("team_id")
        if team_id is not None:
            assignee = attrs.get("assignee")
            if assignee is None or assignee["user_type"] != AssigneeType.USER:
                raise serializers.ValidationError({"team_id": ["Only with a user assignee (a team member)."]})
        return attrs


class TaskUpdateSerializer(StrictSerializer):
    """PATCH /v1/tasks/{id}/update and PATCH /v1/tasks/{id}: only the changed fields.

    A `status` of DEFERRED is accepted and changes nothing (deferring is `?action=defer`)."""

    title = StrictCharField(max_length=MAX_TITLE, required=False)
    description = StrictCharField(max_length=10000, allow_null=True, allow_blank=True, required=False)
    priority = StrictChoiceField(choices=list(PRIORITY_NAMES), required=False)
    status = StrictChoiceField(choices=TaskStatus.values, required=False)
    labels = serializers.ListField(child=ObjectIdField(), max_length=MAX_LABELS, required=False)
    dueAt = UtcDateTimeField(allow_null=True, required=False)
    timezone = TimezoneField(max_length=64, required=False)
    startedAt = UtcDateTimeField(allow_null=True, required=False)
    isAcknowledged = StrictBooleanField(required=False)
    assignee = AssigneeSerializer(required=False)

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
# Response shapes, as the web client reads them (docs/frontend-contract.md sections 6-8). The view
# functions below build plain dicts and render them through these serializers, so the OpenAPI
# document describes exactly what is sent (keys not declared here are not sent).
def _text(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(allow_null=True, **kwargs)


def _moment() -> ZonedDateTimeField:
    return ZonedDateTimeField(allow_null=True)


class PersonOut(serializers.Serializer):
    id = serializers.CharField()
    name = _text()
    addedOn = _moment()
    tasksAssignedCount = serializers.IntegerField(allow_null=True)


class LabelOut(serializers.Serializer):
    id = serializers.CharField()
    name = _text()
    color = _text()


class AssignmentOut(serializers.Serializer):
    """A task's active assignment inside a Task."""

    id = serializers.CharField()
    task_id = _text()
    assignee_id = _text()
    assignee_name = _text()
    user_type = serializers.ChoiceField(choices=AssigneeType.values, allow_null=True)
    executor_id = _text()
    team_id = _text()
    is_active = serializers.BooleanField()
    created_by = _text()
    updated_by = _text()
    created_at = _moment()
    updated_at = _moment()


class AssignmentDetailOut(AssignmentOut):
    """The task-assignment endpoints' assignment: also the executor's name."""

    executor_name = _text()


class DeferredDetailsOut(serializers.Serializer):
    deferredAt = _moment()
    deferredTill = _moment()
    deferredBy = PersonOut(allow_null=True)


class TaskOut(serializers.Serializer):
    id = serializers.CharField()
    displayId = _text()
    title = _text()
    description = _text()
    priority = serializers.ChoiceField(choices=list(PRIORITY_NAMES), allow_null=True)
    status = serializers.ChoiceField(choices=TaskStatus.values)
    assignee = AssignmentOut(allow_null=True)
    isAcknowledged = serializers.BooleanField()
    labels = LabelOut(many=True)
    startedAt = _moment()
    dueAt = _moment()
    deferredDetails = DeferredDetailsOut(allow_null=True)
    in_watchlist = serializers.BooleanField(
        allow_null=True, help_text="for the caller: true watched, false watched before, null never"
    )
    createdAt = _moment()
    updatedAt = _moment()
    createdBy = PersonOut(allow_null=True)
    updatedBy = PersonOut(allow_null=True)


class TaskListOut(serializers.Serializer):
    links = LinksOut(allow_null=True)
    error = _text()
    tasks = TaskOut(many=True)
    page = serializers.IntegerField()
    limit = serializers.IntegerField()


class TaskCreatedOut(serializers.Serializer):
    statusCode = serializers.IntegerField()
    successMessage = serializers.CharField()
    data = TaskOut()  # type: ignore[assignment]  # a declared field: DRF's metaclass takes it off the class, Serializer.data stays


TaskEnvelopeOut = envelope("TaskEnvelopeOut", TaskOut)


class WatchAssigneeOut(serializers.Serializer):
    assignee_id = _text()
    assignee_name = _text()
    user_type = serializers.ChoiceField(choices=AssigneeType.values, allow_null=True)


class WatchItemOut(serializers.Serializer):
    taskId = serializers.CharField()
    watchlistId = serializers.CharField()
    displayId = _text()
    title = _text()
    description = _text()
    priority = serializers.ChoiceField(choices=list(PRIORITY_NAMES), allow_null=True)
    status = serializers.ChoiceField(choices=TaskStatus.values)
    isAcknowledged = serializers.BooleanField()
    isDeleted = serializers.BooleanField()
    labels = LabelOut(many=True)
    dueAt = _moment()
    createdAt = _moment()
    createdBy = PersonOut(allow_null=True)
    deferredDetails = DeferredDetailsOut(allow_null=True)
    assignee = WatchAssigneeOut(allow_null=True)


class WatchListOut(serializers.Serializer):
    links = LinksOut(allow_null=True)
    error = _text()
    tasks = WatchItemOut(many=True)
    page = serializers.IntegerField()
    limit = serializers.IntegerField()


class WatchlistEntryOut(serializers.Serializer):
    id = serializers.CharField()
    taskId = _text()
    userId = _text()
    isActive = serializers.BooleanField()
    createdAt = _moment()
    createdBy = _text()
    updatedAt = _moment()
    updatedBy = _text()


class WatchlistEntryEnvelopeOut(serializers.Serializer):
    statusCode = serializers.IntegerField()
    successMessage = serializers.CharField(required=False)
    data = WatchlistEntryOut()  # type: ignore[assignment]  # a declared field: DRF's metaclass takes it off the class, Serializer.data stays


class WatchCheckOut(serializers.Serializer):
    taskId = serializers.CharField()
    in_watchlist = serializers.BooleanField()


WatchCheckEnvelopeOut = envelope("WatchCheckEnvelopeOut", WatchCheckOut)


AssignmentEnvelopeOut = envelope("AssignmentEnvelopeOut", AssignmentDetailOut)


class ExecutorUpdatedOut(serializers.Serializer):
    message = serializers.CharField()
    data = AssignmentDetailOut()  # type: ignore[assignment]  # a declared field: DRF's metaclass takes it off the class, Serializer.data stays


# -- building the response values ------------------------------------------------------------------
def person(user_id: str | None, users: Mapping[str, domain_models.User]) -> dict[str, Any] | None:
    """{id, name, addedOn, tasksAssignedCount} of a user id ("system" and unknown users keep their
    id and have no name)."""
    if user_id is None:
        return None
    found = users.get(user_id)
    return {"id": user_id, "name": found.name if found else None, "addedOn": None, "tasksAssignedCount": None}


def assignee_name(
    model: domain_models.TaskAssignment,
    users: Mapping[str, domain_models.User],
    teams: Mapping[str, domain_models.Team],
) -> str | None:
    if model.user_type == AssigneeType.TEAM:
        team = teams.get(model.assignee_id or "")
        return team.name if team else None
    assignee = users.get(model.assignee_id or "")
    return assignee.name if assignee else None


def assignment(
    model: domain_models.TaskAssignment,
    users: Mapping[str, domain_models.User],
    teams: Mapping[str, domain_models.Team],
) -> dict[str, Any]:
    executor = person(model.executor_id, users)
    return {
        "id": model.id,
        "task_id": model.task_id,
        "assignee_id": model.assignee_id,
        "assignee_name": assignee_name(model, users, teams),
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


def _labels(model: domain_models.Task, labels: Mapping[str, domain_models.Label]) -> list[dict[str, Any]]:
    return [
        {"id": label.id, "name": label.name, "color": label.color}
        for label in (labels.get(label_id) for label_id in model.labels)
        if label is not None
    ]


def _deferred(model: domain_models.Task, users: Mapping[str, domain_models.User]) -> dict[str, Any] | None:
    deferred = model.deferred_details
    if deferred is None:
        return None
    return {
        "deferredAt": deferred.deferred_at,
        "deferredTill": deferred.deferred_till,
        "deferredBy": person(deferred.deferred_by, users),
    }


@functools.cache
def _keys(shape: type[serializers.Serializer]) -> tuple[str, ...]:
    return tuple(shape().fields)


def stored_values(model: domain_models.DomainModel, shape: type[serializers.Serializer]) -> dict[str, Any]:
    """The response keys of `shape` that are document keys of `model` (camelCase aliases), with
    the model's values: a task field a response shows as stored needs only its line in the shape.
    The caller overrides the keys it shows otherwise (people, labels, names of priorities)."""
    names = {info.alias or name: name for name, info in type(model).model_fields.items()}
    return {key: getattr(model, names[key]) for key in _keys(shape) if key in names}


def _priority(model: domain_models.Task) -> str | None:
    return TaskPriority(model.priority).name if model.priority in TaskPriority.values else None


def task_details(details: TaskDetails) -> dict[str, Any]:
    """The Task object of a task read with its related documents (todo.selectors.tasks.task_details)."""
    model, users = details.task, details.users
    active = details.assignment
    value = {
        **stored_values(model, TaskOut),  # displayId, title, description, isAcknowledged, dates...
        "id": model.id,
        "priority": _priority(model),
        "status": details.status,
        "assignee": assignment(active, users, details.teams) if active else None,
        "labels": _labels(model, details.labels),
        "deferredDetails": _deferred(model, users),
        "in_watchlist": details.in_watchlist,
        "createdBy": person(model.created_by, users),
        "updatedBy": person(model.updated_by, users),
    }
    return render(TaskOut, value)


def watch_item(details: TaskDetails, entry: domain_models.Watchlist) -> dict[str, Any]:
    """A watchlist item (GET /v1/watchlist/tasks): the watched task by `taskId`."""
    model, users = details.task, details.users
    active = details.assignment
    value = {
        **stored_values(model, WatchItemOut),  # displayId, title, description, isDeleted, dates...
        "taskId": model.id,
        "watchlistId": entry.id,
        "priority": _priority(model),
        "status": details.status,
        "labels": _labels(model, details.labels),
        "createdBy": person(model.created_by, users),
        "deferredDetails": _deferred(model, users),
        "assignee": (
            {
                "assignee_id": active.assignee_id,
                "assignee_name": assignee_name(active, users, details.teams),
                "user_type": active.user_type,
            }
            if active
            else None
        ),
    }
    return render(WatchItemOut, value)


def watchlist_entry(model: domain_models.Watchlist) -> dict[str, Any]:
    return render(WatchlistEntryOut, {**stored_values(model, WatchlistEntryOut), "id": model.id})


def assignment_detail(
    model: domain_models.TaskAssignment,
    users: Mapping[str, domain_models.User],
    teams: Mapping[str, domain_models.Team],
) -> dict[str, Any]:
    return render(AssignmentDetailOut, assignment(model, users, teams))
