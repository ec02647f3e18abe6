"""Tasks: creation, updates, deferral and soft deletion, with their rules (the reads, the task read
model and the list are in todo/selectors/tasks.py).

Who may do what: the creator or an assignee changes, defers or deletes a task. An assignee is the
user the task is actively assigned to, the executor of a team task, or the point of contact or a
member of the team it is assigned to.

Status: a task reads DEFERRED while its `deferredTill` is in the future, whatever its stored status
(deferring stores TODO, so the task reads TODO when the deferral ends); any status other than
DEFERRED set through PATCH ends a deferral, and a stored status change is audited
(`status_changed`, with the team of the task's active assignment) by the repository. Every write
goes through the repositories, hence to MongoDB and its Postgres mirror.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from todo.domain.errors import Conflict, Forbidden, Inconsistent, Invalid, NotFound, Problem
from todo.models import documents as domain_models
from todo.models.enums import TaskPriority, TaskStatus
from todo.repositories.abstract_repository import now
from todo.repositories.counters import DISPLAY_ID_COUNTER
from todo.repositories.factory import get_counter_repository, get_repository
from todo.selectors.tasks import (
    TaskDetails,
    active_assignment,
    as_aware,
    is_assignee,
    is_deferred,
    live_task,
    task_details,
)
from todo.services import task_assignment_service

# A task's document keys an update may change: every field of the domain model but those the
# service keeps (a new field of the model is editable once the update serializer accepts it).
SERVICE_KEYS = {
    "displayId",
    "isDeleted",
    "deferredDetails",
    "createdAt",
    "createdBy",
    "updatedAt",
    "updatedBy",
}
EDITABLE_KEYS = (
    {str(info.alias or name) for name, info in domain_models.Task.model_fields.items()}
    - SERVICE_KEYS
    - {"_id", "id"}
)


def editable_task(task_id: str, actor: str) -> domain_models.Task:
    """A live task the actor may change: its creator or an assignee (Forbidden otherwise)."""
    task = live_task(task_id)
    if task.created_by != actor and not is_assignee(task, actor, active_assignment(task.id)):
        raise Forbidden.not_allowed("Only the task's creator or assignee may change it", "task_id")
    return task


def check_due_date(due_at: dt.datetime | None, timezone: str | None) -> None:
    """`dueAt`'s date in the caller's time zone (UTC when not given) is not before today there."""
    if due_at is None:
        return
    zone = zoneinfo.ZoneInfo(timezone) if timezone else dt.UTC
    if as_aware(due_at).astimezone(zone).date() < now().astimezone(zone).date():
        raise Invalid.value("dueAt", "must not be before today")


def next_display_id() -> str:
    """ "#<n>" from the display-id counter of the phase's store of record."""
    return f"#{get_counter_repository().next_value(DISPLAY_ID_COUNTER)}"


def check_labels(label_ids: list[str]) -> None:
    """Every label exists and is not deleted (NotFound about `labels`, one problem per label)."""
    if not label_ids:
        return
    found = {x.id for x in get_repository(domain_models.Label).get_by_ids(label_ids) if not x.is_deleted}
    missing = [i for i in label_ids if i not in found]
    if missing:
        problems = [Problem("labels", "Not found", f"No such label: {i}") for i in missing]
        raise NotFound("Label not found", problems=problems)


def task_create(
    *,
    actor: str,
    fields: dict[str, Any],
    timezone: str | None = None,
    assignee: dict[str, str] | None = None,
    team_id: str | None = None,
) -> TaskDetails:
    """Create a task (and its assignment when an assignee is given); returns its details.

    `fields` are the new task's document keys (the create body names them so: `title`, and any of
    `description`, `priority` by name, `status`, `labels`, `dueAt`, or a field added to the model
    since); the service sets the rest: display id, deletion, deferral, `startedAt` and the audit
    keys. `team_id` (with a user assignee) makes the assignment a team's: the team exists, the
    actor belongs to it and the assignee is a member."""
    fields = dict(fields)
    refused = sorted(set(fields) - EDITABLE_KEYS)
    if refused:
        raise Invalid.value(refused[0], "is not a field a task is created with")
    if not str(fields.get("title") or "").strip():
        raise Invalid.value("title", "must not be blank")
    fields["priority"] = TaskPriority[fields.get("priority") or TaskPriority.LOW.name].value
    fields["status"] = fields.get("status") or TaskStatus.TODO
    fields["labels"] = fields.get("labels") or []
    check_due_date(fields.get("dueAt"), timezone)
    check_labels(fields["labels"])
    if assignee is not None:
        task_assignment_service.check_assignee(
            actor=actor, assignee_id=assignee["assignee_id"], user_type=assignee["user_type"], team_id=team_id
        )
    moment = now()
    task = get_repository(domain_models.Task).create(
        {
            "description": None,
            "isAcknowledged": False,
            "dueAt": None,
            **fields,
            "displayId": next_display_id(),
            "isDeleted": False,
            "deferredDetails": None,
            "startedAt": moment if fields["status"] == TaskStatus.IN_PROGRESS else None,
            "createdAt": moment,
            "updatedAt": moment,
            "createdBy": actor,
            "updatedBy": actor,
        },
        actor=actor,
    )
    if assignee is not None:
        task_assignment_service.assignment_add(
            actor=actor,
            task=task,
            assignee_id=assignee["assignee_id"],
            user_type=assignee["user_type"],
            team_id=team_id,
        )
    return task_details([task], actor)[0]


def task_update(*, actor: str, task_id: str, changes: dict[str, Any]) -> TaskDetails:
    """Change fields of a task (creator or assignee).

    A `status` of DEFERRED changes nothing; any other status ends a deferral, IN_PROGRESS sets
    startedAt. `dueAt` is checked against today in `timezone`; `assignee` reassigns the task."""
    task = editable_task(task_id, actor)
    changes = dict(changes)
    timezone = changes.pop("timezone", None)
    assignee = changes.pop("assignee", None)
    if changes.get("status") == TaskStatus.DEFERRED:
        del changes["status"]
    # The body's other keys are the task's document keys (TaskUpdateSerializer names them so); the
    # keys the service keeps itself (identity, deletion, deferral, audit) are not changed here.
    refused = sorted(set(changes) - EDITABLE_KEYS)
    if refused:
        raise Invalid.value(refused[0], "is not a field a task update changes")
    fields = changes
    if "title" in fields and not fields["title"].strip():
        raise Invalid.value("title", "must not be blank")
    if "priority" in fields:
        fields["priority"] = TaskPriority[fields["priority"]].value
    if "labels" in fields:
        check_labels(fields["labels"])
    if "dueAt" in fields:
        check_due_date(fields["dueAt"], timezone)
    moment = now()
    if assignee is not None:
        task_assignment_service.check_assignee(
            actor=actor,
            assignee_id=assignee["assignee_id"],
            user_type=assignee["user_type"],
            prefix="assignee.",
        )
    if "status" in fields:
        if task.deferred_details is not None:
            fields["deferredDetails"] = None
        if (
            fields["status"] == TaskStatus.IN_PROGRESS
            and task.started_at is None
            and "startedAt" not in fields
        ):
            fields["startedAt"] = moment
    elif "dueAt" in fields and fields["dueAt"] is not None and is_deferred(task, moment):
        till = task.deferred_details.deferred_till if task.deferred_details else None
        if till is not None and as_aware(till) >= fields["dueAt"]:
            raise Invalid.value("dueAt", "must be after the task's deferredTill")
    updated = task
    if fields:
        changed = get_repository(domain_models.Task).update(
            task.id, {**fields, "updatedAt": moment, "updatedBy": actor}, actor=actor
        )
        if changed is None:
            raise NotFound.no_such("Task", "task_id")
        updated = changed
    if assignee is not None:
        task_assignment_service.assignment_change(
            actor=actor, task=updated, assignee_id=assignee["assignee_id"], user_type=assignee["user_type"]
        )
    return task_details([updated], actor)[0]


def task_defer(*, actor: str, task_id: str, deferred_till: dt.datetime) -> TaskDetails:
    """Defer a task until `deferred_till`: in the future (Invalid), not when DONE (Conflict), before its
    dueAt (Inconsistent). The stored status becomes TODO; the task reads DEFERRED until then."""
    task = editable_task(task_id, actor)
    if task.status == TaskStatus.DONE:
        raise Conflict.with_state("A task that is DONE cannot be deferred", "status")
    moment = now()
    if deferred_till <= moment:
        raise Invalid.value("deferredTill", "must be in the future")
    if task.due_at is not None and deferred_till >= as_aware(task.due_at):
        raise Inconsistent.value("deferredTill", "must be before the task's dueAt")
    details = {"deferredAt": moment, "deferredTill": deferred_till, "deferredBy": actor}
    updated = get_repository(domain_models.Task).update(
        task.id,
        {"deferredDetails": details, "status": TaskStatus.TODO, "updatedAt": moment, "updatedBy": actor},
        actor=actor,
    )
    if updated is None:
        raise NotFound.no_such("Task", "task_id")
    return task_details([updated], actor)[0]


def task_delete(*, actor: str, task_id: str) -> None:
    """Soft delete (isDeleted true), by the creator or an assignee."""
    task = editable_task(task_id, actor)
    get_repository(domain_models.Task).update(
        task.id, {"isDeleted": True, "updatedAt": now(), "updatedBy": actor}, actor=actor
    )
