"""The watchlist: the tasks a user follows.

One entry per (userId, taskId), created once by POST (a second POST is refused, whether the entry
is active or not: Invalid) and switched with PATCH `isActive` (entries are never removed). Any
signed-in user may watch any live task; the list shows only live, actively watched tasks, most
recent task activity first (updatedAt, else createdAt).
"""

from __future__ import annotations

from todo.domain.errors import Invalid, NotFound
from todo.models import documents as domain_models
from todo.repositories.abstract_repository import now
from todo.repositories.errors import DuplicateKey
from todo.repositories.factory import get_repository
from todo.selectors.tasks import live_task, readable_task


def _exists() -> Invalid:
    return Invalid.value("taskId", "the task already has a watchlist entry; change it with PATCH")


def watchlist_add(*, actor: str, task_id: str) -> domain_models.Watchlist:
    """Watch a live task (NotFound: unknown task; Invalid: I have an entry for it, active or
    not)."""
    task = readable_task(task_id, actor)
    repo = get_repository(domain_models.Watchlist)
    if repo.get_entry(actor, task.id) is not None:
        raise _exists()
    moment = now()
    try:
        return repo.create(
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
    except DuplicateKey:  # a concurrent request added it first (unique userId, taskId)
        raise _exists() from None


def watchlist_update(*, actor: str, task_id: str, is_active: bool | None) -> domain_models.Watchlist:
    """Set my entry of the task active or not (None toggles it); NotFound when there is no entry."""
    entry = get_repository(domain_models.Watchlist).get_entry(actor, task_id)
    if entry is None:
        raise NotFound.no_such("Watchlist entry", "task_id")
    wanted = (not entry.is_active) if is_active is None else is_active
    if wanted and not entry.is_active:
        live_task(task_id)  # a deleted task cannot be watched again
    if wanted == entry.is_active:
        return entry
    return _set_active(entry, wanted, actor)


def watchlist_check(*, actor: str, task_id: str) -> bool:
    """Whether I watch the live task (NotFound when the task is unknown or deleted)."""
    task = live_task(task_id)
    entry = get_repository(domain_models.Watchlist).get_entry(actor, task.id)
    return entry is not None and entry.is_active


def _set_active(entry: domain_models.Watchlist, active: bool, actor: str) -> domain_models.Watchlist:
    updated = get_repository(domain_models.Watchlist).update(
        entry.id, {"isActive": active, "updatedAt": now(), "updatedBy": actor}, actor=actor
    )
    if updated is None:
        raise NotFound.no_such("Watchlist entry", "task_id")
    return updated
