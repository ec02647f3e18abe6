"""Postgres crashes or crawls while concurrent clients write through the real HTTP API: every
request still succeeds (the MongoDB write stands, the mirror write is queued), and after the worker
drains the queue verify finds zero drift and every acknowledged write is in both stores."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from tests.faults.conftest import FaultSize, drain, drift, lost_writes, pending_records
from tests.faults.harness import Fleet

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


def test_postgres_sigkilled_and_restarted_mid_run_loses_no_acknowledged_write(
    fleet: Fleet, embedded_postgres: Any, size: FaultSize
) -> None:
    fleet.start()
    fleet.wait_for(fleet.total // 3)
    killed_at = time.monotonic()
    embedded_postgres.kill()  # SIGKILL of the postmaster, as a crash
    assert embedded_postgres.postmaster_pid() is None
    # Clients keep writing against the dead server, for longer than a request waits for a pooled
    # connection, so that mirror writes surely end in the retry queue.
    time.sleep(max(size.fault_seconds, _pool_timeout() + 0.5))
    embedded_postgres.start()  # crash recovery, then accepting connections again
    restarted_at = time.monotonic()
    fleet.join()
    queued = len(pending_records())
    during = [o for o in fleet.outcomes if killed_at <= o.started <= restarted_at]
    print(fleet.summary("sigkill: whole run"))
    print(fleet.summary("sigkill: sent while Postgres was down", during))
    print(f"[sigkill] retry queue after the run: {queued} unresolved records")

    assert fleet.failures() == []  # every request answered 2xx, the outage included
    assert [o for o in during if o.write], "no write was sent during the outage"
    assert queued > 0  # the fault really hit the mirror
    drain()
    assert pending_records() == []
    assert drift() == {}
    assert lost_writes(fleet) == {}


def _pool_timeout() -> float:
    return float(settings.DATABASES["default"]["OPTIONS"]["pool"]["timeout"])


def _hold_lock(params: dict[str, Any], seconds: float, locked: threading.Event) -> None:
    """Hold an ACCESS EXCLUSIVE lock on the tasks mirror table for `seconds`, then roll back."""
    with psycopg.connect(**params) as conn:
        with conn.transaction():
            conn.execute("LOCK TABLE postgres_tasks IN ACCESS EXCLUSIVE MODE")
            locked.set()
            time.sleep(seconds)


def test_postgres_slow_table_lock_delays_but_loses_no_acknowledged_write(
    fleet: Fleet, size: FaultSize
) -> None:
    params = connection.get_connection_params()
    params.pop("pool", None)
    fleet.start()
    fleet.wait_for(fleet.total // 3)
    locked = threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(params, size.fault_seconds, locked))
    holder.start()
    assert locked.wait(10)
    lock_from = time.monotonic()
    holder.join()
    lock_until = time.monotonic()
    fleet.join()
    during = [o for o in fleet.outcomes if lock_from <= o.started <= lock_until]
    task_writes = [o for o in during if o.write]
    print(fleet.summary("table lock: whole run"))
    print(fleet.summary(f"table lock: sent during the {size.fault_seconds} s lock", during))
    print(fleet.summary("table lock: task writes sent during the lock", task_writes))

    assert fleet.failures() == []
    assert task_writes, "no task write was sent during the lock"
    drain()
    assert pending_records() == []
    assert drift() == {}
    assert lost_writes(fleet) == {}
