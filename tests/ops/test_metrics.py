"""GET /metrics: Prometheus text with the engine's counters and histograms, backlog gauges, the last
verify drift; not public (token, else loopback only)."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from dualwrite.policy import ErrorKind
from todo.mappings import get_registry
from todo.services.dual_write_service import DualWriteService
from todo.wiring import build_queue, build_verifier

pytestmark = pytest.mark.django_db


def _samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def test_metrics_from_loopback_shows_engine_backlog_and_verify(ops_db: Any, client: Client) -> None:
    service = DualWriteService()
    service.create_document("tasks", {"title": "counted"}, str(ObjectId()))
    build_queue().record_failure(
        "labels", str(ObjectId()), "update", "OperationalError: down", ErrorKind.TRANSIENT
    )
    build_verifier().run(get_registry().get("tasks"))
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = _samples(response.content.decode())
    assert (
        samples[
            (
                "dualwrite_events_total",
                (("collection", "tasks"), ("event", "succeeded"), ("operation", "create")),
            )
        ]
        >= 1
    )
    assert ("dualwrite_postgres_write_seconds_count", (("collection", "tasks"),)) in samples
    assert samples[("dualwrite_retry_backlog", (("collection", "labels"), ("status", "PENDING")))] == 1
    assert samples[("dualwrite_retry_oldest_pending_age_seconds", (("collection", "labels"),))] >= 0
    assert samples[("dualwrite_verify_drift", (("collection", "tasks"), ("kind", "missing")))] == 0
    assert ("dualwrite_verify_last_run_timestamp_seconds", (("collection", "tasks"),)) in samples
    assert samples[("dualwrite_ops_source_up", ())] == 1
    assert "dualwrite_shadow_read_mismatches_total" in response.content.decode()


def test_metrics_refuses_other_networks_without_a_token(ops_db: Any, client: Client) -> None:
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403


def test_metrics_networks_are_a_setting(ops_db: Any, client: Client, settings: Any) -> None:
    import ipaddress

    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.0.0.0/8")]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_metrics_token_when_set_is_required_from_everywhere(
    ops_db: Any, client: Client, settings: Any
) -> None:
    settings.METRICS_TOKEN = "s3cret-token-of-some-length"
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401
    wrong = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 401 and wrong["WWW-Authenticate"].startswith("Bearer")
    right = client.get(
        "/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer s3cret-token-of-some-length"
    )
    assert right.status_code == 200


def test_metrics_settings_are_validated_in_config() -> None:
    from todo_project.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="invalid setting METRICS_ALLOWED_NETWORKS"):
        load_config({"METRICS_ALLOWED_NETWORKS": "10.0.0.0/8,not-a-net"})
    with pytest.raises(ConfigError, match="invalid setting METRICS_TOKEN: expected a token of at least 16"):
        load_config({"METRICS_TOKEN": "short"})
    assert load_config({}).METRICS_TOKEN is None


def test_unreadable_mongodb_is_a_gauge_not_an_error(
    ops_db: Any, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pymongo.errors import ServerSelectionTimeoutError

    from dualwrite.status import StatusReader

    def down(self: StatusReader) -> None:
        raise ServerSelectionTimeoutError("down")

    monkeypatch.setattr(StatusReader, "backlog", down)
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert _samples(response.content.decode())[("dualwrite_ops_source_up", ())] == 0


def test_several_web_processes_sum_their_counters(settings, tmp_path, mongo_db, monkeypatch) -> None:
    """With PROMETHEUS_MULTIPROC_DIR (gunicorn), /metrics adds up the counter files of every
    process: here one written as another process (pid 4242) writes it."""
    from prometheus_client import CollectorRegistry, Counter, values

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    settings.PROMETHEUS_MULTIPROC_DIR = tmp_path
    monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue(lambda: 4242))
    Counter("dualwrite_test_events", "written by another process", registry=CollectorRegistry()).inc(3)
    body = Client().get("/metrics").content.decode()
    assert "dualwrite_test_events_total 3.0" in body
