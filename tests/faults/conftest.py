"""Fixtures of the fault suite: the size knob, the real HTTP service (pytest-django's live server,
a thread of this process, so it shares the in-process MongoDB), signed-in client fleets, and the
checks that follow every fault: drain the retry queue, verify every collection, and find every
acknowledged write in MongoDB and, equal, in Postgres."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
from bson import ObjectId

from tests.engine.helpers import mirror_differences
from tests.faults.harness import Fleet, sign_in
from todo.db.mongo_manager import DatabaseManager
from todo.mappings import get_registry
from todo.models.enums import TaskPriority
from todo.wiring import build_verifier, build_worker


@dataclass(frozen=True)
class FaultSize:
    """How hard each scenario pushes: clients, requests per client, and the fault's duration."""

    name: str
    clients: int
    operations: int
    fault_seconds: float


SIZES = {
    "small": FaultSize("small", clients=4, operations=30, fault_seconds=1.5),
    "large": FaultSize("large", clients=16, operations=150, fault_seconds=5.0),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fault-size",
        choices=sorted(SIZES),
        default="small",
        help="size of the fault-injection scenarios (small: the default run; large: make test-faults)",
    )


@pytest.fixture
def size(request: pytest.FixtureRequest) -> FaultSize:
    return SIZES[request.config.getoption("--fault-size", default="small")]


@pytest.fixture
def service(live_server: Any, mongo_db: Any, settings: Any, tmp_path: Any) -> str:
    """The base URL of the real HTTP API on an empty MongoDB; retries are due at once; the local
    sign-in's secret is written as `serve` writes it."""
    from todo.auth import local_secret

    settings.DUAL_WRITE_RETRY_DELAY = 0
    settings.DATA_DIR = tmp_path
    local_secret.write_new_secret()
    return str(live_server.url)


@pytest.fixture
def fleet(service: str, size: FaultSize) -> Fleet:
    """Signed-in clients (each signs in over HTTP; its user is created and mirrored), not started."""
    tokens = [sign_in(service, f"client{i}@example.com") for i in range(size.clients)]
    return Fleet(service, tokens, operations=size.operations, seed=size.clients)


def drain(deadline: float = 60.0, name: str | None = None) -> int:
    """Run a fresh worker until nothing is due; returns how many records it applied."""
    worker = build_worker(name=name)
    applied = 0
    stop_at = time.monotonic() + deadline
    while time.monotonic() < stop_at:
        report = worker.run_once()
        applied += report.succeeded
        if report.processed == 0 and report.postponed == 0:
            return applied
        if report.postponed:
            time.sleep(0.2)
    pytest.fail(f"the worker did not drain the retry queue in {deadline} s")


def drift() -> dict[str, dict[str, int]]:
    """Verify every mirrored collection; {collection: drift counts} of those that differ."""
    found = {}
    for mapping in get_registry():
        report = build_verifier().run(mapping)
        if not report.equal:
            found[mapping.collection] = {k: v for k, v in report.counts.items() if v}
    return found


def pending_records() -> list[dict[str, Any]]:
    from dualwrite.queue import QUEUE_COLLECTION, UNRESOLVED

    queue = DatabaseManager.get().get_collection(QUEUE_COLLECTION)
    return list(queue.find({"status": {"$in": UNRESOLVED}}))


def lost_writes(fleet: Fleet, *, failed_writes_left_no_trace: bool = False) -> dict[str, str]:
    """{task_id: what is wrong} for every acknowledged write whose state MongoDB or Postgres does
    not hold. Tasks whose latest write was not acknowledged are only checked for mirror equality,
    unless `failed_writes_left_no_trace` (then they too must hold the last acknowledged state)."""
    tasks = DatabaseManager.get().get_collection("tasks")
    expected = fleet.acknowledged()
    dirty = set() if failed_writes_left_no_trace else fleet.dirty()
    stored = {str(d["_id"]): d for d in tasks.find({"_id": {"$in": [ObjectId(i) for i in expected]}})}
    problems: dict[str, str] = {}
    for task_id, state in expected.items():
        document = stored.get(task_id)
        if document is None:
            problems[task_id] = "not in MongoDB"
            continue
        if task_id in dirty:
            continue
        held = (document.get("title"), document.get("priority"), document.get("status"),
                bool(document.get("isDeleted")))  # fmt: skip
        wanted = (state.title, TaskPriority[state.priority].value, state.status, state.deleted)
        if held != wanted:
            problems[task_id] = f"MongoDB holds {held}, acknowledged {wanted}"
    for task_id, problem in mirror_differences("tasks", list(expected)).items():
        problems.setdefault(task_id, f"Postgres: {problem}")
    return problems
