"""Scenario 2: a web process SIGKILLed in the middle of writes, with writes caught between their
MongoDB write and their Postgres mirror (the test holds a lock on the tasks mirror table, and the
process waits for it): after a web process is started again and the worker process has swept the
stale pending marks and drained, verify (a process) finds zero drift: the crash-window guarantee
across a real crash."""

from __future__ import annotations

import threading
import time

import pytest

from tests.crossprocess.conftest import figures, lost_writes, mongo, verify, wait_drained
from tests.crossprocess.processes import Deployment
from tests.faults.harness import Fleet

pytestmark = pytest.mark.crossprocess

CLIENTS = 3
IN_FLIGHT = 3  # writes caught between their two stores when the process dies


def _hold_lock(deployment: Deployment, locked: threading.Event, release: threading.Event) -> None:
    with deployment.postgres.connect(deployment.name) as conn:
        with conn.transaction():
            conn.execute("LOCK TABLE postgres_tasks IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(60)


def _marked_tasks(deployment: Deployment) -> set[str]:
    return {str(d["_id"]) for d in mongo(deployment)["tasks"].find({"_dw": {"$exists": True}}, {"_id": 1})}


def test_web_process_sigkilled_between_its_two_writes_leaves_no_drift(deployment: Deployment) -> None:
    started = time.monotonic()
    # The mirror write waits for the lock (up to 30 s) instead of giving up after 200 ms and queueing.
    web = deployment.start_web(
        "web-a", DUAL_WRITE_LOCK_TIMEOUT_MS="30000", DUAL_WRITE_STATEMENT_TIMEOUT_MS="40000"
    )
    worker = deployment.start_worker("worker")
    tokens = [deployment.issue_token(f"webcrash{i}@example.com") for i in range(CLIENTS)]
    before = Fleet(web.base_url or "", tokens, operations=40, seed=20).start()
    before.wait_for(2 * CLIENTS)
    locked, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(deployment, locked, release))
    holder.start()
    try:
        assert locked.wait(10)
        stop_at = time.monotonic() + 20
        while len(_marked_tasks(deployment)) < IN_FLIGHT and time.monotonic() < stop_at:
            time.sleep(0.1)
        before.stop.set()
        web.sigkill()  # mid-request: MongoDB written, Postgres not, no queue record
        in_window = _marked_tasks(deployment)
        queue = mongo(deployment)["dualwrite_retry_queue"]
        recorded = {d["mongo_id"] for d in queue.find({"collection": "tasks"}, {"mongo_id": 1})}
    finally:
        release.set()
        holder.join()
    before.join(timeout=60)
    unanswered = [o for o in before.outcomes if o.status == 0]

    restarted = deployment.start_web("web-b")  # the operator starts the service again
    after = Fleet(restarted.base_url or "", tokens, operations=10, seed=21).run(timeout=120)
    drained_in = wait_drained(mongo(deployment))
    verdict = verify(deployment)
    lost = lost_writes(deployment, [before, after])
    outcomes = [*before.outcomes, *after.outcomes]
    figures(
        "2 web sigkill",
        processes="2 web (1 killed, 1 restarted) + 1 worker + verify",
        requests=len(outcomes),
        acknowledged_writes=sum(o.write and o.ok for o in outcomes),
        unanswered_at_kill=len(unanswered),
        in_crash_window=len(in_window - recorded),
        drained_seconds=f"{drained_in:.1f}",
        drift=verdict.drift,
        lost=len(lost),
        seconds=f"{time.monotonic() - started:.1f}",
    )
    assert worker.alive(), worker.log()[-3000:]
    assert len(in_window - recorded) >= IN_FLIGHT, "no write was caught between its two stores"
    assert unanswered, "the kill interrupted no request"
    assert after.failures() == []
    assert verdict.drift == 0, verdict.result.stdout[-3000:]
    assert lost == {}
