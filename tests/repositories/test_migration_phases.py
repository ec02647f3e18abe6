"""One collection walked through the three migration phases with live writes and reads."""

from __future__ import annotations

import pytest
from bson import ObjectId

from dualwrite.errors import ReadOnlyBackupError
from tests.engine.helpers import mirror_differences, mongo_ids
from todo.models.postgres import PostgresTask
from todo.repositories.factory import get_repository
from todo.repositories.mongo_repository import MongoRepository, TaskRepository
from todo.repositories.postgres_repository import PostgresTaskRepository
from todo.repositories.routing import RoutedRepository, shadow_mismatch_counts

pytestmark = pytest.mark.django_db(transaction=True)


def _titles(repo) -> dict[str, str]:
    return {t.id: t.title for t in repo.get_all()}


def _mismatches(field: str) -> int:
    return shadow_mismatch_counts().get("tasks", {}).get(field, 0)


def test_tasks_walk_through_all_three_phases_without_loss(mongo_db, settings) -> None:
    settings.DUAL_WRITE_RETRY_DELAY = 0
    # Phase 1: dual_write — write both, read MongoDB.
    settings.MIGRATION_PHASE = "dual_write"
    repo = get_repository("tasks")
    assert isinstance(repo, TaskRepository)
    created = [repo.create({"title": f"task {i}", "labels": [str(ObjectId())]}) for i in range(5)]
    repo.update(created[0].id, {"title": "task 0 renamed", "status": "IN_PROGRESS"})
    repo.delete(created[4].id)
    expected = {t.id: t.title for t in created[1:4]} | {created[0].id: "task 0 renamed"}
    assert _titles(repo) == expected
    assert mirror_differences("tasks", [t.id for t in created]) == {}

    # Phase 2a: read_migration with tasks=shadow — answers from MongoDB, compares with Postgres.
    settings.MIGRATION_PHASE = "read_migration"
    settings.DUAL_WRITE_READ_SOURCE = {"tasks": "shadow"}
    repo = get_repository("tasks")
    assert isinstance(repo, RoutedRepository) and repo.source == "shadow"
    before = _mismatches("title")
    new = repo.create({"title": "made in phase 2"})
    expected[new.id] = "made in phase 2"
    assert _titles(repo) == expected
    assert repo.get_by_id(new.id).title == "made in phase 2"
    assert _mismatches("title") == before  # the stores agree
    # Postgres is altered behind the mirror's back: reads still answer MongoDB's data,
    # and the mismatch is counted by field.
    PostgresTask.objects.filter(mongo_id=created[1].id).update(title="tampered")
    assert repo.get_by_id(created[1].id).title == "task 1"
    assert _mismatches("title") == before + 1
    assert _titles(repo) == expected
    assert _mismatches("title") == before + 2
    # Mend the row from MongoDB (as verify --repair would): no more mismatches.
    repo.update(created[1].id, {"description": "touched"})
    assert repo.get_by_id(created[1].id).title == "task 1"
    assert _mismatches("title") == before + 2

    # Phase 2b: tasks=postgres — reads from Postgres; writes still go to MongoDB and the mirror.
    settings.DUAL_WRITE_READ_SOURCE = {"tasks": "postgres"}
    repo = get_repository("tasks")
    assert repo.source == "postgres"
    assert _titles(repo) == expected
    repo.update(new.id, {"title": "renamed in phase 2b"})
    expected[new.id] = "renamed in phase 2b"
    assert _titles(repo) == expected  # read-your-writes through the mirror
    assert mirror_differences("tasks", [*expected, created[4].id]) == {}

    # Phase 3: postgres_only — Postgres is read and written; MongoDB is a read-only backup.
    settings.MIGRATION_PHASE = "postgres_only"
    repo = get_repository("tasks")
    assert isinstance(repo, PostgresTaskRepository)
    assert _titles(repo) == expected  # nothing lost on the way
    backup = sorted(mongo_ids("tasks"))
    late = repo.create({"title": "postgres only"})
    repo.update(created[2].id, {"title": "edited in Postgres"})
    repo.delete(created[3].id)
    expected |= {late.id: "postgres only", created[2].id: "edited in Postgres"}
    del expected[created[3].id]
    assert _titles(repo) == expected
    assert sorted(mongo_ids("tasks")) == backup  # MongoDB untouched
    with pytest.raises(ReadOnlyBackupError, match="read-only backup"):
        TaskRepository().create({"title": "to MongoDB"})
    assert sorted(mongo_ids("tasks")) == backup


def test_unlisted_collections_read_mongodb_in_read_migration(settings) -> None:
    settings.MIGRATION_PHASE = "read_migration"
    settings.DUAL_WRITE_READ_SOURCE = {"tasks": "shadow"}
    assert isinstance(get_repository("users"), MongoRepository)
