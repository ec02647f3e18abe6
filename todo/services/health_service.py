"""Health of the two stores, each probed in its own thread under a deadline.

A store that hangs is reported DOWN after `settings.HEALTH_CHECK_TIMEOUT` seconds instead of holding
the request. Reasons name the failure class only: driver messages can carry hosts and user names.
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
from todo.services.dual_write_setup import build_queue

logger = logging.getLogger(__name__)

# Errors that mean "this store is not serving"; anything else is a bug and is not hidden as DOWN.
STORE_ERRORS = (psycopg.Error, PyMongoError, OSError)

UP = "UP"
DOWN = "DOWN"


@dataclass
class ComponentHealth:
    status: str
    reason: str | None = None

    def as_dict(self) -> dict[str, str]:
        body = {"status": self.status}
        if self.reason:
            body["reason"] = self.reason
        return body


@dataclass
class HealthReport:
    components: dict[str, ComponentHealth] = field(default_factory=dict)
    # The dual-write retry backlog; informational (None when it could not be read in time).
    backlog: dict[str, Any] | None = None

    @property
    def up(self) -> bool:
        return all(c.status == UP for c in self.components.values())

    def as_dict(self) -> dict[str, object]:
        if self.backlog is None:
            dual_write: dict[str, Any] = {"status": "UNKNOWN"}
        else:
            dual_write = {
                "pending": self.backlog["pending"],
                "failed": self.backlog["failed"],
                "oldestPendingAgeSeconds": self.backlog["oldest_pending_age_seconds"],
            }
        return {
            "status": UP if self.up else DOWN,
            "components": {name: c.as_dict() for name, c in self.components.items()},
            "dualWrite": dual_write,
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
    return build_queue().backlog()


def check_health() -> HealthReport:
    """Probe every store concurrently, and read the retry backlog; all share one deadline."""
    timeout = float(settings.HEALTH_CHECK_TIMEOUT)
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

    def read_backlog() -> None:
        try:
            backlog.append(_read_backlog())
        except STORE_ERRORS as exc:
            logger.warning("health: retry backlog unreadable (%s)", type(exc).__name__)

    threads = [
        threading.Thread(target=run, args=(name, probe), name=f"health-{name}", daemon=True)
        for name, probe in PROBES.items()
    ]
    threads.append(threading.Thread(target=read_backlog, name="health-backlog", daemon=True))
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    no_answer = ComponentHealth(DOWN, f"no answer within {timeout:g}s")
    return HealthReport(
        {name: results.get(name, no_answer) for name in PROBES}, backlog[0] if backlog else None
    )
