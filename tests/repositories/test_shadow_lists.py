"""Shadow reads of the task list and the watchlist: the lists answer a page and whether another
follows (`list_page_ahead`), and the shadow comparison must still name the differing fields and
compare the page whenever its own tasks have no mirror write pending."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId

from dualwrite.policy import ErrorKind
from todo.models import documents as domain_models
from todo.models.postgres import PostgresTask
from todo.repositories import task_list as task_lists
from todo.repositories.abstract_repository import now
from todo.repositories.factory import get_repository
from todo.repositories.routing import RoutedRepository, shadow_mismatch_counts
from todo.wiring import build_queue

pytestmark = pytest.mark.django_db(transaction=True)


def _mismatches(field: str) -> int:
    return shadow_mismatch_counts().get("tasks", {}).get(field, 0)


def _watched_tasks(settings: Any) -> tuple[list[domain_models.Task], task_lists.TaskListQuery]:
    """Three tasks a user watches, read in shadow; the newest one's title differs in Postgres."""
    settings.MIGRATION_PHASE = "read_migration"
    settings.DUAL_WRITE_READ_SOURCE = {"tasks": "shadow"}
    user, tasks = str(ObjectId()), get_repository(domain_models.Task)
    created = [tasks.create({"title": f"t{i}"}) for i in range(3)]
    for task in created:
        get_repository(domain_models.Watchlist).create(
            {"userId": user, "taskId": task.id, "isActive": True, "createdAt": now()}
        )
    PostgresTask.objects.filter(mongo_id=created[-1].id).update(title="tampered")
    scope = task_lists.Scope(domain_models.Watchlist.collection, "taskId", {"userId": user, "isActive": True})
    return created, task_lists.TaskListQuery(scope, now(), task_lists.ALL)


def test_a_page_with_its_next_flag_names_the_differing_field(mongo_db: Any, settings: Any) -> None:
    _, query = _watched_tasks(settings)
    repository = get_repository(domain_models.Task)
    assert isinstance(repository, RoutedRepository)
    before = _mismatches("title")
    tasks, more = repository.list_page_ahead(query, 1, 2)
    assert len(tasks) == 2 and more is True
    assert _mismatches("title") == before + 1 and _mismatches("<value>") == 0


def test_a_page_is_compared_while_another_task_has_a_pending_mirror_write(
    mongo_db: Any, settings: Any
) -> None:
    _, query = _watched_tasks(settings)
    elsewhere = get_repository(domain_models.Task).create({"title": "not on the list"})
    build_queue().record_failure("tasks", elsewhere.id, "update", "slow", ErrorKind.TRANSIENT)
    before = _mismatches("title")
    get_repository(domain_models.Task).list_page_ahead(query, 1, 10)
    assert _mismatches("title") == before + 1
