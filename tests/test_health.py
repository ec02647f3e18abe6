"""GET /v1/health by migration phase: the phase's store of record decides UP/DOWN (503 only when it
is down), the other store being down is DEGRADED (200), a retired MongoDB is not probed."""

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from pymongo.errors import ServerSelectionTimeoutError

from todo.db.embedded_postgres import EmbeddedPostgres
from todo.services import health_service

UP = {"status": "UP"}
EMPTY_BACKLOG = {
    "direction": "mongodb_to_postgres",
    "pending": 0,
    "failed": 0,
    "oldestPendingAgeSeconds": None,
}
NOTHING_TO_WRITE_BACK = {
    "direction": "postgres_to_mongodb",
    "pending": 0,
    "failed": 0,
    "oldestPendingAgeSeconds": None,
}


def _replace_probe(monkeypatch: pytest.MonkeyPatch, name: str, probe: Callable[[], None]) -> None:
    monkeypatch.setitem(health_service.PROBES, name, probe)


def _refuse() -> None:
    raise ServerSelectionTimeoutError("mongodb://admin:hunter2@db:27017 refused")


def _mongodb_down(monkeypatch: pytest.MonkeyPatch) -> None:
    _replace_probe(monkeypatch, "mongodb", _refuse)


MONGODB_DOWN = {"status": "DOWN", "reason": "unreachable (ServerSelectionTimeoutError)"}


@pytest.fixture
def phase(settings: Any, mongo_db: Any) -> Callable[..., None]:
    """phase("read_migration") etc.; `retired` is postgres_only with MONGODB_RETIRED=true."""

    def switch(name: str, *, retired: bool = False) -> None:
        settings.MIGRATION_PHASE = name
        settings.MONGODB_RETIRED = retired
        if name == "read_migration":
            settings.DUAL_WRITE_READ_SOURCE = {"tasks": "postgres"}

    return switch


def _get(client: Client) -> tuple[int, dict[str, Any]]:
    response = client.get("/v1/health")
    return response.status_code, response.json()


# == dual_write and read_migration: MongoDB is the store of record ===================================
@pytest.mark.django_db(transaction=True)  # the phase is a runtime flag in Postgres
@pytest.mark.parametrize("name", ["dual_write", "read_migration"])
def test_up_when_both_stores_answer(client: Client, phase: Callable[..., None], name: str) -> None:
    phase(name)
    assert _get(client) == (
        200,
        {
            "status": "UP",
            "phase": name,
            "components": {"mongodb": UP, "postgres": UP},
            "dualWrite": EMPTY_BACKLOG,
        },
    )


@pytest.mark.django_db(transaction=True)  # the phase is a runtime flag in Postgres
@pytest.mark.parametrize("name", ["dual_write", "read_migration"])
def test_mongodb_down_is_down(
    client: Client, phase: Callable[..., None], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    phase(name)
    _mongodb_down(monkeypatch)
    status, body = _get(client)
    assert status == 503
    assert (body["status"], body["phase"]) == ("DOWN", name)
    assert body["components"] == {"mongodb": MONGODB_DOWN, "postgres": UP}


@pytest.mark.django_db(transaction=True)  # the phase is a runtime flag in Postgres
def test_stopped_postgres_is_degraded_in_dual_write_and_recovery_needs_no_restart(
    client: Client, phase: Callable[..., None], embedded_postgres: EmbeddedPostgres
) -> None:
    phase("dual_write")
    embedded_postgres.stop()
    try:
        status, body = _get(client)
        assert status == 200 and body["status"] == "DEGRADED"
        assert body["components"]["postgres"]["status"] == "DOWN"
        assert body["components"]["mongodb"] == UP
        assert body["dualWrite"] == EMPTY_BACKLOG  # the backlog stays visible
        reason = body["components"]["postgres"]["reason"]
        assert "todo_password" not in reason and "todo_user" not in reason
    finally:
        embedded_postgres.start()
    status, body = _get(client)
    assert status == 200 and body["status"] == "UP"


@pytest.mark.django_db(transaction=True)
def test_stopped_postgres_is_degraded_in_read_migration_as_its_reads_fall_back(
    client: Client, phase: Callable[..., None], embedded_postgres: EmbeddedPostgres
) -> None:
    from todo.repositories.factory import get_repository

    phase("read_migration")
    task = get_repository("tasks").create({"title": "readable"})
    embedded_postgres.stop()
    try:
        status, body = _get(client)
        # Reads routed to Postgres are answered by MongoDB meanwhile: the service works.
        assert get_repository("tasks").get_by_id(task.id).title == "readable"
    finally:
        embedded_postgres.start()
    assert status == 200
    assert (body["status"], body["phase"]) == ("DEGRADED", "read_migration")
    assert body["components"]["postgres"]["status"] == "DOWN"


# == postgres_only: Postgres is the store of record ==================================================
@pytest.mark.django_db
def test_postgres_only_with_mongodb_down_is_degraded_and_reads_no_retry_queue(
    client: Client, phase: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    phase("postgres_only")
    _mongodb_down(monkeypatch)
    read: list[bool] = []
    monkeypatch.setattr(health_service, "_read_backlog", lambda: read.append(True) or {})
    assert _get(client) == (
        200,
        {
            "status": "DEGRADED",
            "phase": "postgres_only",
            "components": {"mongodb": MONGODB_DOWN, "postgres": UP},
            # What waits in Postgres to be written back (read from Postgres, not MongoDB's queue).
            "dualWrite": NOTHING_TO_WRITE_BACK,
        },
    )
    assert read == []


@pytest.mark.django_db
def test_postgres_only_with_postgres_down_is_down(
    client: Client, phase: Callable[..., None], embedded_postgres: EmbeddedPostgres
) -> None:
    phase("postgres_only")
    embedded_postgres.stop()
    try:
        status, body = _get(client)
    finally:
        embedded_postgres.start()
    assert status == 503
    assert (body["status"], body["components"]["mongodb"]) == ("DOWN", UP)
    assert body["components"]["postgres"]["status"] == "DOWN"


@pytest.mark.django_db(transaction=True)  # the phase is a runtime flag in Postgres
def test_postgres_only_with_mongodb_retired_probes_postgres_only(
    client: Client, phase: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    phase("postgres_only", retired=True)
    probed: list[str] = []

    def must_not_probe() -> None:
        probed.append("mongodb")
        _refuse()

    _replace_probe(monkeypatch, "mongodb", must_not_probe)
    assert _get(client) == (
        200,
        {
            "status": "UP",
            "phase": "postgres_only",
            "components": {"mongodb": {"status": "RETIRED"}, "postgres": UP},
            "dualWrite": {"status": "NOT_USED"},
        },
    )
    assert probed == []


@pytest.mark.django_db(transaction=True)  # the phase is a runtime flag in Postgres
def test_postgres_only_with_mongodb_retired_and_postgres_down_is_down(
    client: Client, phase: Callable[..., None], embedded_postgres: EmbeddedPostgres
) -> None:
    phase("postgres_only", retired=True)
    embedded_postgres.stop()
    try:
        status, body = _get(client)
    finally:
        embedded_postgres.start()
    assert status == 503 and body["status"] == "DOWN"
    assert body["components"]["mongodb"] == {"status": "RETIRED"}
    assert body["components"]["postgres"]["status"] == "DOWN"


# == deadlines, reasons, backlog ======================================================================
@pytest.mark.django_db(transaction=True)  # the phase is a runtime flag in Postgres
def test_hanging_store_answers_within_two_seconds(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    _replace_probe(monkeypatch, "mongodb", lambda: time.sleep(5))
    started = time.monotonic()
    response = client.get("/v1/health")
    elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert response.status_code == 503
    assert response.json()["components"]["mongodb"]["status"] == "DOWN"
    assert response.json()["components"]["postgres"] == {"status": "UP"}


@pytest.mark.django_db
def test_hanging_postgres_in_postgres_only_answers_within_two_seconds(
    client: Client, phase: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    phase("postgres_only")
    _replace_probe(monkeypatch, "postgres", lambda: time.sleep(5))
    started = time.monotonic()
    status, body = _get(client)
    assert time.monotonic() - started < 2.0
    assert status == 503 and body["status"] == "DOWN"
    assert body["components"]["postgres"]["reason"].startswith("no answer within")


@pytest.mark.django_db(transaction=True)  # the phase is a runtime flag in Postgres
def test_failing_mongodb_is_reported_by_error_class(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    _mongodb_down(monkeypatch)
    response = client.get("/v1/health")
    assert response.status_code == 503
    component = response.json()["components"]["mongodb"]
    assert component == MONGODB_DOWN
    assert "hunter2" not in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_health_shows_the_dual_write_backlog(client: Client, mongo_db, embedded_postgres) -> None:
    from bson import ObjectId

    from todo.services.dual_write_service import DualWriteService

    embedded_postgres.stop()
    try:
        DualWriteService().create_document(
            collection_name="labels", data={"name": "Bug"}, mongo_id=str(ObjectId())
        )
        response = client.get("/v1/health")
    finally:
        embedded_postgres.start()
    body = response.json()
    assert response.status_code == 200 and body["status"] == "DEGRADED"
    assert body["dualWrite"]["pending"] == 1 and body["dualWrite"]["failed"] == 0
    assert body["dualWrite"]["oldestPendingAgeSeconds"] >= 0
    assert body["components"]["postgres"]["status"] == "DOWN"
