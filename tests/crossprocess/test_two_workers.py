"""Scenario 3: two worker processes drain one backlog. The backlog is made by stopping Postgres while
a web process takes writes; then two `dualwrite worker --once` processes start together. Every
record ends RESOLVED, the applied counts the two processes print add up to the backlog exactly (a
record applied by both would be counted twice), both took part, and verify finds zero drift."""

from __future__ import annotations

import re
import time

import pytest

from tests.crossprocess.conftest import QUEUE, figures, lost_writes, mongo, unresolved, verify
from tests.crossprocess.processes import Deployment
from tests.faults.harness import Fleet

pytestmark = pytest.mark.crossprocess

APPLIED = re.compile(r"applied (\d+), failed (\d+), postponed (\d+)")


def test_two_worker_processes_apply_every_record_of_one_backlog_once(deployment: Deployment) -> None:
    started = time.monotonic()
    web = deployment.start_web("web")
    tokens = [deployment.issue_token(f"backlog{i}@example.com") for i in range(3)]
    deployment.postgres.server.stop()  # an orderly stop: the web process keeps taking writes
    try:
        fleet = Fleet(web.base_url or "", tokens, operations=20, seed=30).run(timeout=150)
    finally:
        deployment.postgres.restart()
    db = mongo(deployment)
    backlog = unresolved(db)
    workers = [deployment.spawn(f"worker-{i}", "dualwrite", "worker", "--once") for i in range(2)]
    for worker in workers:
        assert worker.popen.wait(120) == 0, worker.log()[-3000:]
    counts = []
    for worker in workers:
        found = APPLIED.search(worker.log())
        assert found, worker.log()[-3000:]
        counts.append(tuple(int(n) for n in found.groups()))
    records = list(db[QUEUE].find({}, {"status": 1, "lease_owner": 1, "attempts": 1}))
    verdict = verify(deployment)
    lost = lost_writes(deployment, [fleet])
    figures(
        "3 two workers",
        processes="1 web + 2 workers + verify",
        requests=len(fleet.outcomes),
        acknowledged_writes=sum(o.write and o.ok for o in fleet.outcomes),
        queued=backlog,
        drained=f"{counts[0][0]}+{counts[1][0]}",
        resolved=sum(r["status"] == "RESOLVED" for r in records),
        drift=verdict.drift,
        seconds=f"{time.monotonic() - started:.1f}",
    )
    assert fleet.failures() == []
    assert backlog > 0
    assert [r for r in records if r["status"] != "RESOLVED"] == []
    assert [r for r in records if r.get("lease_owner")] == []  # every lease handed back
    assert sum(c[0] for c in counts) == backlog, counts  # each record applied exactly once
    assert all(c[0] > 0 for c in counts), f"one worker did all the work: {counts}"
    assert [c[1:] for c in counts] == [(0, 0), (0, 0)]
    assert verdict.drift == 0, verdict.result.stdout[-3000:]
    assert lost == {}
