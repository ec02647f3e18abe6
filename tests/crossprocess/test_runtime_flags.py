"""Scenario 7: runtime flags across processes. Two web processes and a worker run; an operator's
command (a third process) moves the phase and a collection's reads: both web processes follow
within seconds, with no restart, and the change is in the audit trail once."""

from __future__ import annotations

import time

import pytest
import requests

from tests.crossprocess.processes import Deployment, Process

pytestmark = pytest.mark.crossprocess

# RUNTIME_FLAGS_REFRESH_SECONDS of the processes below, and how long a change may take to arrive.
REFRESH = "1"
FOLLOW_WITHIN = 10.0


def phase_of(web: Process) -> str:
    return str(requests.get(f"{web.base_url}/v1/health", timeout=10).json()["phase"])


def wait_for_phase(web: Process, phase: str) -> float:
    started = time.monotonic()
    while phase_of(web) != phase:
        assert time.monotonic() - started < FOLLOW_WITHIN, f"{web.name} still in {phase_of(web)}"
        time.sleep(0.1)
    return time.monotonic() - started


def test_every_process_follows_a_phase_changed_by_another(deployment: Deployment) -> None:
    first = deployment.start_web("web-a", RUNTIME_FLAGS_REFRESH_SECONDS=REFRESH)
    second = deployment.start_web("web-b", RUNTIME_FLAGS_REFRESH_SECONDS=REFRESH)
    worker = deployment.start_worker("worker", RUNTIME_FLAGS_REFRESH_SECONDS=REFRESH)
    assert phase_of(first) == phase_of(second) == "dual_write"

    changed = deployment.run("dualwrite", "phase", "--set", "read_migration")
    assert changed.returncode == 0, changed.stderr
    assert "entered read_migration" in changed.stdout
    waits = [wait_for_phase(web, "read_migration") for web in (first, second)]

    # Moving reads to Postgres is refused with the reasons (nothing verified, no shadow reads) ...
    refused = deployment.run("dualwrite", "phase", "--reads", "tasks=postgres")
    assert refused.returncode == 1 and "no verify report" in refused.stderr, refused.stderr
    # ... shadow is always allowed.
    shadow = deployment.run("dualwrite", "phase", "--reads", "tasks=shadow:50")
    assert shadow.returncode == 0, shadow.stderr
    shown = deployment.run("dualwrite", "phase")
    assert "tasks=shadow 50%" in shown.stdout, shown.stdout

    back = deployment.run("dualwrite", "phase", "--set", "dual_write")
    assert back.returncode == 0, back.stderr
    waits += [wait_for_phase(web, "dual_write") for web in (first, second)]
    assert worker.alive()
    with deployment.postgres.connect(deployment.name) as conn:
        trail = conn.execute(
            "SELECT flag, old, new, actor FROM dualwrite_flag_changes ORDER BY id"
        ).fetchall()
    assert [(flag, old, new) for flag, old, new, _ in trail] == [
        ("phase", "dual_write", "read_migration"),
        ("reads:tasks", "mongo", "shadow 50%"),
        ("phase", "read_migration", "dual_write"),
    ]
    assert all(actor.startswith("cli:") for *_, actor in trail)
    print(f"runtime flags: both web processes followed within {max(waits):.1f} s (refresh {REFRESH} s)")
