"""Runtime flags: the migration phase and each collection's read source, as every process sees them.

They are stored in Postgres (`dualwrite_phase`, `dualwrite_read_sources`), changed by staff on the
dashboard or by `manage.py dualwrite phase --set/--reads` (todo.services.flag_service, which
checks readiness and audits), and re-read by every serving and worker process at most
RUNTIME_FLAGS_REFRESH_SECONDS after a change: no restart.

The environment (MIGRATION_PHASE, DUAL_WRITE_READ_SOURCE) gives the initial defaults. A stored
flag remembers the environment value it was set under; while the environment still says the same
the stored flag wins, and a start with a different environment value is a newer request, so the
environment wins (for the phase, `prepare` then records it through the readiness guard).

When Postgres cannot be read, the last values read stay in force (the environment's before any
were read). Only a process's first question waits for Postgres; later refreshes run in a
background thread, so an outage or a hanging server slows no request.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.signals import setting_changed
from django.db import DatabaseError, connection
from django.dispatch import receiver

logger = logging.getLogger(__name__)

MONGO, SHADOW, POSTGRES = "mongo", "shadow", "postgres"
READ_SOURCES = (MONGO, SHADOW, POSTGRES)
# After a failed read of the flags, wait this many refresh periods before the next attempt.
_BACKOFF_PERIODS = 5


@dataclass(frozen=True)
class ReadRoute:
    """Where a collection's reads go: `percent` of them to `source`, the rest to MongoDB."""

    source: str = MONGO
    percent: int = 100

    def pick(self) -> str:
        """The source of one read."""
        if self.source == MONGO or self.percent >= 100:
            return self.source
        return self.source if random.random() * 100 < self.percent else MONGO

    def __str__(self) -> str:
        return (
            self.source if self.source == MONGO or self.percent >= 100 else f"{self.source} {self.percent}%"
        )


@dataclass(frozen=True)
class _Stored:
    phase: tuple[str, str] | None = None  # (phase, the environment's phase it was set under)
    reads: dict[str, tuple[ReadRoute, str]] = field(default_factory=dict)  # route, env source


class _Cache:
    """The flags as last read. The first question of a process reads Postgres; later ones never
    wait for it: once the values are older than the refresh period, a background thread reads them
    again while the current values keep answering (so a slow or stopped Postgres slows no request)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stored: _Stored | None = None
        self.loaded = False
        self.next_refresh = 0.0
        self.refreshing = False

    def get(self) -> _Stored | None:
        if not self.loaded:
            with self.lock:
                if not self.loaded:
                    self._refresh()
            return self.stored
        if time.monotonic() >= self.next_refresh and not self.refreshing:
            with self.lock:
                if self.refreshing or time.monotonic() < self.next_refresh:
                    return self.stored
                self.refreshing = True
            threading.Thread(target=self._refresh_in_background, name="runtime-flags", daemon=True).start()
        return self.stored

    def _refresh(self) -> None:
        period = float(settings.RUNTIME_FLAGS_REFRESH_SECONDS)
        try:
            self.stored = _load()
            self.next_refresh = time.monotonic() + period
        except DatabaseError as exc:  # keep the last values; the next attempt waits a few periods
            logger.warning(
                "runtime flags unreadable (%s); keeping the %s values",
                type(exc).__name__,
                "last read" if self.stored is not None else "environment's",
            )
            self.next_refresh = time.monotonic() + period * _BACKOFF_PERIODS
        finally:
            self.loaded = True

    def _refresh_in_background(self) -> None:
        try:
            self._refresh()
        finally:
            self.refreshing = False
            connection.close()  # this thread's pooled connection goes back to the pool

    def clear(self) -> None:
        with self.lock:
            self.stored, self.loaded, self.next_refresh = None, False, 0.0

    def reset_after_fork(self) -> None:
        """In a forked child: the parent's lock may have been held by a thread that does not
        exist here, and its refresh thread is gone."""
        self.lock = threading.Lock()
        self.stored, self.loaded, self.next_refresh, self.refreshing = None, False, 0.0, False


_cache = _Cache()
# A forked child (e.g. a web server that loads the app before forking) starts with the parent's
# values but without its refresh thread: it reads the flags afresh on its first question.
os.register_at_fork(after_in_child=_cache.reset_after_fork)


def _load() -> _Stored:
    from todo.models.postgres.operations import PhaseRecord, ReadSourceFlag

    record = PhaseRecord.objects.filter(key="current").values_list("phase", "env_phase").first()
    reads = {
        row.collection: (ReadRoute(row.source, row.percent), row.env_source)
        for row in ReadSourceFlag.objects.all()
    }
    return _Stored(phase=record, reads=reads)


def invalidate() -> None:
    """Forget what was read: the next question reads Postgres (after a change made here)."""
    _cache.clear()


@receiver(setting_changed)
def _environment_changed(**_: object) -> None:
    invalidate()


def environment_phase() -> str:
    return str(settings.MIGRATION_PHASE)


def environment_route(collection: str) -> ReadRoute:
    return ReadRoute(settings.DUAL_WRITE_READ_SOURCE.get(collection, MONGO))


def phase() -> str:
    """The migration phase this process serves in now."""
    env = environment_phase()
    stored = _cache.get()
    if stored is not None and stored.phase is not None and stored.phase[1] == env:
        return stored.phase[0]
    return env


def read_route(collection: str) -> ReadRoute:
    """Where the collection's reads go in read_migration (MongoDB in the other phases)."""
    env = environment_route(collection)
    stored = _cache.get()
    held = None if stored is None else stored.reads.get(collection)
    if held is not None and held[1] == env.source:
        return held[0]
    return env
