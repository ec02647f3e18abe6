"""Fixtures and checks of the cross-process scenarios: one wire-protocol MongoDB server and one
embedded PostgreSQL for the whole run (each scenario gets its own database on both), the scenario's
deployment (its processes, all stopped after the test), and the checks that read both stores
directly, as a separate observer: pymongo on the wire server, psycopg on PostgreSQL."""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from pymongo import MongoClient
from pymongo.database import Database

from tests.crossprocess.processes import CommandResult, Deployment, SharedPostgres
from tests.faults.harness import Fleet
from tests.wire.harness import WIRE_PYTHON, wire_server

QUEUE = "dualwrite_retry_queue"
# The mapped collections by their MongoDB names (task assignments live in task_details).
MIRRORED = (
    "users", "tasks", "teams", "user_team_details", "labels", "roles", "user_roles",
    "task_details", "watchlist", "audit_logs", "team_creation_invite_codes",
)  # fmt: skip
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def wire_uri() -> Iterator[str]:
    """The wire-protocol MongoDB server of the run (skipped without .venv-wire, failed in CI)."""
    if not WIRE_PYTHON.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{WIRE_PYTHON} is missing: run `make .venv-wire/.ready`")
        pytest.skip(f"{WIRE_PYTHON} is missing (`make .venv-wire/.ready` creates it)")
    with wire_server() as uri:
        yield uri


@pytest.fixture(scope="session")
def shared_postgres(tmp_path_factory: pytest.TempPathFactory, wire_uri: str) -> Iterator[SharedPostgres]:
    server = SharedPostgres(tmp_path_factory.mktemp("crossprocess-data"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def deployment(
    shared_postgres: SharedPostgres, wire_uri: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Deployment]:
    """The scenario's service: a fresh database on both servers; its processes die after the test."""
    name = f"xp{next(_numbers)}_{os.getpid()}"
    shared_postgres.create_database(name)
    deployment = Deployment(shared_postgres, wire_uri, name, tmp_path)
    yield deployment
    deployment.close()
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        for process in deployment.processes:
            print(f"--- {process.name} (exit {process.popen.returncode}) ---\n{process.log()[-3000:]}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


def mongo(deployment: Deployment) -> Database[dict[str, Any]]:
    client: MongoClient[dict[str, Any]] = MongoClient(deployment.mongodb_uri, serverSelectionTimeoutMS=10_000)
    return client[deployment.name]


# -- the retry queue and pending marks, read from MongoDB ----------------------------------------
def unresolved(db: Database[dict[str, Any]]) -> int:
    return int(db[QUEUE].count_documents({"status": {"$in": ["PENDING", "FAILED"]}}))


def pending_marks(db: Database[dict[str, Any]]) -> int:
    return sum(int(db[c].count_documents({"_dw": {"$exists": True}})) for c in MIRRORED)


def wait_drained(db: Database[dict[str, Any]], timeout: float = 60.0) -> float:
    """Block until the retry queue holds no unresolved record and no document a pending mark (the
    worker process drains and sweeps); returns the seconds it took."""
    started = time.monotonic()
    while True:
        left, marks = unresolved(db), pending_marks(db)
        if left == 0 and marks == 0:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(
                f"not drained in {timeout} s: {left} unresolved records, {marks} pending marks"
            )
        time.sleep(0.5)


# -- verify, as a separate process ---------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    result: CommandResult
    drift: int
    by_collection: dict[str, int]


def verify(deployment: Deployment, *extra: str) -> Verdict:
    """`manage.py dualwrite verify --json` in its own process; its drift per collection."""
    result = deployment.run("dualwrite", "verify", "--json", *extra)
    assert result.returncode in (0, 1), f"verify failed to run: {result.stderr[-2000:]}"
    body = json.loads(result.stdout)
    counts = {c["collection"]: int(c.get("drift", 0)) for c in body["collections"]}
    return Verdict(result, sum(counts.values()), {k: v for k, v in counts.items() if v})


# -- every acknowledged write, in both stores ----------------------------------------------------
def lost_writes(deployment: Deployment, fleets: list[Fleet]) -> dict[str, str]:
    """{task id: what is wrong} for each task whose last acknowledged state (title, priority,
    status, deleted) MongoDB or Postgres does not hold, or whose row is not at MongoDB's version.
    Tasks whose latest write got no answer (a killed process) are checked for mirror equality only."""
    from todo.models.enums import TaskPriority

    expected = {task_id: state for fleet in fleets for task_id, state in fleet.acknowledged().items()}
    dirty = {task_id for fleet in fleets for task_id in fleet.dirty()}
    stored = {
        str(doc["_id"]): doc
        for doc in mongo(deployment)["tasks"].find({"_id": {"$in": [ObjectId(i) for i in expected]}})
    }
    with deployment.postgres.connect(deployment.name) as conn:
        rows = {
            row[0]: row[1:]
            for row in conn.execute(
                "SELECT mongo_id, title, priority, status, is_deleted, source_version, source_generation,"
                " source_deleted FROM postgres_tasks WHERE mongo_id = ANY(%s)",
                [list(expected)],
            )
        }
    problems: dict[str, str] = {}
    for task_id, state in expected.items():
        doc = stored.get(task_id)
        if doc is None:
            problems[task_id] = "not in MongoDB"
            continue
        held = (doc.get("title"), doc.get("priority"), doc.get("status"), bool(doc.get("isDeleted")))
        wanted = (state.title, TaskPriority[state.priority].value, state.status, state.deleted)
        if task_id not in dirty and held != wanted:
            problems[task_id] = f"MongoDB holds {held}, acknowledged {wanted}"
            continue
        row = rows.get(task_id)
        mirrored = (*held, doc.get("_v"), str(doc.get("_gen")), False)
        if row is None:
            problems[task_id] = "no row in Postgres"
        elif tuple(row) != mirrored:
            problems[task_id] = f"Postgres holds {tuple(row)}, MongoDB {mirrored}"
    return problems


def figures(scenario: str, **values: Any) -> str:
    """One line of a scenario's figures (printed with -s, and in the README's table)."""
    line = f"[crossprocess {scenario}] " + " ".join(f"{k}={v}" for k, v in values.items())
    print(line)
    return line
