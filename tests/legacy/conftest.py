from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.legacy.dataset import LegacySummary, generate
from todo.db.mongo_manager import DatabaseManager

SEED = 7
USERS = 20  # about 370 documents


@pytest.fixture
def legacy(mongo_db: DatabaseManager, settings) -> Iterator[LegacySummary]:
    """A generated legacy database written under the existing app's physical collection names
    through the raw database, then the declared indexes (those its duplicates violate are skipped)."""
    settings.DUAL_WRITE_RETRY_DELAY = 0
    summary = generate(mongo_db.db, seed=SEED, users=USERS)
    mongo_db.ensure_indexes()
    yield summary
