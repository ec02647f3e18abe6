"""Tasks: listing, creation, updates, deferral and soft deletion, with their rules.

Who may do what:
- anyone signed in reads a live task (deleted tasks are gone: 404);
- the creator or an assignee changes, defers or deletes it. An assignee is the user the task is
  actively assigned to, the executor of a team task, or the point of contact or a member of the
  team it is assigned to;
- the list without `teamId` holds the live tasks actively assigned to me (or whose executor I am)
  and to the teams I am the point of contact of; with `teamId`, that team's tasks, for its members.

Status: a task reads DEFERRED while its `deferredTill` is in the future, whatever its stored status
(deferring stores TODO, so the task reads TODO when the deferral ends); any status other than
DEFERRED set through PATCH ends a deferral, and a stored status change is audited
(`status_changed`, with the team of the task's active assignment) by the repository. Every write
goes through the repositories, hence to MongoDB and its Postgres mirror.

The list's status filter (docs/frontend-contract.md section 6): none hides DONE and deferred tasks, DONE
shows every task that is not deferred ("include done"), DEFERRED only deferred tasks, any other
status the tasks showing it.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rest_framework import status as http

from todo.api.errors import ApiError
from todo.models import documents as d
from todo.models.enums import AssigneeType, TaskPriority, TaskStatus
from todo.repositories import task_list as tl
from todo.repositories.abstract_repository import now
from todo.repositories.counters import DISPLAY_ID_COUNTER
from todo.repositories.factory import get_counter_repository, get_repository
from todo.repositories.queries import ANY_OF, AnyOf, In
from todo.services.role_service import is_moderator

SORT_FIELDS = ("priority", "dueAt", "createdAt", "updatedAt", "assignee")
# Without `sort_by`: newest activity first (updatedAt, else createdAt, descending).
DEFAULT_SORT = "activity"
# Without `order`, the most useful end first: highest priority, assignees A→Z, newest dates.
DEFAULT_DESCENDING = {
    "priority": False,
    "assignee": False,
    "dueAt": True,
    "createdAt": True,
    "updatedAt": True,
    "activity": True,
}
UNPROCESSABLE = 422


# == errors =======================================================================================
def not_found(what: str, name: str, where: str = "path") -> ApiError:
    return ApiError(
        f"{what} not found",
        status_code=http.HTTP_404_NOT_FOUND,
        errors=[{"source": {where: name}, "title": "Not found", "detail": f"No such {what.lower()}"}],
    )


def forbidden(detail: str, name: str = "id", where: str = "path") -> ApiError:
    return ApiError(
        "Not allowed",
        status_code=http.HTTP_403_FORBIDDEN,
        errors=[{"source": {where: name}, "title": "Forbidden", "detail": detail}],
    )


def conflict(detail: str, name: str, where: str = "pointer") -> ApiError:
    return ApiError(
        detail,
        status_code=http.HTTP_409_CONFLICT,
        errors=[{"source": {where: name}, "title": "Conflict", "detail": detail}],
    )


def bad_field(name: str, detail: str, status_code: int = http.HTTP_400_BAD_REQUEST) -> ApiError:
    return ApiError(
        f"Invalid {name}",
        status_code=status_code,
        errors=[{"source": {"pointer": name}, "title": "Invalid value", "detail": detail}],
    )


# == look-ups shared by the task, assignment and watchlist services ================================
def live_task(task_id: str, *, name: str = "id", where: str = "path") -> d.Task:
    """The task, unless it does not exist or is deleted (404 naming the parameter)."""
    task = get_repository(d.Task).get_by_id(task_id)
    if task is None or task.is_deleted:
        raise not_found("Task", name, where)
    return task


def live_team(team_id: str | None) -> d.Team | None:
    """The team, unless it does not exist or is deleted."""
    if not team_id:
        return None
    team = get_repository(d.Team).get_by_id(team_id)
    return None if team is None or team.is_deleted else team


def is_member(user_id: str, team_id: str) -> bool:
    """An active membership row (user_team_details) of the user in the team."""
    membership = get_repository(d.UserTeamDetails).get_membership(user_id, team_id)
    return membership is not None and membership.is_active


def active_assignment(task_id: str) -> d.TaskAssignment | None:
    return get_repository(d.TaskAssignment).get_active_for_task(task_id)


def is_assignee(task: d.Task, user_id: str, assignment: d.TaskAssignment | None) -> bool:
    """The user the task is assigned to, its executor, or the point of contact or a member of the
    team it is assigned to."""
    if assignment is None:
        return False
    if assignment.user_type == AssigneeType.USER:
        return assignment.assignee_id == user_id
    if assignment.executor_id == user_id:
        return True
    team = live_team(assignment.assignee_id)
    return team is not None and (team.poc_id == user_id or is_member(user_id, team.id))


def editable_task(task_id: str, actor: str) -> d.Task:
    task = live_task(task_id)
    if task.created_by != actor and not is_assignee(task, actor, active_assignment(task.id)):
        raise forbidden("Only the task's creator or assignee may change it")
    return task


def is_deferred(task: d.Task, at: dt.datetime) -> bool:
    """The task's deferral runs: its `deferredTill` is after `at`."""
    deferred = task.deferred_details
    till = deferred.deferred_till if deferred is not None else None
    return till is not None and _aware(till) > at


def effective_status(task: d.Task, at: dt.datetime) -> str:
    """DEFERRED while the deferral runs, whatever the stored status; otherwise the stored status."""
    return TaskStatus.DEFERRED if is_deferred(task, at) else task.status


def check_due_date(due_at: dt.datetime | None, timezone: str | None) -> None:
    """`dueAt`'s date in the caller's time zone (UTC when not given) is not before today there."""
    if due_at is None:
        return
    zone = zoneinfo.ZoneInfo(timezone) if timezone else dt.UTC
    if _aware(due_at).astimezone(zone).date() < now().astimezone(zone).date():
        raise bad_field("dueAt", "must not be before today")


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


# == reading tasks with what their responses show ===================================================
@dataclass(frozen=True)
class TaskDetails:
    """A task with everything its response expands: labels, people, teams, the active assignment."""

    task: d.Task
    status: str
    assignment: d.TaskAssignment | None
    labels: dict[str, d.Label]
    users: dict[str, d.User]
    teams: dict[str, d.Team]
    in_watchlist: bool | None = None  # for the viewer: watched, watched before, never watched

    def assignee_name(self) -> str | None:
        a = self.assignment
        if a is None or a.assignee_id is None:
            return None
        if a.user_type == AssigneeType.TEAM:
            team = self.teams.get(a.assignee_id)
            return team.name if team else None
        user = self.users.get(a.assignee_id)
        return user.name if user else None


def task_details(tasks: list[d.Task], viewer: str | None = None) -> list[TaskDetails]:
    """Details of tasks, with the related documents read in a few batched queries; `in_watchlist`
    is the viewer's (None without a viewer)."""
    if not tasks:
        return []
    ids = [t.id for t in tasks]
    watched: dict[str, bool] = {}
    if viewer is not None:
        entries = get_repository(d.Watchlist).get_all({"userId": viewer, "taskId": In(ids)})
        watched = {e.task_id: e.is_active for e in entries if e.task_id}
    assignments = {
        a.task_id: a
        for a in get_repository(d.TaskAssignment).get_all({"task_id": In(ids), "is_active": True})
        if a.task_id
    }
    label_ids = sorted({label for t in tasks for label in t.labels})
    labels = {x.id: x for x in get_repository(d.Label).get_by_ids(label_ids)} if label_ids else {}
    team_ids = {a.assignee_id for a in assignments.values() if a.user_type == AssigneeType.TEAM}
    teams = _by_id(d.Team, team_ids)
    user_ids: set[str | None] = set()
    for t in tasks:
        user_ids |= {t.created_by, t.updated_by}
        if t.deferred_details is not None:
            user_ids.add(t.deferred_details.deferred_by)
    for a in assignments.values():
        user_ids.add(a.executor_id)
        if a.user_type == AssigneeType.USER:
            user_ids.add(a.assignee_id)
    users = _by_id(d.User, user_ids)
    moment = now()
    return [
        TaskDetails(
            t, effective_status(t, moment), assignments.get(t.id), labels, users, teams, watched.get(t.id)
        )
        for t in tasks
    ]


def _by_id(model: type[d.DomainModel], ids: Iterable[str | None]) -> dict[str, Any]:
    wanted = sorted({i for i in ids if i and i != "system"})
    if not wanted:
        return {}
    return {m.id: m for m in get_repository(model).get_all({"_id": In(wanted)})}


def readable_task(task_id: str, viewer: str, *, name: str = "id", where: str = "path") -> d.Task:
    """A task the viewer may read: its creator, an assignee (a member or the point of contact of
    the team it belongs to included) or a moderator; anyone else gets the 404 of a missing task,
    so that ids (guessable ObjectIds) reveal nothing."""
    task = live_task(task_id, name=name, where=where)
    if task.created_by == viewer or is_moderator(viewer):
        return task
    assignment = active_assignment(task.id)
    if is_assignee(task, viewer, assignment):
        return task
    if assignment is not None and assignment.team_id and is_member(viewer, assignment.team_id):
        return task
    raise not_found("Task", name, where)


def task_get(*, task_id: str, viewer: str) -> TaskDetails:
    return task_details([readable_task(task_id, viewer)], viewer)[0]


def task_list(
    *,
    actor: str,
    team_id: str | None = None,
    status: str | None = None,
    sort_by: str | None = None,
    order: str | None = None,
    page: int = 1,
    limit: int = 20,
) -> tuple[list[TaskDetails], bool]:
    """One page of my tasks (or a team's, for its members) and whether another page follows.

    Mine: actively assigned to me as a user, or to a team whose point of contact I am. A team's:
    actively assigned to the team, or to a member from it. `status` as in the module docstring."""
    either: list[dict[str, Any]]
    if team_id is not None:
        if live_team(team_id) is None:
            raise not_found("Team", "teamId", "parameter")
        if not is_member(actor, team_id):
            raise forbidden("Only the team's members see its tasks", "teamId", "parameter")
        # Assigned to a member from the team, or to the team itself.
        either = [{"team_id": team_id}, {"assignee_id": team_id}]
    else:
        poc_of = [t.id for t in get_repository(d.Team).get_all({"poc_id": actor, "is_deleted": False})]
        either = [{"assignee_id": actor, "user_type": AssigneeType.USER}]
        if poc_of:
            either.append({"assignee_id": In(poc_of), "user_type": AssigneeType.TEAM})
    scope = tl.Scope(d.TaskAssignment.collection, "task_id", {"is_active": True, ANY_OF: AnyOf(either)})
    sort_key = sort_by or DEFAULT_SORT
    descending = DEFAULT_DESCENDING[sort_key] if order is None else order == "desc"
    tasks_repo = get_repository(d.Task)
    if sort_key == "assignee":
        # Ordered by a name of another collection (the assignee's): the store selects and counts
        # the tasks, the order and the page are made here from all of them.
        query = tl.TaskListQuery(scope, now(), status, "createdAt", descending)
        total = tasks_repo.list_count(query)
        tasks = tasks_repo.list_page(query, 1, max(total, 1))
        ordered = _sorted(task_details(tasks, actor), sort_key, order)
        start = (page - 1) * limit
        return ordered[start : start + limit], len(ordered) > start + limit
    query = tl.TaskListQuery(scope, now(), status, sort_key, descending)
    tasks, more = tasks_repo.list_page_ahead(query, page, limit)
    return task_details(tasks, actor), more


def _sorted(details: list[TaskDetails], sort_by: str, order: str | None) -> list[TaskDetails]:
    """Sorted by one field (missing values last, in either order); ties by id in the same order
    (ids grow with creation, so descending puts the newer of two equal times first)."""

    def value(x: TaskDetails) -> Any:
        if sort_by == "priority":
            return x.task.priority
        if sort_by == "assignee":
            name = x.assignee_name()
            return name.casefold() if name is not None else None
        stored = {
            "dueAt": x.task.due_at,
            "createdAt": x.task.created_at,
            "updatedAt": x.task.updated_at,
            "activity": x.task.updated_at or x.task.created_at,
        }
        moment = stored[sort_by]
        return _aware(moment) if moment is not None else None

    descending = DEFAULT_DESCENDING[sort_by] if order is None else order == "desc"
    by_id = sorted(details, key=lambda x: x.task.id, reverse=descending)
    present = [x for x in by_id if value(x) is not None]
    missing = [x for x in by_id if value(x) is None]
    present.sort(key=value, reverse=descending)  # stable: ties keep id order
    return present + missing


# == writes ======================================================================================
def next_display_id() -> str:
    """ "#<n>" from the display-id counter of the phase's store of record."""
    return f"#{get_counter_repository().next_value(DISPLAY_ID_COUNTER)}"


def check_labels(label_ids: list[str]) -> None:
    """Every label exists and is not deleted (404 naming `labels` otherwise)."""
    if not label_ids:
        return
    found = {x.id for x in get_repository(d.Label).get_by_ids(label_ids) if not x.is_deleted}
    missing = [i for i in label_ids if i not in found]
    if missing:
        raise ApiError(
            "Label not found",
            status_code=http.HTTP_404_NOT_FOUND,
            errors=[
                {"source": {"pointer": "labels"}, "title": "Not found", "detail": f"No such label: {i}"}
                for i in missing
            ],
        )


def task_create(
    *,
    actor: str,
    title: str,
    description: str | None = None,
    priority: str = TaskPriority.LOW.name,
    status: str = TaskStatus.TODO,
    labels: list[str] | None = None,
    due_at: dt.datetime | None = None,
    timezone: str | None = None,
    assignee: dict[str, str] | None = None,
    team_id: str | None = None,
) -> TaskDetails:
    """Create a task (and its assignment when an assignee is given); returns its details.

    `team_id` (with a user assignee) makes the assignment a team's: the team exists, the actor
    belongs to it and the assignee is a member."""
    from todo.services import task_assignment_service

    if not title.strip():
        raise bad_field("title", "must not be blank")
    check_due_date(due_at, timezone)
    labels = labels or []
    check_labels(labels)
    if assignee is not None:
        task_assignment_service.check_assignee(
            actor=actor, assignee_id=assignee["assignee_id"], user_type=assignee["user_type"], team_id=team_id
        )
    moment = now()
    task = get_repository(d.Task).create(
        {
            "displayId": next_display_id(),
            "title": title,
            "description": description,
            "priority": TaskPriority[priority].value,
            "status": status,
            "isAcknowledged": False,
            "labels": labels,
            "isDeleted": False,
            "deferredDetails": None,
            "startedAt": moment if status == TaskStatus.IN_PROGRESS else None,
            "dueAt": due_at,
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
    from todo.services import task_assignment_service

    task = editable_task(task_id, actor)
    changes = dict(changes)
    timezone = changes.pop("timezone", None)
    assignee = changes.pop("assignee", None)
    if changes.get("status") == TaskStatus.DEFERRED:
        del changes["status"]
    # The body's other keys are the task's document keys (TaskUpdateSerializer names them so).
    fields = changes
    if "title" in fields and not fields["title"].strip():
        raise bad_field("title", "must not be blank")
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
        if till is not None and _aware(till) >= fields["dueAt"]:
            raise bad_field("dueAt", "must be after the task's deferredTill")
    updated = task
    if fields:
        changed = get_repository(d.Task).update(
            task.id, {**fields, "updatedAt": moment, "updatedBy": actor}, actor=actor
        )
        if changed is None:
            raise not_found("Task", "id")
        updated = changed
    if assignee is not None:
        task_assignment_service.assignment_change(
            actor=actor, task=updated, assignee_id=assignee["assignee_id"], user_type=assignee["user_type"]
        )
    return task_details([updated], actor)[0]


def task_defer(*, actor: str, task_id: str, deferred_till: dt.datetime) -> TaskDetails:
    """Defer a task until `deferred_till`: in the future (400), not when DONE (409), before its
    dueAt (422). The stored status becomes TODO; the task reads DEFERRED until then."""
    task = editable_task(task_id, actor)
    if task.status == TaskStatus.DONE:
        raise conflict("A task that is DONE cannot be deferred", "status")
    moment = now()
    if deferred_till <= moment:
        raise bad_field("deferredTill", "must be in the future")
    if task.due_at is not None and deferred_till >= _aware(task.due_at):
        raise bad_field("deferredTill", "must be before the task's dueAt", UNPROCESSABLE)
    details = {"deferredAt": moment, "deferredTill": deferred_till, "deferredBy": actor}
    updated = get_repository(d.Task).update(
        task.id,
        {"deferredDetails": details, "status": TaskStatus.TODO, "updatedAt": moment, "updatedBy": actor},
        actor=actor,
    )
    if updated is None:
        raise not_found("Task", "id")
    return task_details([updated], actor)[0]


def task_delete(*, actor: str, task_id: str) -> None:
    """Soft delete (isDeleted true), by the creator or an assignee."""
    task = editable_task(task_id, actor)
    get_repository(d.Task).update(
        task.id, {"isDeleted": True, "updatedAt": now(), "updatedBy": actor}, actor=actor
    )
