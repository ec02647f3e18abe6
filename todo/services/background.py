"""The background worker of a process, in whatever phase the runtime flag says now.

Each round asks the phase afresh (a flag changed on the dashboard reaches the worker within a few
seconds, no restart): it retries queued mirror writes (dualwrite.worker.RetryWorker) and writes
the reverse outbox's Postgres rows back to MongoDB (dualwrite.reverse.ReverseMirror; rows are
queued there in postgres_only); with MongoDB retired it has nothing to do. Between rounds
it runs the retention purge (todo.services.retention) every DUAL_WRITE_PURGE_INTERVAL_SECONDS, the
first time at once: no cron is needed.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import connections

from dualwrite.maintenance import Maintenance, Periodic
from dualwrite.reverse import ReverseMirror
from dualwrite.worker import RetryWorker
from todo.phases import current_phase, mongodb_retired
from todo.wiring import build_reverse_mirror, build_worker

logger = logging.getLogger(__name__)


def retention_purge() -> None:
    from todo.services.retention import purge_all

    purge_all()


class BackgroundWorker:
    def __init__(
        self,
        name: str | None = None,
        *,
        maintenance: Maintenance | None = retention_purge,
        maintenance_every: float | None = None,
    ) -> None:
        self.name = name
        self._phase = current_phase()
        self.retry: RetryWorker = build_worker(name=name)
        self._mirror: ReverseMirror | None = None
        self.thread: threading.Thread | None = None
        every = settings.DUAL_WRITE_PURGE_INTERVAL_SECONDS if maintenance_every is None else maintenance_every
        self.maintenance = None if maintenance is None else Periodic(maintenance, every, "retention purge")

    def maintain(self) -> bool:
        """Run the maintenance when it is due; True when it ran (a failure is logged in full)."""
        if self.maintenance is None or not self.maintenance.due():
            return False
        try:
            return self.maintenance.run_if_due()
        finally:
            connections.close_all()  # hand pooled connections back, as after a round

    @property
    def owner(self) -> str:
        return self.retry.owner

    def _follow_phase(self) -> str:
        phase = current_phase()
        if phase != self._phase:
            logger.info("background worker: phase %s → %s", self._phase, phase)
            self._phase = phase
            self.retry = build_worker(name=self.name)  # an engine built for the new phase
        return phase

    def run_once(self) -> int:
        """One round; returns how many records or rows it processed.

        Both directions run in every phase (MongoDB not retired): around a runtime move, a process
        that has not yet seen it may still write the old store of record, and what it queued (a
        mirror write, or a row in the reverse outbox) must still land; the version guards of
        both directions keep whatever the other side changed since."""
        self._follow_phase()
        if mongodb_retired():
            return 0
        if self._mirror is None:
            self._mirror = build_reverse_mirror()
        pushed = self._mirror.push_due()
        if pushed.pushed or pushed.failed:
            logger.info("reverse mirror: %d written back, %d postponed", pushed.pushed, pushed.failed)
        drained = self.retry.run_once()
        if drained.processed:
            logger.info("retry worker: %d applied, %d failed", drained.succeeded, drained.failed)
        return pushed.pushed + drained.processed

    def run(self, stop: threading.Event, poll_interval: float = 1.0) -> None:
        """Rounds until `stop` is set, sleeping `poll_interval` when a round found nothing."""
        logger.info("background worker %s started in %s", self.owner, self._phase)
        while not stop.is_set():
            try:
                processed = self.run_once()
            except Exception:  # the worker must outlive a bad round; it is logged in full
                logger.exception("background worker round failed")
                processed = 0
            self.maintain()
            if processed == 0:
                stop.wait(poll_interval)
        connections.close_all()
        logger.info("background worker %s stopped", self.owner)

    def start(self, poll_interval: float = 1.0) -> threading.Event:
        """Run in a daemon thread of this process; set the returned event to stop it."""
        stop = threading.Event()
        self.thread = threading.Thread(
            target=self.run, args=(stop, poll_interval), name="background-worker", daemon=True
        )
        self.thread.start()
        return stop
