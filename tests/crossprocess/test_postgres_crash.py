"""Scenario 1: two web processes and one worker process share MongoDB (the wire server) and Postgres;
concurrent HTTP clients write on both web processes while the Postgres postmaster is SIGKILLed and
restarted; the worker process drains; `dualwrite verify`, a process of its own, finds zero drift and
every acknowledged write is in both stores with its last acknowledged value."""

from __future__ import annotations

import time

import pytest

from tests.crossprocess.conftest import figures, lost_writes, mongo, unresolved, verify, wait_drained
from tests.crossprocess.processes import Deployment
from tests.faults.harness import Fleet

pytestmark = pytest.mark.crossprocess

CLIENTS_PER_PROCESS = 2
OPERATIONS = 25
OUTAGE_SECONDS = 3.5  # longer than a request waits for a pooled connection (3 s)


def test_postgres_sigkilled_under_two_web_processes_and_a_worker_loses_no_acknowledged_write(
    deployment: Deployment,
) -> None:
    started = time.monotonic()
    web = [deployment.start_web("web-a"), deployment.start_web("web-b")]
    worker = deployment.start_worker("worker")
    tokens = [deployment.issue_token(f"crash{i}@example.com") for i in range(2 * CLIENTS_PER_PROCESS)]
    fleets = [
        Fleet(web[i].base_url or "", tokens[i::2], operations=OPERATIONS, seed=10 + i) for i in range(2)
    ]
    for fleet in fleets:
        fleet.start()
    for fleet in fleets:
        fleet.wait_for(fleet.total // 3)
    killed_at = time.monotonic()
    deployment.postgres.kill()
    time.sleep(OUTAGE_SECONDS)
    deployment.postgres.restart()
    restarted_at = time.monotonic()
    for fleet in fleets:
        fleet.join(timeout=150)
    db = mongo(deployment)
    queued = db["dualwrite_retry_queue"].count_documents({})
    left_after_run = unresolved(db)
    drained_in = wait_drained(db)
    verdict = verify(deployment)
    lost = lost_writes(deployment, fleets)
    outcomes = [o for fleet in fleets for o in fleet.outcomes]
    during = [o for o in outcomes if killed_at <= o.started <= restarted_at and o.write]
    acknowledged = [o for o in outcomes if o.write and o.ok]
    figures(
        "1 postgres sigkill",
        processes="2 web + 1 worker + verify",
        requests=len(outcomes),
        acknowledged_writes=len(acknowledged),
        writes_during_outage=len(during),
        failed=sum(not o.ok for o in outcomes),
        queued=queued,
        unresolved_after_run=left_after_run,
        drained_seconds=f"{drained_in:.1f}",
        drift=verdict.drift,
        lost=len(lost),
        seconds=f"{time.monotonic() - started:.1f}",
    )
    assert worker.alive(), worker.log()[-3000:]
    assert all(w.alive() for w in web)
    assert [o for o in outcomes if not o.ok] == []  # the MongoDB write stands, the mirror is queued
    assert during, "no write was sent while Postgres was down"
    assert queued > 0, "the crash did not reach the mirror"
    assert verdict.drift == 0, verdict.result.stdout[-3000:]
    assert verdict.result.returncode == 0
    assert lost == {}
