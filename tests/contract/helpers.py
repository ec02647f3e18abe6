"""Checks shared by the contract tests: shapes the client reads, and the Postgres mirror."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.engine.helpers import mirror_differences, mongo_ids
from todo.mappings import get_registry


def mirrored_everywhere() -> dict[str, dict[str, str]]:
    """{collection: {id: what differs}} for every mirrored collection ({} when Postgres holds
    exactly what MongoDB holds)."""
    problems = {name: mirror_differences(name, mongo_ids(name)) for name in get_registry().collections}
    return {name: found for name, found in problems.items() if found}


def is_zoned_datetime(value: Any) -> bool:
    """An ISO-8601 date-time with an explicit zone (`Z` or an offset), as `new Date()` reads it."""
    if not isinstance(value, str):
        return False
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return parsed.tzinfo is not None and "T" in value


def keys_of(value: dict[str, Any], *expected: str) -> None:
    """Every key the client reads is present (extra keys are allowed)."""
    missing = [key for key in expected if key not in value]
    assert not missing, f"missing keys {missing} in {sorted(value)}"
