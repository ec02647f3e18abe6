"""Seeding: the default labels and roles, created once, idempotently, and mirrored to Postgres."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from tests.engine.helpers import mirror_differences, mongo_ids
from todo.models.postgres import PostgresLabel, PostgresRole
from todo.services.seed_service import LABELS, seed_reference_data

pytestmark = pytest.mark.django_db(transaction=True)

EXPECTED_LABELS = {
    ("Feature", "#22c55e"),
    ("Bug", "#ef4444"),
    ("Refactoring/Optimization", "#f59e0b"),
    ("API", "#3b82f6"),
    ("UI/UX", "#8b5cf6"),
    ("Testing", "#06b6d4"),
    ("Documentation", "#64748b"),
    ("Review", "#ec4899"),
}
EXPECTED_ROLES = {("moderator", "GLOBAL"), ("owner", "TEAM"), ("admin", "TEAM"), ("member", "TEAM")}


def test_seeding_creates_labels_and_roles_in_both_stores(mongo_db) -> None:
    result = seed_reference_data()
    assert (result.labels_created, result.roles_created) == (8, 4)
    rows = PostgresLabel.objects.filter(source_deleted=False)
    assert {(r.name, r.color) for r in rows} == EXPECTED_LABELS == set(LABELS)
    assert {r.created_by for r in rows} == {"system"} and all(r.created_at for r in rows)
    assert {(r.name, r.scope) for r in PostgresRole.objects.filter(source_deleted=False)} == EXPECTED_ROLES
    assert mirror_differences("labels", mongo_ids("labels")) == {}
    assert mirror_differences("roles", mongo_ids("roles")) == {}


def test_seeding_is_idempotent(mongo_db) -> None:
    seed_reference_data()
    again = seed_reference_data()
    assert (again.labels_created, again.roles_created) == (0, 0)
    assert len(mongo_ids("labels")) == 8 and PostgresLabel.objects.count() == 8
    assert len(mongo_ids("roles")) == 4 and PostgresRole.objects.count() == 4


def test_seed_command_reports_and_is_idempotent(mongo_db) -> None:
    out = StringIO()
    call_command("seed", stdout=out)
    call_command("seed", stdout=out)
    assert out.getvalue().splitlines() == ["Seeded 8 labels and 4 roles", "Seeded 0 labels and 0 roles"]


def test_seeded_labels_are_listed_by_the_api(mongo_db, api) -> None:
    seed_reference_data()
    body = api.get("/v1/labels", {"limit": 200}).json()
    assert {(x["name"], x["color"]) for x in body["labels"]} == EXPECTED_LABELS


def test_serve_seeds_at_start(tmp_path) -> None:
    """`manage.py serve` (as `make run` starts it) seeds before it answers."""
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    from tests.test_serve import ROOT, _free_port

    port = _free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATA_DIR": str(tmp_path / "data"),
           "POSTGRES_PORT": str(_free_port())}  # fmt: skip
    log = (tmp_path / "serve.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)], cwd=ROOT, env=env, stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        answered = False
        while not answered and time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=5):
                    answered = True
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        assert answered, "service did not answer /v1/health"
        log.seek(0)
        assert "Seeded 8 labels and 4 roles" in log.read()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
