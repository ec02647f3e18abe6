from __future__ import annotations

from collections.abc import Iterator

import pytest

from todo.db.embedded_postgres import EmbeddedPostgres, current_embedded_postgres
from todo.db.mongo_manager import DatabaseManager


@pytest.fixture
def mongo_db() -> Iterator[DatabaseManager]:
    """The process's MongoDB manager with an empty database, dropped again after the test."""
    manager = DatabaseManager.get()
    manager.client.drop_database(manager.db_name)
    yield manager
    manager.client.drop_database(manager.db_name)


@pytest.fixture
def embedded_postgres() -> EmbeddedPostgres:
    server = current_embedded_postgres()
    if server is None:
        pytest.fail("this test stops and starts PostgreSQL; needs the embedded server")
    return server


@pytest.fixture
def dual_write(mongo_db: DatabaseManager, settings):
    """A fresh EnhancedDualWriteService on an empty MongoDB; retries are due at once."""
    from todo.services.enhanced_dual_write_service import EnhancedDualWriteService

    settings.DUAL_WRITE_RETRY_DELAY = 0
    return EnhancedDualWriteService()
