"""The task lists (my tasks, a team's tasks, my watchlist) as one store query: scope, status filter,
order, page and count, answered by the store (MongoDB or Postgres) rather than in Python.

A list is the live tasks whose id is the `scope.key` of some document of `scope.collection`
matching `scope.filters` (e.g. the `task_id` of my active assignments), showing `status`, ordered
by one key with missing values last in either direction and ties by id in the same direction.

What a task shows (docs/frontend-contract.md section 6): DEFERRED while its `deferredDetails.deferredTill`
is after `at`, otherwise its stored status. The status filter: `None` hides DONE and deferred
tasks, DONE shows every task not deferred, DEFERRED only deferred tasks, `ALL` every task, any
other status the tasks showing it.

`matches` and `ordered` below are the same rules in Python, over domain models: the MongoDB
repository uses them when the scope holds legacy-typed values that MongoDB would order or compare
differently (ISO-string dates, string ids), and the tests use them as the reference.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from todo.models import documents as domain_models
from todo.models.enums import TaskStatus
from todo.repositories.queries import Filters

ALL = "*"  # the status filter that keeps every live task (the watchlist)
# Sort keys: the document key(s) whose first present value orders the list.
SORT_KEYS: dict[str, tuple[str, ...]] = {
    "priority": ("priority",),
    "dueAt": ("dueAt",),
    "createdAt": ("createdAt",),
    "updatedAt": ("updatedAt",),
    "activity": ("updatedAt", "createdAt"),  # newest activity: updatedAt, else createdAt
}
DEFERRED_TILL = "deferredDetails.deferredTill"


@dataclass(frozen=True)
class Scope:
    """The tasks whose id is the `key` of a document of `collection` matching `filters`."""

    collection: str
    key: str
    filters: Filters


@dataclass(frozen=True)
class TaskListQuery:
    scope: Scope
    at: dt.datetime  # the moment deferrals are judged at
    status: str | None = None
    sort_by: str = "activity"
    descending: bool = True

    def __post_init__(self) -> None:
        if self.sort_by not in SORT_KEYS:
            raise ValueError(f"cannot sort a task list by {self.sort_by!r}")

    @property
    def sort_keys(self) -> tuple[str, ...]:
        return SORT_KEYS[self.sort_by]

    @property
    def needs_deferral(self) -> bool:
        """Whether the status filter depends on deferrals (every filter but ALL)."""
        return self.status != ALL


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def is_deferred(task: domain_models.Task, at: dt.datetime) -> bool:
    details = task.deferred_details
    till = details.deferred_till if details is not None else None
    return till is not None and _aware(till) > _aware(at)


def shown_status(task: domain_models.Task, at: dt.datetime) -> str:
    return TaskStatus.DEFERRED if is_deferred(task, at) else task.status


def status_matches(status: str | None, shown: str) -> bool:
    if status == ALL:
        return True
    if status is None:
        return shown not in (TaskStatus.DONE, TaskStatus.DEFERRED)
    if status == TaskStatus.DONE:
        return shown != TaskStatus.DEFERRED
    return shown == status


def matches(query: TaskListQuery, task: domain_models.Task) -> bool:
    """A live task showing the query's status (the scope is the caller's)."""
    return not task.is_deleted and status_matches(query.status, shown_status(task, query.at))


def sort_value(query: TaskListQuery, task: domain_models.Task) -> Any:
    values = {
        "priority": task.priority,
        "dueAt": task.due_at,
        "createdAt": task.created_at,
        "updatedAt": task.updated_at,
    }
    for key in query.sort_keys:
        value = values[key]
        if value is not None:
            return _aware(value) if isinstance(value, dt.datetime) else value
    return None


def ordered(query: TaskListQuery, tasks: list[domain_models.Task]) -> list[domain_models.Task]:
    """Present values first, by value; then missing ones; ties (and missing ones) by id, all in the
    query's direction."""
    return sort_with(tasks, lambda task: sort_value(query, task), query.descending)


def sort_with(tasks: list[Any], value: Callable[[Any], Any], descending: bool) -> list[Any]:
    """Items with an `id` (tasks, or anything carrying one) by `value`, missing values last in
    either direction, ties by id in the same direction."""

    def task_id(item: Any) -> str:
        return str(item.id if hasattr(item, "id") else item.task.id)

    by_id = sorted(tasks, key=task_id, reverse=descending)
    present = [x for x in by_id if value(x) is not None]
    missing = [x for x in by_id if value(x) is None]
    present.sort(key=value, reverse=descending)  # stable: ties keep id order
    return present + missing
