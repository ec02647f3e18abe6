import time
from collections.abc import Callable

import pytest
from django.test import Client

from todo.db.embedded_postgres import EmbeddedPostgres
from todo.services import health_service


def test_health_up_when_both_stores_answer(client: Client, mongo_db) -> None:
    response = client.get("/v1/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "UP",
        "components": {"mongodb": {"status": "UP"}, "postgres": {"status": "UP"}},
        "dualWrite": {"pending": 0, "failed": 0, "oldestPendingAgeSeconds": None},
    }


def test_stopped_postgres_is_reported_and_recovery_needs_no_restart(
    client: Client, embedded_postgres: EmbeddedPostgres
) -> None:
    embedded_postgres.stop()
    try:
        response = client.get("/v1/health")
        body = response.json()
        assert response.status_code == 503
        assert body["status"] == "DOWN"
        assert body["components"]["postgres"]["status"] == "DOWN"
        assert body["components"]["mongodb"] == {"status": "UP"}
        reason = body["components"]["postgres"]["reason"]
        assert "todo_password" not in reason and "todo_user" not in reason
    finally:
        embedded_postgres.start()
    response = client.get("/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "UP"


def _replace_probe(monkeypatch: pytest.MonkeyPatch, name: str, probe: Callable[[], None]) -> None:
    monkeypatch.setitem(health_service.PROBES, name, probe)


def test_hanging_store_answers_within_two_seconds(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    _replace_probe(monkeypatch, "mongodb", lambda: time.sleep(5))
    started = time.monotonic()
    response = client.get("/v1/health")
    elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert response.status_code == 503
    assert response.json()["components"]["mongodb"]["status"] == "DOWN"
    assert response.json()["components"]["postgres"] == {"status": "UP"}


def test_failing_mongodb_is_reported_by_error_class(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from pymongo.errors import ServerSelectionTimeoutError

    def refuse() -> None:
        raise ServerSelectionTimeoutError("mongodb://admin:hunter2@db:27017 refused")

    _replace_probe(monkeypatch, "mongodb", refuse)
    response = client.get("/v1/health")
    assert response.status_code == 503
    component = response.json()["components"]["mongodb"]
    assert component == {"status": "DOWN", "reason": "unreachable (ServerSelectionTimeoutError)"}


@pytest.mark.django_db(transaction=True)
def test_health_shows_the_dual_write_backlog(client: Client, mongo_db, embedded_postgres) -> None:
    from bson import ObjectId

    from todo.services.dual_write_service import DualWriteService

    embedded_postgres.stop()
    try:
        DualWriteService().create_document(
            collection_name="labels", data={"name": "Bug"}, mongo_id=str(ObjectId())
        )
        body = client.get("/v1/health").json()
    finally:
        embedded_postgres.start()
    assert body["dualWrite"]["pending"] == 1 and body["dualWrite"]["failed"] == 0
    assert body["dualWrite"]["oldestPendingAgeSeconds"] >= 0
    assert body["components"]["postgres"]["status"] == "DOWN"
