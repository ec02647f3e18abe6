"""The watchlist: the tasks a user follows.

One entry per (userId, taskId): adding a task again reactivates its entry, leaving it is
`isActive` false (entries are never removed). Any signed-in user may watch any live task; the list
shows only live tasks, the most recently added first.
"""

from __future__ import annotations

from pymongo.errors import DuplicateKeyError

from todo.models import documents as d
from todo.repositories.abstract_repository import now
from todo.repositories.factory import get_repository
from todo.services.task_service import TaskDetails, conflict, live_task, not_found, task_details


def watchlist_tasks(*, actor: str, page: int, limit: int) -> tuple[list[TaskDetails], int]:
    """One page of the live tasks I watch, most recently added first, and how many there are."""
    entries = get_repository(d.Watchlist).get_for_user(actor)
    entries.sort(key=lambda e: (e.created_at is not None, e.created_at or now(), e.id), reverse=True)
    task_ids = [e.task_id for e in entries if e.task_id]
    live = {t.id: t for t in get_repository(d.Task).get_by_ids(task_ids)} if task_ids else {}
    ordered = [live[i] for i in dict.fromkeys(task_ids) if i in live]
    start = (page - 1) * limit
    return task_details(ordered[start : start + limit]), len(ordered)


def watchlist_add(*, actor: str, task_id: str) -> tuple[d.Watchlist, bool]:
    """Watch a live task; returns the entry and whether it is new (409 when already watched)."""
    task = live_task(task_id, name="taskId", where="pointer")
    repo = get_repository(d.Watchlist)
    entry = repo.get_entry(actor, task.id)
    moment = now()
    if entry is None:
        try:
            created = repo.create(
                {
                    "taskId": task.id,
                    "userId": actor,
                    "isActive": True,
                    "createdAt": moment,
                    "createdBy": actor,
                    "updatedAt": moment,
                    "updatedBy": actor,
                },
                actor=actor,
            )
        except DuplicateKeyError:  # a concurrent request added it first (unique userId, taskId)
            raise conflict("The task is already in the watchlist", "taskId") from None
        return created, True
    if entry.is_active:
        raise conflict("The task is already in the watchlist", "taskId")
    return _set_active(entry, True, actor), False


def watchlist_update(*, actor: str, task_id: str, is_active: bool | None) -> d.Watchlist:
    """Set my entry of the task active or not (None toggles it); 404 when there is no entry."""
    entry = get_repository(d.Watchlist).get_entry(actor, task_id)
    if entry is None:
        raise not_found("Watchlist entry", "task_id")
    wanted = (not entry.is_active) if is_active is None else is_active
    if wanted and not entry.is_active:
        live_task(task_id, name="task_id")  # a deleted task cannot be watched again
    if wanted == entry.is_active:
        return entry
    return _set_active(entry, wanted, actor)


def watchlist_check(*, actor: str, task_id: str) -> bool:
    """Whether I watch the live task (404 when the task is unknown or deleted)."""
    task = live_task(task_id, name="task_id", where="parameter")
    entry = get_repository(d.Watchlist).get_entry(actor, task.id)
    return entry is not None and entry.is_active


def _set_active(entry: d.Watchlist, active: bool, actor: str) -> d.Watchlist:
    updated = get_repository(d.Watchlist).update(
        entry.id, {"isActive": active, "updatedAt": now(), "updatedBy": actor}, actor=actor
    )
    if updated is None:
        raise not_found("Watchlist entry", "task_id")
    return updated
