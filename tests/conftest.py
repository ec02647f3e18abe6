from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import DatabaseError, connection

from dualwrite.engine import BREAKER
from todo.db.embedded_postgres import EmbeddedPostgres, current_embedded_postgres
from todo.db.mongo_manager import DatabaseManager

pytest_plugins = ["tests.browser"]  # the headless Chromium fixtures

# Set by tests/wire/run_lane.py: this run talks to the wire-protocol MongoDB server of the tests.
WIRE_LANE = os.environ.get("WIRE_LANE") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With MONGODB_URI set (a real server), tests marked `stand_in_only` are skipped with their
    reason (the wire lane deselects them outright with `-m "not stand_in_only"`)."""
    if not os.environ.get("MONGODB_URI"):
        return
    for item in items:
        marker = item.get_closest_marker("stand_in_only")
        if marker is not None:
            reason = marker.kwargs.get("reason", "needs the in-process MongoDB stand-in")
            item.add_marker(pytest.mark.skip(reason=f"stand_in_only: {reason}"))


@pytest.fixture(scope="session", autouse=True)
def database_server() -> EmbeddedPostgres | None:
    """The test run's embedded PostgreSQL (POSTGRES_HOST unset), started before any test: since
    `django.setup()` starts none, the suite starts it as every entry point does (todo.db.startup)."""
    from todo.db.startup import start_database

    return start_database()


@pytest.fixture(scope="session")
def django_db_setup(database_server: EmbeddedPostgres | None, django_db_setup: Any) -> None:
    """pytest-django's test database, made once the server is up (whatever the fixture order)."""


@pytest.fixture(autouse=True)
def fresh_runtime_flags() -> Iterator[None]:
    """Each test reads the runtime flags anew (rows of an earlier test's transaction are gone)."""
    from todo import runtime_flags

    runtime_flags.invalidate()
    yield
    runtime_flags.invalidate()


@pytest.fixture(autouse=True)
def fresh_engine() -> Iterator[None]:
    """Each test gets an engine built from its own settings and phase (`todo.wiring` caches one
    per process; a setting changed through the `settings` fixture also drops it)."""
    from todo.wiring import reset_engine

    reset_engine()
    yield
    reset_engine()


@pytest.fixture(scope="session", autouse=True)
def pool_closed_before_the_test_database_goes(django_db_setup: Any) -> Iterator[None]:
    """Threads of the tests (jobs, workers, concurrent writers) hand their connections back to the
    pool, which keeps them open: close it, so that the test database can be dropped at the end."""
    yield
    from django.db import connections

    for alias in connections:
        close_pool = getattr(connections[alias], "close_pool", None)
        if close_pool is not None:
            close_pool()


@pytest.fixture(scope="session", autouse=WIRE_LANE)
def wire_lane_uses_a_real_client() -> None:
    """In the wire lane, refuse to run against the stand-in by mistake: the process's manager must
    hold a real pymongo client for MONGODB_URI, and the server must answer."""
    from pymongo import MongoClient

    manager = DatabaseManager.get()
    assert not manager.in_process and manager.uri, "wire lane without MONGODB_URI"
    assert type(manager.client) is MongoClient, type(manager.client)
    manager.ping()


@pytest.fixture
def mongo_db() -> Iterator[DatabaseManager]:
    """The process's MongoDB manager with an empty database, dropped again after the test."""
    manager = DatabaseManager.get()
    manager.client.drop_database(manager.db_name)
    yield manager
    manager.client.drop_database(manager.db_name)


def wait_for_postgres(deadline: float = 20.0) -> None:
    """Block until a pooled connection works again (after the server was restarted).

    Inside a test's transaction (whose connection the restart broke; Django rolls it back) only the
    server itself is waited for."""
    stop_at = time.monotonic() + deadline
    if connection.in_atomic_block:
        params = connection.get_connection_params()
        while True:
            try:
                psycopg.connect(**params).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > stop_at:
                    raise
                time.sleep(0.2)
    # A connection made before the restart may still reach an orphaned backend of the killed
    # server, which answers (the pool's check included) until it notices its postmaster is gone:
    # drop this thread's connection and every pooled one.
    connection.close()
    connection.close_pool()
    while True:
        try:
            connection.ensure_connection()
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            return
        except DatabaseError:
            connection.close()
            if time.monotonic() > stop_at:
                raise
            time.sleep(0.2)


@pytest.fixture
def embedded_postgres(django_db_blocker: Any) -> Iterator[EmbeddedPostgres]:
    """The embedded server, for tests that stop it; it is running and reachable again after."""
    server = current_embedded_postgres()
    if server is None:
        pytest.fail("this test stops and starts PostgreSQL; needs the embedded server")
    yield server
    server.start()
    with django_db_blocker.unblock():
        wait_for_postgres()
    BREAKER.close()  # the next test does not inherit "Postgres failed moments ago"


@pytest.fixture
def dual_write(mongo_db: DatabaseManager, settings):
    """A fresh EnhancedDualWriteService on an empty MongoDB; retries are due at once."""
    from todo.services.enhanced_dual_write_service import EnhancedDualWriteService

    settings.DUAL_WRITE_RETRY_DELAY = 0
    return EnhancedDualWriteService()
