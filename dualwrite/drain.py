"""The drain at a graceful stop: mirror what the retry queue still holds before the process ends.

Run after the service stopped taking requests (no write is in flight any more): pending marks are
swept at once (no grace: their writers are done), FAILED records get a fresh set of attempts, and
every PENDING record is made due whatever its back-off; then records are retried round after round
until none is due or the time is up; records that fail on a transient error (Postgres
unreachable, a lock or statement timeout) are tried again after a short pause until the time is
up, records Postgres refuses get one more set of attempts. What is left is counted (never shown): records still PENDING or FAILED, and documents
still carrying a pending mark (mirroring switched off).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from dualwrite.mapping import PENDING_MARK_FIELD
from dualwrite.policy import ErrorKind
from dualwrite.sweep import Sweeper
from dualwrite.worker import RetryWorker

# Records retried per round: the deadline is checked between rounds.
ROUND = 50
# Pause after a round that mirrored nothing (Postgres unreachable, locked or slow).
UNREACHABLE_PAUSE = 0.5


@dataclass
class DrainOutcome:
    applied: int = 0  # records whose document Postgres now holds
    pending: int = 0  # records left PENDING (time up, or Postgres unreachable)
    failed: int = 0  # records left FAILED (Postgres refused the document every attempt)
    unmirrored: int = 0  # documents with a pending mark and no record (mirroring off)
    seconds: float = 0.0
    timed_out: bool = False

    @property
    def left(self) -> int:
        return self.pending + self.failed + self.unmirrored


def drain(
    worker: RetryWorker,
    seconds: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], None] = time.sleep,
) -> DrainOutcome:
    """Retry every queued mirror write for at most `seconds` (0: only count what is left)."""
    started = clock()
    deadline = started + seconds
    outcome = DrainOutcome()
    engine = worker.engine
    if seconds > 0 and engine.enabled:
        Sweeper(engine.registry, engine.source, engine.queue, grace=0.0).sweep()
        engine.queue.requeue_failed()  # one fresh set of attempts for every FAILED record
        # The kinds of failure retried again until the time is up (RetryPolicy.retries_while_draining).
        again = [str(kind) for kind in ErrorKind if engine.policy.retries_while_draining(kind)]
        while True:
            engine.queue.make_due()
            report = worker.run_once(limit=ROUND, sweep=False)
            outcome.applied += report.succeeded
            retried = engine.queue.requeue_failed({"error_kind": {"$in": again}}) if again else 0
            if report.processed == 0 and report.postponed == 0 and retried == 0:
                break  # nothing due: every record is resolved, FAILED, or leased elsewhere
            remaining = deadline - clock()
            if remaining <= 0:
                outcome.timed_out = True
                break
            if report.postponed or report.succeeded == 0:
                pause(min(UNREACHABLE_PAUSE, remaining))
    backlog = engine.queue.backlog()
    outcome.pending, outcome.failed = int(backlog["pending"]), int(backlog["failed"])
    outcome.unmirrored = sum(
        engine.source(m.collection).count_documents({PENDING_MARK_FIELD: {"$exists": True}})
        for m in engine.registry
    )
    outcome.seconds = clock() - started
    return outcome
