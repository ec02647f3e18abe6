from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.api.conftest import make_user  # noqa: F401  (fixture of the rollback test)
from todo.repositories.mongo_repository import MONGO_REPOSITORIES
from todo.repositories.postgres_repository import POSTGRES_REPOSITORIES


@pytest.fixture(params=["mongo", "postgres"])
def repo(request: pytest.FixtureRequest, mongo_db: Any, settings: Any) -> Callable[[str], Any]:
    """repo("tasks") → the repository of that collection in the implementation under test."""
    settings.DUAL_WRITE_RETRY_DELAY = 0
    family = MONGO_REPOSITORIES if request.param == "mongo" else POSTGRES_REPOSITORIES
    return lambda collection: family[collection]()
