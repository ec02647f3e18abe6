"""The retry worker: claims due queue records under a lease and re-applies them.

Several workers may run at once (threads or processes): a record is leased by one of them, and a
crashed worker's lease expires after `lease_seconds`. Every few seconds a worker also sweeps
the pending marks of writers that died between their two writes (`dualwrite.sweep`) and resolves
FAILED records whose documents a later write has mirrored. An optional `maintenance` callable
(the app's retention purge) runs inside `run` every `maintenance_every` seconds
(`dualwrite.maintenance`).
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass

from django.db import connections

from dualwrite.engine import DualWriteEngine, RetryOutcome
from dualwrite.maintenance import Maintenance, Periodic
from dualwrite.queue import FAILED
from dualwrite.sweep import SWEEP_GRACE_SECONDS, Sweeper

# How often a worker sweeps pending marks and re-checks FAILED records.
SWEEP_EVERY_SECONDS = 5.0

logger = logging.getLogger(__name__)


@dataclass
class DrainReport:
    succeeded: int = 0
    failed: int = 0
    postponed: int = 0
    swept: int = 0  # stale pending marks handed to the queue
    mended: int = 0  # FAILED records resolved because a later write mirrored the document

    @property
    def processed(self) -> int:
        return self.succeeded + self.failed


class RetryWorker:
    def __init__(
        self,
        engine: DualWriteEngine,
        *,
        lease_seconds: float = 30.0,
        name: str | None = None,
        sweep_grace: float = SWEEP_GRACE_SECONDS,
        sweep_every: float = SWEEP_EVERY_SECONDS,
        maintenance: Maintenance | None = None,
        maintenance_every: float = 3600.0,
    ) -> None:
        self.engine = engine
        self.lease_seconds = lease_seconds
        self.owner = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.sweeper = Sweeper(engine.registry, engine.source, engine.queue, grace=sweep_grace)
        self.sweep_every = sweep_every
        self._last_sweep = -math.inf
        self.maintenance = (
            None if maintenance is None else Periodic(maintenance, maintenance_every, "worker maintenance")
        )

    def maintain(self) -> bool:
        """Run the maintenance when it is due; True when it ran."""
        if self.maintenance is None or not self.maintenance.due():
            return False
        try:
            return self.maintenance.run_if_due()
        finally:
            connections.close_all()  # hand pooled connections back, as after a round

    def run_once(self, limit: int = 500, *, sweep: bool | None = None) -> DrainReport:
        """Sweep stale pending marks and re-check FAILED records (every `sweep_every` seconds, or
        when `sweep` says so), then process up to `limit` due records; returns what was done.
        Does nothing while mirroring is off: what is written meanwhile keeps its marks and intents."""
        report = DrainReport()
        if not self.engine.enabled:
            return report
        try:
            if sweep if sweep is not None else time.monotonic() - self._last_sweep >= self.sweep_every:
                self._last_sweep = time.monotonic()
                report.swept = self.sweeper.sweep()
                failed = self.engine.queue.unresolved(limit=limit, status=FAILED)
                report.mended = len(failed) - len(self.engine.refresh(failed))
            for _ in range(limit):
                record = self.engine.queue.claim_due(self.owner, self.lease_seconds)
                if record is None:
                    break
                outcome = self.engine.retry_record(record, self.owner)
                if outcome is RetryOutcome.APPLIED:
                    report.succeeded += 1
                elif outcome is RetryOutcome.FAILED:
                    report.failed += 1
                else:  # a store is unreachable: end the round, try again after the poll interval
                    report.postponed += 1
                    break
        finally:
            connections.close_all()  # hand pooled connections back between rounds
        return report

    def run(self, stop: threading.Event, poll_interval: float = 1.0) -> None:
        """Drain due records until `stop` is set, sleeping `poll_interval` when idle."""
        logger.info("retry worker %s started", self.owner)
        while not stop.is_set():
            try:
                report = self.run_once()
            except Exception:  # the worker must outlive a bad round; it is logged in full
                logger.exception("retry worker round failed")
                report = DrainReport()
            self.maintain()
            if report.processed:
                logger.info("retry worker: %d applied, %d failed", report.succeeded, report.failed)
            if report.processed == 0:
                stop.wait(poll_interval)
        logger.info("retry worker %s stopped", self.owner)
