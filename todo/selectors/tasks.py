"""Reads of tasks: a live or readable task, the task read model (a task with what its response
expands) and the task list with its filters and sorting.

Who reads what:
- anyone signed in reads a live task (deleted tasks are gone: NotFound), when they are its creator, an
  assignee (the user it is actively assigned to, its executor, the point of contact or a member of
  the team it is assigned to, or a member of the team it comes from) or a moderator;
- the list without `teamId` holds the live tasks actively assigned to me (or whose executor I am)
  and to the teams I am the point of contact of; with `teamId`, that team's tasks, for its members.

Status: a task reads DEFERRED while its `deferredTill` is in the future, whatever its stored status.

The list's status filter (docs/frontend-contract.md section 6): none hides DONE and deferred tasks, DONE
shows every task that is not deferred ("include done"), DEFERRED only deferred tasks, any other
status the tasks showing it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from todo.domain.errors import Forbidden, NotFound
from todo.models import documents as domain_models
from todo.models.enums import AssigneeType, TaskStatus
from todo.repositories import task_list as task_lists
from todo.repositories.abstract_repository import now
from todo.repositories.factory import get_repository
from todo.repositories.queries import ANY_OF, AnyOf, In
from todo.selectors.roles import is_moderator
from todo.selectors.teams import is_member, live_team

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


# == look-ups shared by the task, assignment and watchlist services ================================
def live_task(task_id: str) -> domain_models.Task:
    """The task, unless it does not exist or is deleted (NotFound about `task_id`)."""
    task = get_repository(domain_models.Task).get_by_id(task_id)
    if task is None or task.is_deleted:
        raise NotFound.no_such("Task", "task_id")
    return task


def active_assignment(task_id: str) -> domain_models.TaskAssignment | None:
    return get_repository(domain_models.TaskAssignment).get_active_for_task(task_id)


def is_assignee(
    task: domain_models.Task, user_id: str, assignment: domain_models.TaskAssignment | None
) -> bool:
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


def is_deferred(task: domain_models.Task, at: dt.datetime) -> bool:
    """The task's deferral runs: its `deferredTill` is after `at`."""
    deferred = task.deferred_details
    till = deferred.deferred_till if deferred is not None else None
    return till is not None and as_aware(till) > at


def effective_status(task: domain_models.Task, at: dt.datetime) -> str:
    """DEFERRED while the deferral runs, whatever the stored status; otherwise the stored status."""
    return TaskStatus.DEFERRED if is_deferred(task, at) else task.status


def as_aware(value: dt.datetime) -> dt.datetime:
    """A stored time without a zone is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


# == reading tasks with what their responses show ===================================================
@dataclass(frozen=True)
class TaskDetails:
    """A task with everything its response expands: labels, people, teams, the active assignment."""

    task: domain_models.Task
    status: str
    assignment: domain_models.TaskAssignment | None
    labels: dict[str, domain_models.Label]
    users: dict[str, domain_models.User]
    teams: dict[str, domain_models.Team]
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


def task_details(tasks: list[domain_models.Task], viewer: str | None = None) -> list[TaskDetails]:
    """Details of tasks, with the related documents read in a few batched queries; `in_watchlist`
    is the viewer's (None without a viewer)."""
    if not tasks:
        return []
    ids = [t.id for t in tasks]
    watched: dict[str, bool] = {}
    if viewer is not None:
        entries = get_repository(domain_models.Watchlist).get_all({"userId": viewer, "taskId": In(ids)})
        watched = {e.task_id: e.is_active for e in entries if e.task_id}
    assignments = {
        a.task_id: a
        for a in get_repository(domain_models.TaskAssignment).get_all({"task_id": In(ids), "is_active": True})
        if a.task_id
    }
    label_ids = sorted({label for t in tasks for label in t.labels})
    labels = {x.id: x for x in get_repository(domain_models.Label).get_by_ids(label_ids)} if label_ids else {}
    team_ids = {a.assignee_id for a in assignments.values() if a.user_type == AssigneeType.TEAM}
    teams = _by_id(domain_models.Team, team_ids)
    user_ids: set[str | None] = set()
    for t in tasks:
        user_ids |= {t.created_by, t.updated_by}
        if t.deferred_details is not None:
            user_ids.add(t.deferred_details.deferred_by)
    for a in assignments.values():
        user_ids.add(a.executor_id)
        if a.user_type == AssigneeType.USER:
            user_ids.add(a.assignee_id)
    users = _by_id(domain_models.User, user_ids)
    moment = now()
    return [
        TaskDetails(
            t, effective_status(t, moment), assignments.get(t.id), labels, users, teams, watched.get(t.id)
        )
        for t in tasks
    ]


def _by_id(model: type[domain_models.DomainModel], ids: Iterable[str | None]) -> dict[str, Any]:
    wanted = sorted({i for i in ids if i and i != "system"})
    if not wanted:
        return {}
    return {m.id: m for m in get_repository(model).get_all({"_id": In(wanted)})}


def readable_task(task_id: str, viewer: str) -> domain_models.Task:
    """A task the viewer may read: its creator, an assignee (a member or the point of contact of
    the team it belongs to included) or a moderator; anyone else gets the NotFound of a missing
    task, so that ids (guessable ObjectIds) reveal nothing."""
    task = live_task(task_id)
    if task.created_by == viewer or is_moderator(viewer):
        return task
    assignment = active_assignment(task.id)
    if is_assignee(task, viewer, assignment):
        return task
    if assignment is not None and assignment.team_id and is_member(viewer, assignment.team_id):
        return task
    raise NotFound.no_such("Task", "task_id")


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
            raise NotFound.no_such("Team", "team_id")
        if not is_member(actor, team_id):
            raise Forbidden.not_allowed("Only the team's members see its tasks", "team_id")
        # Assigned to a member from the team, or to the team itself.
        either = [{"team_id": team_id}, {"assignee_id": team_id}]
    else:
        poc_of = [
            t.id for t in get_repository(domain_models.Team).get_all({"poc_id": actor, "is_deleted": False})
        ]
        either = [{"assignee_id": actor, "user_type": AssigneeType.USER}]
        if poc_of:
            either.append({"assignee_id": In(poc_of), "user_type": AssigneeType.TEAM})
    scope = task_lists.Scope(
        domain_models.TaskAssignment.collection, "task_id", {"is_active": True, ANY_OF: AnyOf(either)}
    )
    sort_key = sort_by or DEFAULT_SORT
    descending = DEFAULT_DESCENDING[sort_key] if order is None else order == "desc"
    tasks_repo = get_repository(domain_models.Task)
    if sort_key == "assignee":
        # Ordered by a name of another collection (the assignee's): the store selects and counts
        # the tasks, the order and the page are made here from all of them.
        query = task_lists.TaskListQuery(scope, now(), status, "createdAt", descending)
        total = tasks_repo.list_count(query)
        tasks = tasks_repo.list_page(query, 1, max(total, 1))
        ordered = _sorted(task_details(tasks, actor), sort_key, order)
        start = (page - 1) * limit
        return ordered[start : start + limit], len(ordered) > start + limit
    query = task_lists.TaskListQuery(scope, now(), status, sort_key, descending)
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
        return as_aware(moment) if moment is not None else None

    descending = DEFAULT_DESCENDING[sort_by] if order is None else order == "desc"
    by_id = sorted(details, key=lambda x: x.task.id, reverse=descending)
    present = [x for x in by_id if value(x) is not None]
    missing = [x for x in by_id if value(x) is None]
    present.sort(key=value, reverse=descending)  # stable: ties keep id order
    return present + missing
