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


def timed_out(exc: BaseException) -> bool:
    """A lock_timeout or statement_timeout of a bounded in-request write: Postgres is slow, not down."""
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    return isinstance(cause, pg_errors.LockNotAvailable | pg_errors.QueryCanceled)


def no_connection(exc: BaseException) -> bool:
    """True when no connection to Postgres could be had (the write never reached the server)."""
    return isinstance(exc, PoolTimeout | PostgresUnavailable) or isinstance(exc.__cause__, PoolTimeout)


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
    """How often and when failed Postgres writes are tried again, and when they are not."""

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

    def retries_in_request(self, exc: BaseException) -> bool:
        """A failed in-request write is tried again at once (`in_request_delays`) only when the
        connection or server failed; not when Postgres refused the rows, not on a lock or
        statement timeout (Postgres is slow, not down: the write is queued now), and not when
        MongoDB failed."""
        return (
            classify(exc) is ErrorKind.TRANSIENT
            and not timed_out(exc)
            and not isinstance(exc, SourceUnavailable)
        )

    def counts_attempt(self, kind: ErrorKind) -> bool:
        """A failed live write counts as an attempt when Postgres itself refused it (or the mapping
        could not hold the document), so that a document that keeps failing reaches FAILED; an
        outage or a timeout does not (the worker's retries count those)."""
        return kind is not ErrorKind.TRANSIENT

    def exhausted(self, kind: ErrorKind, attempts: int) -> bool:
        """A record gives up (FAILED) after `attempts` counted attempts, or at once when retrying
        cannot help (a permanent error)."""
        return kind is ErrorKind.PERMANENT or attempts >= self.attempts

    def opens_breaker(self, exc: BaseException, *, last_try: bool) -> bool:
        """After an in-request write failed on a connection or server error: stop sending writes
        to Postgres for a moment (the engine's breaker, every later write queued at once) when the
        connection is gone, or when the last brief retry failed too."""
        return no_connection(exc) or last_try

    def retries_while_draining(self, kind: ErrorKind) -> bool:
        """At a graceful stop, a record that used up its attempts on a transient error (a lock or
        statement timeout, a lost connection) is tried again until the drain's time is up; one
        that Postgres refused keeps the single extra set of attempts every FAILED record gets."""
        return kind is ErrorKind.TRANSIENT

    def postpones(self, exc: BaseException) -> bool:
        """A retry that could not reach a store at all (no connection to Postgres, MongoDB
        unavailable) was not attempted: it is postponed without using up an attempt, so that an
        outage does not exhaust every record."""
        return no_connection(exc) or isinstance(exc, SourceUnavailable)
