"""EnhancedDualWriteService: DualWriteService plus batch operations (docs/DUAL_WRITE_SYSTEM.md)."""

from __future__ import annotations

from typing import Any

from dualwrite.engine import WriteResult
from dualwrite.operations import parse_operations
from todo.services.dual_write_service import DualWriteService


class EnhancedDualWriteService(DualWriteService):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_batch_results: list[WriteResult] = []

    def batch_operations(self, operations: list[dict[str, Any]]) -> bool:
        """Apply operations of the documented shape ({collection_name, data, mongo_id, operation});
        True only if every one reached Postgres. Per-operation outcomes: `last_batch_results`,
        or use `batch_operations_detailed`. A malformed operation raises InvalidOperationError
        before any operation is applied."""
        results = self.batch_operations_detailed(operations)
        return all(result.mirrored for result in results)

    def batch_operations_detailed(self, operations: list[dict[str, Any]]) -> list[WriteResult]:
        parsed = parse_operations(operations, self.engine.registry)
        self.last_batch_results = self.engine.batch(parsed)
        return self.last_batch_results
