"""`manage.py dualwrite backfill|verify|status`: results, exit codes, and operator mistakes that end
with one clear line, change nothing and never show a traceback."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from pymongo.errors import ServerSelectionTimeoutError

from todo.services import health_service
from todo.wiring import build_checkpoints

from .conftest import insert_tasks

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("dualwrite", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM postgres_tasks")
        return int(cursor.fetchone()[0])


def test_backfill_verify_status_round_trip(tasks: Any) -> None:
    insert_tasks(tasks, 120)
    out = _run("backfill", "--collection", "tasks", "--batch-size", "50")
    assert "tasks 0/1: 120 documents, 120 written, 0 kept (newer in Postgres), 0 rejected" in out
    assert "tasks: 120 documents, 120 rows: equal" in _run("verify", "--collection", "tasks")
    status = _run("status")
    line = next(row for row in status.splitlines() if row.startswith("tasks "))
    assert line.split()[:6] == ["tasks", "120", "120", "0", "0", "0"]
    assert "equal at" in line
    rows = json.loads(_run("status", "--json"))
    tasks_status = next(r for r in rows if r["collection"] == "tasks")
    assert tasks_status["last_verify"]["equal"] is True
    assert tasks_status["backfill"][0]["status"] == "finished"


def test_verify_exits_1_on_drift_with_a_json_report_and_0_after_repair(tasks: Any) -> None:
    insert_tasks(tasks, 30)
    _run("backfill", "--collection", "tasks")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE postgres_tasks SET title = 'x' WHERE mongo_id = (SELECT min(mongo_id) FROM postgres_tasks)"
        )
    out = io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command(
            "dualwrite", "verify", "--collection", "tasks", "--json", stdout=out, stderr=io.StringIO()
        )
    assert info.value.returncode == 1
    report = json.loads(out.getvalue())
    assert report["equal"] is False
    assert report["collections"][0]["counts"]["different"] == 1
    assert report["collections"][0]["samples"][0]["fields"] == ["title"]
    repaired = _run("verify", "--collection", "tasks", "--repair")
    assert "repair: 1 found, 1 mended: equal" in repaired


MISTAKES = [
    (["backfill", "--collection", "nope"], "unknown collection 'nope'"),
    (["backfill", "--shard", "3/3"], "invalid shard '3/3'"),
    (["backfill", "--shard", "two"], "invalid shard 'two'"),
    (["backfill", "--batch-size", "0"], "--batch-size must be from 1 to"),
    (["verify", "--collection", "nope"], "unknown collection 'nope'"),
    (["verify", "--since", "yesterday-ish"], "invalid --since"),
]


@pytest.mark.parametrize(("args", "message"), MISTAKES, ids=[" ".join(a) for a, _ in MISTAKES])
def test_operator_mistakes_end_with_one_line_and_change_nothing(
    tasks: Any, args: list[str], message: str
) -> None:
    insert_tasks(tasks, 5)
    with pytest.raises(CommandError) as info:
        _run(*args)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert info.value.returncode == 2
    assert _rows() == 0 and build_checkpoints().coll.count_documents({}) == 0


@pytest.mark.parametrize("action", ["backfill", "verify", "status"])
def test_unreachable_store_is_one_line_and_changes_nothing(
    tasks: Any, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    insert_tasks(tasks, 5)

    def refuse() -> None:
        raise ServerSelectionTimeoutError("mongodb://admin:hunter2@db:27017 refused")

    monkeypatch.setitem(health_service.PROBES, "mongodb", refuse)
    with pytest.raises(CommandError) as info:
        _run(action)
    message = str(info.value)
    assert (
        message.startswith("cannot ")
        and "mongodb is down: unreachable (ServerSelectionTimeoutError); nothing was changed" in message
    )
    assert "hunter2" not in message and info.value.returncode == 2
    assert _rows() == 0 and build_checkpoints().coll.count_documents({}) == 0


def test_stopped_postgres_is_one_line(tasks: Any, embedded_postgres: Any) -> None:
    embedded_postgres.stop()
    try:
        with pytest.raises(CommandError) as info:
            _run("backfill", "--collection", "tasks")
    finally:
        embedded_postgres.start()
    assert str(info.value).startswith("cannot backfill: postgres is down: unreachable")


def test_plain_progress_lines_when_not_a_terminal() -> None:
    from todo.management.progress import Progress

    out = io.StringIO()
    progress = Progress(out, "backfill tasks 0/1", tty=False, interval=0)
    progress(0, 1000)
    progress(500, 1000)
    assert "backfill tasks 0/1: 500/1000 (50%)" in out.getvalue() and "ETA" in out.getvalue()


def test_command_line_refuses_with_the_in_process_mongodb() -> None:
    """A separate process would see an empty stand-in: verify --repair would tombstone every row."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "manage.py", "dualwrite", "verify", "--repair"],
        cwd=root,
        env={"PATH": "/usr/bin:/bin", "POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": "9"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "the in-process MongoDB lives inside the running service" in result.stderr
    assert "Traceback" not in result.stderr
