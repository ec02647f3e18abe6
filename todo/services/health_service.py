"""Health of the two stores by migration phase, each probed in its own thread under a deadline.

The store of record for the phase decides: MongoDB in dual_write and read_migration, Postgres in
postgres_only. It being down is DOWN (503); the other store being down is DEGRADED (200: the
service still works; in read_migration, reads routed to Postgres are answered by MongoDB, see
`todo.repositories.read_your_writes`). In postgres_only with MONGODB_RETIRED=true, MongoDB is
not probed, shown RETIRED. The backlog is the mirror's of the phase: MongoDB → Postgres (the retry
queue in MongoDB) while MongoDB is the truth, Postgres → MongoDB (rows waiting in Postgres) in
postgres_only. A store that hangs is reported DOWN after
`settings.HEALTH_CHECK_TIMEOUT` seconds instead of holding the request. Reasons name the failure
class only: driver messages can carry hosts and user names.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.conf import settings
from django.db import connections
from pymongo.errors import PyMongoError

from todo.db.mongo_manager import DatabaseManager
from todo.phases import POSTGRES_ONLY, current_phase, mongodb_retired
from todo.wiring import build_queue, build_reverse_mirror

logger = logging.getLogger(__name__)

# Errors that mean "this store is not serving"; anything else is a bug and is not hidden as DOWN.
STORE_ERRORS = (psycopg.Error, PyMongoError, OSError)

UP, DEGRADED, DOWN, RETIRED = "UP", "DEGRADED", "DOWN", "RETIRED"
MONGODB, POSTGRES = "mongodb", "postgres"


@dataclass
class ComponentHealth:
    status: str
    reason: str | None = None

    def as_dict(self) -> dict[str, str]:
        body = {"status": self.status}
        if self.reason:
            body["reason"] = self.reason
        return body


@dataclass(frozen=True)
class HealthPlan:
    """What the phase asks of the health check."""

    phase: str
    store_of_record: str  # its being down is DOWN; any other store down is DEGRADED
    probed: tuple[str, ...]
    retired: tuple[str, ...] = ()


def health_plan() -> HealthPlan:
    phase = current_phase()
    if phase != POSTGRES_ONLY:
        return HealthPlan(phase, MONGODB, (MONGODB, POSTGRES))
    if mongodb_retired():  # nothing to probe
        return HealthPlan(phase, POSTGRES, (POSTGRES,), (MONGODB,))
    return HealthPlan(phase, POSTGRES, (MONGODB, POSTGRES))


@dataclass
class HealthReport:
    components: dict[str, ComponentHealth] = field(default_factory=dict)
    # The dual-write retry backlog; informational (None when it could not be read in time).
    backlog: dict[str, Any] | None = None
    plan: HealthPlan = field(default_factory=health_plan)

    @property
    def status(self) -> str:
        record = self.components.get(self.plan.store_of_record)
        if record is None or record.status != UP:
            return DOWN
        probed = [self.components[name] for name in self.plan.probed if name in self.components]
        return UP if all(c.status == UP for c in probed) else DEGRADED

    @property
    def up(self) -> bool:
        """True when the service works (UP or DEGRADED): the store of record answers."""
        return self.status != DOWN

    def as_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "phase": self.plan.phase,
            "components": {name: c.as_dict() for name, c in self.components.items()},
            "dualWrite": self._backlog_dict(),
        }

    def _backlog_dict(self) -> dict[str, Any]:
        if backlog_reader(self.plan.phase) is None:
            return {"status": "NOT_USED"}
        if self.backlog is None:
            return {"status": "UNKNOWN"}
        return {
            "direction": self.backlog["direction"],
            "pending": self.backlog["pending"],
            "failed": self.backlog["failed"],
            "oldestPendingAgeSeconds": self.backlog["oldest_pending_age_seconds"],
        }


def _probe_postgres() -> None:
    # A direct connection with the service's own parameters: it answers for the server itself,
    # fails at once when the server refuses, and takes no slot from the request pool.
    params = connections["default"].get_connection_params()
    params["connect_timeout"] = max(1, math.ceil(float(settings.HEALTH_CHECK_TIMEOUT)))
    with psycopg.connect(**params) as conn:
        conn.execute("SELECT 1")


def _probe_mongodb() -> None:
    DatabaseManager.get().ping()


PROBES: dict[str, Callable[[], None]] = {"mongodb": _probe_mongodb, "postgres": _probe_postgres}


def _read_backlog() -> dict[str, Any]:
    return {**build_queue().backlog(), "direction": "mongodb_to_postgres"}


def _read_reverse_backlog() -> dict[str, Any]:
    waiting = sum(build_reverse_mirror().backlog().values())
    return {
        "direction": "postgres_to_mongodb",
        "pending": waiting,
        "failed": 0,
        "oldest_pending_age_seconds": None,
    }


def backlog_reader(phase: str) -> Callable[[], dict[str, Any]] | None:
    """How to read the mirror backlog of a phase (None: no mirror runs in that phase).

    dual_write and read_migration mirror MongoDB to Postgres through the retry queue in MongoDB;
    postgres_only writes back to MongoDB from rows waiting in Postgres, unless MongoDB is retired."""
    if phase != POSTGRES_ONLY:
        return _read_backlog
    return None if mongodb_retired() else _read_reverse_backlog


def check_health() -> HealthReport:
    """Probe the phase's stores concurrently, and read its backlog; all share one deadline."""
    timeout = float(settings.HEALTH_CHECK_TIMEOUT)
    plan = health_plan()
    read = backlog_reader(plan.phase)
    results: dict[str, ComponentHealth] = {}
    backlog: list[dict[str, Any]] = []

    def run(name: str, probe: Callable[[], None]) -> None:
        try:
            probe()
        except STORE_ERRORS as exc:
            logger.warning("health: %s is down (%s)", name, type(exc).__name__)
            results[name] = ComponentHealth(DOWN, f"unreachable ({type(exc).__name__})")
        else:
            results[name] = ComponentHealth(UP)

    def read_backlog(reader: Callable[[], dict[str, Any]]) -> None:
        try:
            backlog.append(reader())
        except STORE_ERRORS as exc:
            logger.warning("health: retry backlog unreadable (%s)", type(exc).__name__)

    threads = [
        threading.Thread(target=run, args=(name, PROBES[name]), name=f"health-{name}", daemon=True)
        for name in plan.probed
    ]
    if read is not None:
        threads.append(
            threading.Thread(target=read_backlog, args=(read,), name="health-backlog", daemon=True)
        )
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    no_answer = ComponentHealth(DOWN, f"no answer within {timeout:g}s")
    components = {name: ComponentHealth(RETIRED) if name in plan.retired else results.get(name, no_answer)
                  for name in PROBES}  # fmt: skip
    return HealthReport(components, backlog[0] if backlog else None, plan)
