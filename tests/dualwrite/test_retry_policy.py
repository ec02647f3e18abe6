"""The retry decisions of `RetryPolicy`: when a record gives up, when a retry is postponed, which
failures count as attempts and which are retried within the request."""

from __future__ import annotations

import psycopg
import pytest
from django.db import utils as django_db
from psycopg import errors as pg_errors
from psycopg_pool import PoolTimeout

from dualwrite.errors import MappingError, PostgresUnavailable, SourceUnavailable
from dualwrite.policy import ErrorKind, RetryPolicy

POLICY = RetryPolicy(attempts=3, base_delay=0.0)


def _django(
    cause: BaseException, kind: type[django_db.Error] = django_db.OperationalError
) -> django_db.Error:
    """An error as Django raises it: its own class, the driver's error as the cause."""
    wrapped = kind(str(cause))
    wrapped.__cause__ = cause
    return wrapped


def test_a_record_gives_up_after_its_attempts_or_at_once_when_permanent() -> None:
    assert not POLICY.exhausted(ErrorKind.REJECTED, 2)
    assert POLICY.exhausted(ErrorKind.REJECTED, 3)
    assert not POLICY.exhausted(ErrorKind.TRANSIENT, 2)
    assert POLICY.exhausted(ErrorKind.PERMANENT, 1)


@pytest.mark.parametrize(
    ("exc", "postponed"),
    [
        (PoolTimeout("no connection"), True),
        (PostgresUnavailable("breaker open"), True),
        (SourceUnavailable("mongodb down"), True),
        (_django(PoolTimeout("no connection")), True),
        (_django(psycopg.OperationalError("server closed the connection")), False),
        (_django(pg_errors.UniqueViolation("duplicate"), django_db.IntegrityError), False),
        (MappingError("tasks", None, "title", "not a string"), False),
    ],
)
def test_only_an_unreachable_store_postpones_a_retry(exc: BaseException, postponed: bool) -> None:
    assert POLICY.postpones(exc) is postponed


@pytest.mark.parametrize(
    ("exc", "retried"),
    [
        (_django(psycopg.OperationalError("server closed the connection")), True),
        (_django(pg_errors.SerializationFailure("retry")), True),
        (_django(pg_errors.LockNotAvailable("lock timeout")), False),  # slow, not down: queue now
        (_django(pg_errors.QueryCanceled("statement timeout")), False),
        (_django(pg_errors.UniqueViolation("duplicate"), django_db.IntegrityError), False),
        (SourceUnavailable("mongodb down"), False),
    ],
)
def test_only_a_failed_connection_is_retried_within_the_request(exc: BaseException, retried: bool) -> None:
    assert POLICY.retries_in_request(exc) is retried


def test_only_failures_postgres_returned_count_as_attempts() -> None:
    assert POLICY.counts_attempt(ErrorKind.REJECTED)
    assert POLICY.counts_attempt(ErrorKind.PERMANENT)
    assert not POLICY.counts_attempt(ErrorKind.TRANSIENT)


def test_the_breaker_opens_when_the_connection_is_gone_or_the_last_brief_retry_failed() -> None:
    lost = _django(PoolTimeout("no connection"))
    reset = _django(psycopg.OperationalError("server closed the connection unexpectedly"))
    assert POLICY.opens_breaker(lost, last_try=False)  # no connection: at once
    assert not POLICY.opens_breaker(reset, last_try=False)  # a broken statement: one more brief try
    assert POLICY.opens_breaker(reset, last_try=True)


def test_only_transient_failures_are_retried_until_a_drain_ends() -> None:
    assert POLICY.retries_while_draining(ErrorKind.TRANSIENT)
    assert not POLICY.retries_while_draining(ErrorKind.REJECTED)
    assert not POLICY.retries_while_draining(ErrorKind.PERMANENT)
