"""MongoDB refuses some task writes (AutoReconnect) while concurrent clients write through the
real HTTP API: the failed requests fail cleanly, nothing of them reaches MongoDB or Postgres, and
every acknowledged write is in both stores with zero drift."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from pymongo.errors import AutoReconnect

from tests.faults.conftest import drain, drift, lost_writes, pending_records
from tests.faults.harness import Fleet
from todo.db.mongo_manager import DatabaseManager

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

FAIL_EVERY = 4  # every 4th write to the tasks collection is refused


def _inject(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Make every FAIL_EVERY-th insert_one / find_one_and_update on `tasks` raise AutoReconnect
    before anything is written (the driver's collection class, whichever client is in use)."""
    cls = type(DatabaseManager.get().get_collection("tasks"))
    counts = {"calls": 0, "raised": 0}
    lock = threading.Lock()

    def faulty(original: Callable[..., Any]) -> Callable[..., Any]:
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            if self.name == "tasks":
                with lock:
                    counts["calls"] += 1
                    fail = counts["calls"] % FAIL_EVERY == 0
                    counts["raised"] += fail
                if fail:
                    raise AutoReconnect("injected: connection to the primary lost")
            return original(self, *args, **kwargs)

        return method

    for name in ("insert_one", "find_one_and_update"):
        monkeypatch.setattr(cls, name, faulty(getattr(cls, name)))
    return counts


@pytest.fixture
def faulty_run(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> Fleet:
    counts = _inject(monkeypatch)
    fleet.run()
    monkeypatch.undo()
    print(fleet.summary("mongo errors"))
    print(f"[mongo errors] tasks writes tried={counts['calls']} refused={counts['raised']}")
    assert counts["raised"] > 0
    if fleet.failures():
        first = fleet.failures()[0]
        print(f"[mongo errors] a failed request: {first.status} {first.content_type!r} {first.body!r}")
    return fleet


def test_mongo_write_errors_leave_no_trace_and_lose_no_acknowledged_write(faulty_run: Fleet) -> None:
    fleet = faulty_run
    failed = fleet.failures()
    assert failed, "no request failed: the injection did not hit"
    assert all(o.write for o in failed)  # reads never failed
    assert all(o.status >= 500 for o in failed)  # a server-side failure, never a 2xx nor a 4xx
    # Nothing of a failed write reached MongoDB: no task of a failed create exists, and every task
    # (those whose latest write failed included) holds what its last acknowledged write left.
    tasks = DatabaseManager.get().get_collection("tasks")
    assert tasks.count_documents({"title": {"$in": fleet.failed_creates()}}) == 0
    assert lost_writes(fleet, failed_writes_left_no_trace=True) == {}
    # ...nor Postgres: nothing was queued for them, and verify finds the two stores equal.
    assert pending_records() == []
    drain()
    assert drift() == {}


def test_mongo_write_error_answers_503_in_the_json_error_shape(faulty_run: Fleet) -> None:
    """A write MongoDB refused is a 503 in the API's JSON error shape (it was an HTML 500 'Server
    Error' while todo.api.errors.exception_handler let PyMongoError through)."""
    failed = faulty_run.failures()
    assert failed
    for outcome in failed:
        assert outcome.status == 503, outcome
        assert outcome.content_type.startswith("application/json"), outcome
        assert isinstance(outcome.body, dict) and outcome.body.get("statusCode") == 503, outcome
        assert {"message", "errors"} <= set(outcome.body), outcome
