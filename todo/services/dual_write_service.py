"""DualWriteService: the documented dual-write API (docs/DUAL_WRITE_SYSTEM.md "Usage").

Each write goes to MongoDB first (the source of truth), then to Postgres. The methods return True
when Postgres holds the change, False when the change was recorded in the durable retry queue
(or mirroring is off: DUAL_WRITE_ENABLED=False). Misuse raises a typed error and changes nothing:
UnknownCollectionError, InvalidMongoIdError, InvalidDocumentError, MappingError,
DocumentNotFoundError (an update of an absent document without upsert).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from dualwrite import metrics
from dualwrite.engine import DualWriteEngine, WriteResult
from dualwrite.transform import normalise_mongo_id
from todo.wiring import dual_write_engine


class DualWriteService:
    def __init__(self, engine: DualWriteEngine | None = None) -> None:
        self.engine = engine or dual_write_engine()
        self.last_result: WriteResult | None = None

    # -- writes ------------------------------------------------------------------------------
    def create_document(self, collection_name: str, data: dict[str, Any], mongo_id: str) -> bool:
        """Insert `data` as document `mongo_id` (an existing document stands) and mirror it."""
        return self._done(self.engine.create(collection_name, mongo_id, data))

    def update_document(
        self, collection_name: str, mongo_id: str, data: dict[str, Any], *, upsert: bool = False
    ) -> bool:
        """Set the fields of `data` on the document and mirror the whole stored document, never
        just the fields passed. `data` may be the whole document: its `_id` must be `mongo_id`
        (else InvalidDocumentError), the engine's keys (`_v`, `_gen`, `_dw`) are ignored. An
        absent document raises DocumentNotFoundError and nothing is written, unless `upsert=True`
        (then it is created)."""
        return self._done(self.engine.update(collection_name, mongo_id, data, upsert=upsert))

    def delete_document(self, collection_name: str, mongo_id: str) -> bool:
        """Delete the document from MongoDB and tombstone its Postgres row."""
        return self._done(self.engine.delete(collection_name, mongo_id))

    def mirror_document(
        self, collection_name: str, mongo_id: str, operation: str, document: dict[str, Any] | None = None
    ) -> bool:
        """Mirror a MongoDB write the caller already made (repositories)."""
        return self._done(self.engine.mirror(collection_name, mongo_id, operation, document))

    def _done(self, result: WriteResult) -> bool:
        self.last_result = result
        return result.mirrored

    # -- failures, retries, status -------------------------------------------------------------
    def get_sync_failures(self, limit: int = 100, collection_name: str | None = None) -> list[dict[str, Any]]:
        """Unresolved failed writes (PENDING and FAILED), most recently updated first. Records
        whose documents a later write has mirrored are resolved first and not listed."""
        records = self.engine.refresh(self.engine.queue.unresolved(limit, collection_name))
        return [record.as_dict() for record in records]

    def retry_failed_sync(self, collection_name: str, mongo_id: str) -> bool:
        """Re-apply one document now from MongoDB, whatever its retry schedule; True on success."""
        return self.engine.retry_document(
            collection_name, mongo_id, owner=f"manual:{normalise_mongo_id(mongo_id)}",
            lease_seconds=settings.DUAL_WRITE_LEASE_SECONDS,
        )  # fmt: skip

    def get_sync_status(self, collection_name: str, mongo_id: str) -> str | None:
        """'SYNCED' only when Postgres holds MongoDB's current state of the document; 'FAILED' when
        its retries gave up; 'PENDING' otherwise (queued, in flight, or not mirrored yet); None
        when neither store knows the document. Trust this over a row's `sync_status` column,
        which is only updated when Postgres can be reached."""
        return self.engine.sync_status(collection_name, mongo_id)

    def get_sync_metrics(self) -> dict[str, Any]:
        """Counts by collection and operation, backlog from the retry queue, write latency."""
        counts = metrics.event_counts()
        totals = dict.fromkeys(metrics.EVENTS, 0)
        for per_collection in counts.values():
            for per_operation in per_collection.values():
                for event, value in per_operation.items():
                    totals[event] += value
        return {
            "enabled": self.engine.enabled,
            "totals": totals,
            "by_collection": counts,
            "backlog": self.engine.queue.backlog(),
            "postgres_write_latency": metrics.LATENCIES.percentiles(),
        }
