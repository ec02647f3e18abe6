"""Operations in postgres_only read their state from Postgres: /metrics shows the writes waiting to
go back to MongoDB, the dashboard works, and `dualwrite phase` / `verify --reverse` answer — with
MongoDB down."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from bson import ObjectId
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from pymongo.errors import AutoReconnect

from todo.db.mongo_manager import DatabaseManager
from todo.models.documents import Task
from todo.repositories.factory import get_repository
from todo.wiring import build_reverse_mirror

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def postgres_only(mongo_db: Any, settings: Any) -> Any:
    settings.MIGRATION_PHASE = "postgres_only"
    return settings


@pytest.fixture
def mongodb_down(monkeypatch: pytest.MonkeyPatch) -> None:
    def down(self: DatabaseManager, name: str) -> Any:
        raise AutoReconnect("MongoDB is down (test)")

    monkeypatch.setattr(DatabaseManager, "get_collection", down)


def test_metrics_show_the_writes_waiting_for_mongodb(postgres_only: Any, mongodb_down: None) -> None:
    get_repository(Task).create({"title": "waits for MongoDB"})
    body = Client().get("/metrics").content.decode()
    assert 'dualwrite_reverse_backlog{collection="tasks"} 1.0' in body
    assert "dualwrite_retry_backlog" not in body  # the MongoDB queue is not read in this phase


def test_dashboard_works_with_mongodb_down(
    postgres_only: Any, mongodb_down: None, django_user_model: Any
) -> None:
    get_repository(Task).create({"title": "waits for MongoDB"})
    django_user_model.objects.create_superuser("ops", "ops@example.com", "a-long-password-1")
    client = Client()
    client.login(username="ops", password="a-long-password-1")
    page = client.get("/ops/sync")
    assert page.status_code == 200
    text = page.content.decode()
    assert "PostgreSQL → MongoDB" in text
    assert 'id="total-pending">1<' in text


def test_reverse_verify_finds_and_repairs_drift(postgres_only: Any) -> None:
    repo = get_repository(Task)
    kept, edited, untouched = (repo.create({"title": t}) for t in ("kept", "edited", "untouched"))
    build_reverse_mirror().drain()
    tasks = DatabaseManager.get().get_collection("tasks")
    tasks.update_one(
        {"_id": kept.id and __import__("bson").ObjectId(edited.id)}, {"$set": {"title": "changed in MongoDB"}}
    )
    tasks.delete_one({"_id": __import__("bson").ObjectId(kept.id)})
    stray = tasks.insert_one({"title": "only in MongoDB"}).inserted_id
    out = StringIO()
    with pytest.raises(CommandError, match="drift in 1 collection"):
        call_command("dualwrite", "verify", "--reverse", "--collection", "tasks", stdout=out)
    assert "DRIFT 3 (missing 1, extra 1, differing 1)" in out.getvalue()
    call_command("dualwrite", "verify", "--reverse", "--collection", "tasks", "--repair", stdout=StringIO())
    build_reverse_mirror().drain()
    call_command("dualwrite", "verify", "--reverse", "--collection", "tasks", stdout=StringIO())  # equal now
    assert tasks.find_one({"_id": stray}) is None
    assert tasks.find_one({"_id": ObjectId(edited.id)})["title"] == "edited"
    assert tasks.find_one({"_id": ObjectId(kept.id)})["title"] == "kept"
    assert tasks.find_one({"_id": ObjectId(untouched.id)})["title"] == "untouched"


def test_phase_command_names_what_is_not_ready(postgres_only: Any, settings: Any) -> None:
    call_command("dualwrite", "phase", "--enter", stdout=StringIO())  # a first start: nothing to check
    get_repository(Task).create({"title": "not yet in MongoDB"})
    settings.MIGRATION_PHASE = "dual_write"
    out = StringIO()
    with pytest.raises(CommandError, match="not ready"):
        call_command("dualwrite", "phase", stdout=out)
    assert "1 Postgres write(s) not yet written back to MongoDB" in out.getvalue()
    with pytest.raises(CommandError, match="cannot enter dual_write from postgres_only"):
        call_command("dualwrite", "phase", "--enter", stdout=StringIO())
    call_command("dualwrite", "phase", "--enter", "--force", stdout=StringIO())
    out = StringIO()
    call_command("dualwrite", "phase", stdout=out)
    assert "recorded: dual_write" in out.getvalue()
