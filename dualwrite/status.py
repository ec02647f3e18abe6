"""Status of every mapped collection: documents, rows, retry backlog, last verify, backfill."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connections
from pymongo.collection import Collection

from dualwrite.checkpoint import CheckpointStore
from dualwrite.mapping import PENDING_MARK_FIELD, MappingRegistry
from dualwrite.mirror_sql import quote
from dualwrite.queue import Backlog, RetryQueue
from dualwrite.reports import ReportStore


@dataclass
class CollectionStatus:
    collection: str
    documents: int  # MongoDB (the server's estimate: no collection scan)
    rows: int  # live Postgres rows
    tombstones: int  # Postgres rows of deleted documents
    backlog: Backlog
    last_verify: dict[str, Any] | None
    backfill: list[dict[str, Any]] = field(default_factory=list)
    # Documents whose latest write Postgres may not hold yet (pending marks): writes in flight,
    # writes of a process that died between its two writes (the worker's sweep picks them up),
    # and writes made while mirroring was off (DUAL_WRITE_ENABLED=False).
    unmirrored: int = 0

    def as_dict(self) -> dict[str, Any]:
        verify = None
        if self.last_verify is not None:
            verify = {
                k: self.last_verify.get(k) for k in ("equal", "drift", "counts", "finished_at", "repair")
            }
        return {
            "collection": self.collection,
            "documents": self.documents,
            "rows": self.rows,
            "tombstones": self.tombstones,
            "pending": self.backlog.pending,
            "failed": self.backlog.failed,
            "oldest_pending_age_seconds": self.backlog.oldest_pending_age_seconds,
            "unmirrored": self.unmirrored,
            "last_verify": verify,
            "backfill": self.backfill,
        }


class StatusReader:
    def __init__(
        self,
        *,
        registry: MappingRegistry,
        source: Callable[[str], Collection[dict[str, Any]]],
        queue: RetryQueue,
        reports: ReportStore,
        checkpoints: CheckpointStore,
        using: str = "default",
    ) -> None:
        self.registry = registry
        self.source = source
        self.queue = queue
        self.reports = reports
        self.checkpoints = checkpoints
        self.using = using

    def backlog(self) -> dict[str, Backlog]:
        """Unresolved retry records per collection, with the age of the oldest PENDING one."""
        return self.queue.backlog_by_collection()

    def unmirrored(self) -> dict[str, int]:
        """Documents with a pending mark, per collection."""
        return {
            mapping.collection: int(
                self.source(mapping.collection).count_documents({PENDING_MARK_FIELD: {"$exists": True}})
            )
            for mapping in self.registry
        }

    def last_reports(self) -> dict[str, dict[str, Any]]:
        return self.reports.latest_all(self.registry.collections)

    def row_counts(self) -> dict[str, tuple[int, int]]:
        """(live rows, tombstones) per collection."""
        counts: dict[str, tuple[int, int]] = {}
        with connections[self.using].cursor() as cursor:
            for mapping in self.registry:
                cursor.execute(
                    "SELECT count(*) FILTER (WHERE NOT source_deleted), count(*) FILTER (WHERE source_deleted)"
                    f" FROM {quote(mapping.table)}"
                )
                live, dead = cursor.fetchone()
                counts[mapping.collection] = (int(live), int(dead))
        return counts

    def collections(self) -> list[CollectionStatus]:
        backlog = self.backlog()
        reports = self.last_reports()
        rows = self.row_counts()
        unmirrored = self.unmirrored()
        positions: dict[str, list[dict[str, Any]]] = {}
        for checkpoint in self.checkpoints.positions():
            positions.setdefault(checkpoint.collection, []).append(
                {
                    "shard": checkpoint.shard,
                    "status": checkpoint.status,
                    "processed": checkpoint.processed,
                    "updated_at": checkpoint.updated_at,
                }
            )
        return [
            CollectionStatus(
                collection=mapping.collection,
                documents=int(self.source(mapping.collection).estimated_document_count()),
                rows=rows[mapping.collection][0],
                tombstones=rows[mapping.collection][1],
                backlog=backlog.get(mapping.collection, Backlog()),
                last_verify=reports.get(mapping.collection),
                backfill=positions.get(mapping.collection, []),
                unmirrored=unmirrored[mapping.collection],
            )
            for mapping in self.registry
        ]
