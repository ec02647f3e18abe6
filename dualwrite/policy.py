"""Retry decisions, in one place: which errors are worth retrying, when, and how often."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from enum import StrEnum

import psycopg
from django.db import utils as django_db
from psycopg import errors as pg_errors
from psycopg_pool import PoolTimeout

from dualwrite.errors import DuplicateKeyConflict, MappingError, PostgresUnavailable, SourceUnavailable


class ErrorKind(StrEnum):
    # The connection or server failed (down, restarting, timed out): retry soon, also in-request.
    TRANSIENT = "transient"
    # Postgres refused the rows (constraint, data): may resolve later (e.g. write order); queue only.
    REJECTED = "rejected"
    # The document cannot be mapped, or it is a duplicate of a live row by a domain-unique key
    # (`dualwrite.uniqueness`): retrying cannot help; FAILED at once.
    PERMANENT = "permanent"


_TRANSIENT_SQLSTATE = (
    pg_errors.SerializationFailure,
    pg_errors.DeadlockDetected,
    pg_errors.LockNotAvailable,
    pg_errors.QueryCanceled,
    pg_errors.AdminShutdown,
    pg_errors.CannotConnectNow,
)


def classify(exc: BaseException) -> ErrorKind:
    """Decide how the engine treats an error raised while writing to Postgres."""
    if isinstance(exc, MappingError | DuplicateKeyConflict):
        return ErrorKind.PERMANENT
    if isinstance(exc, PostgresUnavailable | SourceUnavailable):
        return ErrorKind.TRANSIENT
    cause = exc.__cause__ if isinstance(exc, django_db.Error) and exc.__cause__ else exc
    if isinstance(cause, PoolTimeout | psycopg.OperationalError | psycopg.InterfaceError):
        return ErrorKind.TRANSIENT
    if isinstance(cause, _TRANSIENT_SQLSTATE):
        return ErrorKind.TRANSIENT
    if isinstance(exc, django_db.OperationalError | django_db.InterfaceError):
        return ErrorKind.TRANSIENT
    return ErrorKind.REJECTED


def describe(exc: BaseException) -> str:
    """Error class and the first line of its message, bounded: no document contents.

    Postgres messages name constraints and columns, and for some errors the DETAIL line holds
    the offending key values; only the first line is kept.
    """
    if isinstance(exc, MappingError):
        return f"MappingError: {exc}"
    if isinstance(exc, DuplicateKeyConflict):
        return f"DuplicateKey: {exc}"
    cause = exc.__cause__ if isinstance(exc, django_db.Error) and exc.__cause__ else exc
    first_line = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first_line}"[:300]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and when failed Postgres writes are tried again."""

    attempts: int  # worker attempts before a record is FAILED (DUAL_WRITE_RETRY_ATTEMPTS)
    base_delay: float  # seconds before the first worker retry (DUAL_WRITE_RETRY_DELAY)
    jitter: float = 0.25  # ± fraction of each delay, so that retries of one outage spread out
    in_request_delays: tuple[float, ...] = (0.01, 0.04)  # brief in-request retries (transient only)

    def delay(self, attempt: int) -> float:
        """Seconds before retry number `attempt` (1-based): base * 2^(attempt-1), with jitter."""
        raw = self.base_delay * (2 ** max(0, attempt - 1))
        return max(0.0, raw * (1 + random.uniform(-self.jitter, self.jitter)))

    def next_attempt_at(self, now: dt.datetime, attempt: int) -> dt.datetime:
        return now + dt.timedelta(seconds=self.delay(attempt))
