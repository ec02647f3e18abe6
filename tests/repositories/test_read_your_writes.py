"""read_migration with tasks read from Postgres (and in shadow): a write whose mirror is pending
(in flight, or failed and queued) is never read back stale, and is no shadow mismatch."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from bson import ObjectId
from django.db import connection
from django.test import Client

from dualwrite.engine import BREAKER
from tests.engine.helpers import mirror_differences
from todo.auth import tokens
from todo.db.mongo_manager import DatabaseManager
from todo.models.documents import User
from todo.models.postgres import PostgresTask
from todo.repositories.factory import get_repository
from todo.repositories.read_your_writes import read_fallback_counts
from todo.repositories.routing import RoutedRepository, shadow_mismatch_counts
from todo.wiring import build_queue, build_worker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def phase(mongo_db: Any, settings: Any) -> Any:
    """read_migration with tasks read from Postgres (tests switch to shadow where they say so)."""
    settings.DUAL_WRITE_RETRY_DELAY = 0
    settings.MIGRATION_PHASE = "read_migration"
    settings.DUAL_WRITE_READ_SOURCE = {"tasks": "postgres"}
    BREAKER.close()
    yield settings
    BREAKER.close()


@contextmanager
def row_locked(mongo_id: str) -> Iterator[None]:
    """Hold the lock of a task's row: a mirror write of it gives up (lock timeout) and is queued."""
    with psycopg.connect(**connection.get_connection_params()) as other:
        other.execute("SELECT 1 FROM postgres_tasks WHERE mongo_id = %s FOR UPDATE", [mongo_id])
        yield
        other.rollback()


def fallbacks(reason: str | None = None) -> int:
    counts = read_fallback_counts().get("tasks", {})
    return sum(counts.values()) if reason is None else counts.get(reason, 0)


def mismatches() -> int:
    return sum(shadow_mismatch_counts().get("tasks", {}).values())


def row_title(mongo_id: str) -> str | None:
    return PostgresTask.objects.filter(mongo_id=mongo_id).values_list("title", flat=True).first()


def drain() -> None:
    """Run a fresh worker until nothing is due (or fail after 30 s)."""
    worker = build_worker(name="test-drain")
    stop_at = time.monotonic() + 30
    while time.monotonic() < stop_at:
        report = worker.run_once()
        if report.processed == 0 and report.postponed == 0:
            assert build_queue().backlog()["pending"] == 0
            return
        time.sleep(0.2 if report.postponed else 0)
    pytest.fail("the worker did not drain the queue in time")


def titles(repo: Any) -> dict[str, str]:
    return {t.id: t.title for t in repo.get_all()}


def test_an_update_whose_mirror_is_queued_is_read_back_from_mongodb_until_drained(phase: Any) -> None:
    repo = get_repository("tasks")
    assert isinstance(repo, RoutedRepository) and repo.source == "postgres"
    task, other = repo.create({"title": "old"}), repo.create({"title": "other"})
    assert repo.get_by_id(task.id).title == "old"
    start = fallbacks()
    assert repo.get_by_id(task.id).title == "old" and titles(repo) == {task.id: "old", other.id: "other"}
    assert fallbacks() == start  # settled documents are read from Postgres

    with row_locked(task.id):
        assert repo.update(task.id, {"title": "new"}).title == "new"
        assert row_title(task.id) == "old"  # the mirror write gave up and was queued
        assert repo.get_by_id(task.id).title == "new"  # read while the row is still locked
    assert build_queue().find_unresolved("tasks", task.id) is not None
    assert row_title(task.id) == "old"
    assert repo.get_by_id(task.id).title == "new"
    assert repo.get_by_ids([task.id, other.id])[0].title == "new"
    assert titles(repo) == {task.id: "new", other.id: "other"}
    assert repo.count({"title": "new"}) == 1
    assert repo.get_by_id(other.id).title == "other"  # not pending: from Postgres
    assert fallbacks("pending") >= 5

    drain()
    assert row_title(task.id) == "new"
    settled = fallbacks()
    assert repo.get_by_id(task.id).title == "new"
    assert titles(repo) == {task.id: "new", other.id: "other"}
    assert repo.count({"title": "new"}) == 1
    assert fallbacks() == settled  # served from Postgres again


def test_a_delete_whose_tombstone_is_queued_reads_as_absent(phase: Any) -> None:
    repo = get_repository("tasks")
    task, kept = repo.create({"title": "doomed"}), repo.create({"title": "kept"})
    with row_locked(task.id):
        assert repo.delete(task.id) is True
    assert PostgresTask.objects.get(mongo_id=task.id).source_deleted is False  # alive in Postgres
    assert repo.get_by_id(task.id) is None
    assert titles(repo) == {kept.id: "kept"}
    assert repo.count() == 1
    drain()
    assert PostgresTask.objects.get(mongo_id=task.id).source_deleted is True
    settled = fallbacks()
    assert repo.get_by_id(task.id) is None and titles(repo) == {kept.id: "kept"}
    assert fallbacks() == settled


def test_a_create_not_yet_in_postgres_is_listed_and_found(phase: Any, embedded_postgres: Any) -> None:
    repo = get_repository("tasks")
    before = repo.create({"title": "before"})
    embedded_postgres.stop()
    try:
        created = repo.create({"title": "made while Postgres was down"})
        # Postgres cannot answer: MongoDB does.
        assert repo.get_by_id(created.id).title == "made while Postgres was down"
        assert set(titles(repo)) == {before.id, created.id}
    finally:
        embedded_postgres.start()
    from tests.conftest import wait_for_postgres

    wait_for_postgres()
    BREAKER.close()
    assert not PostgresTask.objects.filter(mongo_id=created.id).exists()
    assert repo.get_by_id(created.id).title == "made while Postgres was down"
    assert set(titles(repo)) == {before.id, created.id}
    assert fallbacks("pending") >= 2 and fallbacks("postgres_error") >= 1
    drain()
    assert mirror_differences("tasks", [before.id, created.id]) == {}
    settled = fallbacks()
    assert set(titles(repo)) == {before.id, created.id}
    assert fallbacks() == settled


def test_a_row_older_than_its_document_without_any_trace_is_not_answered(phase: Any) -> None:
    """A write behind the engine's back (no pending mark, no record): the state check catches it."""
    repo = get_repository("tasks")
    task = repo.create({"title": "old"})
    DatabaseManager.get().get_collection("tasks").update_one(
        {"_id": ObjectId(task.id)}, {"$set": {"title": "changed behind the engine"}, "$inc": {"_v": 1}}
    )
    stale = fallbacks("stale")
    assert repo.get_by_id(task.id).title == "changed behind the engine"
    assert titles(repo) == {task.id: "changed behind the engine"}
    assert fallbacks("stale") == stale + 2


def test_shadow_reads_do_not_count_a_pending_mirror_as_a_mismatch(phase: Any) -> None:
    phase.DUAL_WRITE_READ_SOURCE = {"tasks": "shadow"}
    repo = get_repository("tasks")
    task, other = repo.create({"title": "old"}), repo.create({"title": "other"})
    before = mismatches()
    with row_locked(task.id):
        repo.update(task.id, {"title": "new"})
    assert row_title(task.id) == "old"
    assert repo.get_by_id(task.id).title == "new"
    assert titles(repo) == {task.id: "new", other.id: "other"}
    assert repo.count() == 2
    with row_locked(other.id):
        repo.delete(other.id)
    assert repo.get_by_id(other.id) is None and titles(repo) == {task.id: "new"}
    assert mismatches() == before  # lag, not drift
    drain()
    assert titles(repo) == {task.id: "new"} and mismatches() == before
    # Real drift is still counted.
    PostgresTask.objects.filter(mongo_id=task.id).update(title="tampered")
    assert repo.get_by_id(task.id).title == "new"
    assert mismatches() == before + 1


def test_the_api_reads_back_a_change_whose_mirror_is_queued(phase: Any) -> None:
    me: User = get_repository(User).create(
        {"name": "Ada", "email_id": "ada@example.com", "google_id": "g-ada"}
    )
    api = Client(HTTP_AUTHORIZATION=f"Bearer {tokens.issue(me.id)}")
    body = {"title": "old", "assignee": {"assignee_id": me.id, "user_type": "user"}}
    created = api.post("/v1/tasks", body, content_type="application/json").json()["data"]
    with row_locked(created["id"]):
        response = api.patch(f"/v1/tasks/{created['id']}", {"title": "new"}, content_type="application/json")
        assert response.status_code == 200 and response.json()["title"] == "new"
    assert row_title(created["id"]) == "old"
    assert api.get(f"/v1/tasks/{created['id']}").json()["data"]["title"] == "new"
    assert [t["title"] for t in api.get("/v1/tasks").json()["tasks"]] == ["new"]
    drain()
    settled = fallbacks()
    assert api.get(f"/v1/tasks/{created['id']}").json()["data"]["title"] == "new"
    assert [t["title"] for t in api.get("/v1/tasks").json()["tasks"]] == ["new"]
    assert fallbacks() == settled
