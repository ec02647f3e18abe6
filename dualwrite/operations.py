"""Write operations as data: the batch operation shape of docs/DUAL_WRITE_SYSTEM.md, validated up front."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dualwrite.errors import DualWriteError, InvalidOperationError
from dualwrite.mapping import MappingRegistry
from dualwrite.transform import normalise_mongo_id

CREATE, UPDATE, DELETE = "create", "update", "delete"
OPERATIONS = (CREATE, UPDATE, DELETE)
_KEYS = {"collection_name", "operation", "mongo_id", "data"}


@dataclass(frozen=True)
class Operation:
    collection_name: str
    operation: str
    mongo_id: str
    data: dict[str, Any] | None = None


def parse_operations(raw: Iterable[Any], registry: MappingRegistry) -> list[Operation]:
    """Validate every operation before any is applied; the first problem raises
    InvalidOperationError naming the operation's index."""
    parsed: list[Operation] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise InvalidOperationError(index, "must be an object")
        unknown = set(item) - _KEYS
        if unknown:
            raise InvalidOperationError(index, f"unknown keys {sorted(map(str, unknown))}")
        operation = item.get("operation")
        if operation not in OPERATIONS:
            raise InvalidOperationError(index, f"operation must be one of {', '.join(OPERATIONS)}")
        collection = item.get("collection_name")
        if not isinstance(collection, str) or collection not in registry:
            raise InvalidOperationError(index, f"unknown collection {str(collection)[:40]!r}")
        try:
            mongo_id = normalise_mongo_id(item.get("mongo_id"))
        except DualWriteError as exc:
            raise InvalidOperationError(index, str(exc)) from None
        data = item.get("data")
        if operation != DELETE and not isinstance(data, dict):
            raise InvalidOperationError(index, "data must be an object")
        parsed.append(Operation(collection, operation, mongo_id, data))
    return parsed


def apply_set(document: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """The document as MongoDB's `$set` of `fields` would leave it (dotted paths included)."""
    result = copy.deepcopy(document)
    for path, value in fields.items():
        target = result
        parts = path.split(".")
        for part in parts[:-1]:
            nested = target.get(part)
            if not isinstance(nested, dict):
                nested = {}
                target[part] = nested
            target = nested
        target[parts[-1]] = value
    return result
