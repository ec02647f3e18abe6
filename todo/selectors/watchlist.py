"""Reads of the watchlist: the live tasks a user actively watches, most recent task activity first
(updatedAt, else createdAt; ties: newer id first), with the user's entries."""

from __future__ import annotations

from todo.models import documents as domain_models
from todo.repositories import task_list as task_lists
from todo.repositories.abstract_repository import now
from todo.repositories.factory import get_repository
from todo.repositories.queries import DESC, In
from todo.selectors.tasks import TaskDetails, task_details


def watchlist_tasks(
    *, actor: str, page: int, limit: int
) -> tuple[list[tuple[TaskDetails, domain_models.Watchlist]], bool]:
    """One page of the live tasks I watch with my entries, newest activity first (ties: newer id
    first), and whether another page follows; selected, ordered and paged by the store."""
    active = {"userId": actor, "isActive": True}
    query = task_lists.TaskListQuery(
        task_lists.Scope(domain_models.Watchlist.collection, "taskId", active), now(), task_lists.ALL
    )
    tasks_repo = get_repository(domain_models.Task)
    tasks, more = tasks_repo.list_page_ahead(query, page, limit)
    shown = task_details(tasks, actor)
    ids = [x.task.id for x in shown]
    # Of two entries for one task (legacy data), the oldest one, as before.
    found = (
        get_repository(domain_models.Watchlist).get_all({**active, "taskId": In(ids)}, [("createdAt", DESC)])
        if ids
        else []
    )
    entries = {e.task_id: e for e in found if e.task_id}
    return [(x, entries[x.task.id]) for x in shown if x.task.id in entries], more
