"""A retry worker dies mid-drain and leaves its leases behind: no other worker touches the leased
records until the leases expire, then a new worker drains everything, with zero drift and no
acknowledged write lost."""

from __future__ import annotations

import time
from typing import Any

import pytest

from dualwrite.engine import BREAKER, RetryOutcome
from tests.conftest import wait_for_postgres
from tests.faults.conftest import FaultSize, drain, drift, lost_writes, pending_records
from tests.faults.harness import Fleet
from todo.wiring import build_worker

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

# The lease must outlast the new worker's first drain of the unleased records, which grows with
# the backlog (the in-process MongoDB stand-in scans collections): 3 s small, 15 s large.
LEASE_SECONDS = {"small": 3.0, "large": 15.0}


def test_worker_killed_mid_drain_leaves_leases_that_expire_then_a_new_worker_drains_all(
    fleet: Fleet, embedded_postgres: Any, size: FaultSize, settings: Any
) -> None:
    lease_seconds = LEASE_SECONDS[size.name]
    settings.DUAL_WRITE_LEASE_SECONDS = lease_seconds
    fleet.start()
    fleet.wait_for(fleet.total // 3)
    embedded_postgres.stop()  # a clean stop this time: clients keep writing, mirrors are queued
    time.sleep(size.fault_seconds + 3.5)  # past the 3 s pool timeout, so blocked writes get queued
    embedded_postgres.start()
    fleet.join()
    # Postgres is back before the workers start: the lease timing below measures leases, not the
    # pool's reconnection or the process-wide breaker the clients' failures opened.
    wait_for_postgres()
    BREAKER.close()
    print(fleet.summary("worker crash: run with Postgres stopped"))
    assert fleet.failures() == []
    backlog = pending_records()
    assert len(backlog) >= 2, "the outage queued too little to test leases"

    # The first worker applies one record, leases about half of the others, then "dies".
    crashed = build_worker(name="crashed-worker")
    first = crashed.engine.queue.claim_due(crashed.owner, crashed.lease_seconds)
    assert first is not None
    assert crashed.engine.retry_record(first, crashed.owner) is RetryOutcome.APPLIED
    abandoned = []
    for _ in range(max(1, (len(backlog) - 1) // 2)):
        record = crashed.engine.queue.claim_due(crashed.owner, crashed.lease_seconds)
        assert record is not None
        abandoned.append(record)
    abandoned_at = time.monotonic()
    abandoned_ids = {(r.collection, r.mongo_id) for r in abandoned}

    # A new worker takes everything else at once, but not the leased records.
    applied_before_expiry = drain(name="new-worker")
    still = {(r["collection"], r["mongo_id"]) for r in pending_records()}
    assert still == abandoned_ids
    assert time.monotonic() - abandoned_at < lease_seconds, "the first drain outlived the lease"

    time.sleep(max(0.0, abandoned_at + lease_seconds + 0.2 - time.monotonic()))
    applied_after_expiry = drain(name="new-worker")
    print(
        f"[worker crash] backlog={len(backlog)} abandoned leases={len(abandoned)}"
        f" applied before expiry={applied_before_expiry} after expiry={applied_after_expiry}"
    )
    assert applied_after_expiry == len(abandoned)
    assert pending_records() == []
    # The dead worker wakes up: its leases are gone, it cannot resolve what it abandoned.
    assert all(crashed.engine.queue.resolve(r, crashed.owner) is False for r in abandoned)
    assert drift() == {}
    assert lost_writes(fleet) == {}
