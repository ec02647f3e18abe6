"""Backfill: copy existing MongoDB documents into Postgres through the same mapping and version
guard as live writes, safely while the application is writing.

- It only inserts or replaces rows through the guarded bulk merge (`dualwrite.bulk`): a row that
  already holds a later state of the same life is left alone ("kept"). A row the guard refuses for
  any other reason (a tombstone or another life of the id, e.g. a document restored from a backup)
  is reconciled: locked, MongoDB re-read, and made to hold it (`dualwrite.reconcile`). It never
  truncates, and deletes only what MongoDB no longer holds when such a row is reconciled.
- It streams: a cursor in `_id` order read in batches, at most two batches in memory (the one
  Postgres merges and the one being read), whatever the collection's size.
- After each committed batch it stores its position (`dualwrite.checkpoint`), so a killed run
  resumes after the last committed batch; re-writing a batch is harmless (same version).
- A document the mapping cannot hold, or whose rows Postgres refuses (a constraint), is handed to
  `on_reject` (the app records it in the retry queue, like a failed live write) and the backfill
  goes on: a batch Postgres refuses is written again in halves down to the refused documents.
- Duplicates (`dualwrite.uniqueness`): documents are written in `_id` order, so of the documents
  sharing a domain-unique key the oldest is written and the others are refused by the unique
  constraint; they are counted as `duplicates` (and `rejected`) and handed to `on_reject` as
  PERMANENT with the holder's id. The run does not fail.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection

from dualwrite import metrics
from dualwrite.bulk import Batch, BulkLoader
from dualwrite.checkpoint import (
    FINISHED,
    LEGACY_IDS,
    MIN_OBJECT_ID,
    Checkpoint,
    CheckpointStore,
    Shard,
    shard_range,
)
from dualwrite.errors import MappingError
from dualwrite.mapping import CollectionMapping
from dualwrite.ordering import State
from dualwrite.policy import ErrorKind
from dualwrite.reconcile import Reconciler
from dualwrite.transform import RowSet, document_to_rows

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 5000
MAX_BATCH_SIZE = 100_000

ProgressHook = Callable[[int, int | None], None]  # (documents processed, expected total or None)
# (mapping, mongo_id, why, the error kind: PERMANENT when the mapping cannot hold the document,
# REJECTED when Postgres refused its rows) — never the document's contents.
RejectHook = Callable[[CollectionMapping, str, str, ErrorKind], None]


@dataclass
class BackfillReport:
    collection: str
    shard: str
    processed: int = 0  # documents read (this run plus the run it resumed)
    written: int = 0  # rows written (inserted, or replaced by an equal or higher version)
    kept: int = 0  # rows left alone: Postgres already held a later state of the same life
    reconciled: int = 0  # refused rows made to hold MongoDB's current document (tombstone, other life)
    rejected: int = 0  # documents not written: unmappable, refused by Postgres, or duplicates
    duplicates: int = 0  # of `rejected`: duplicates of a live row by a domain-unique key (this run)
    resumed_after: str | None = None  # _id the run continued after, None for a fresh start
    seconds: float = 0.0
    finished: bool = False

    @property
    def rate(self) -> float:
        return self.processed / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "shard": self.shard,
            "processed": self.processed,
            "written": self.written,
            "kept": self.kept,
            "reconciled": self.reconciled,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "resumed_after": self.resumed_after,
            "seconds": round(self.seconds, 3),
            "finished": self.finished,
        }


@dataclass
class _Position:
    """What one batch covers, handed back with its outcome."""

    last_id: ObjectId | None
    documents: int
    rejected: int = 0
    rowsets: int = field(default=0)


class Backfiller:
    def __init__(
        self,
        *,
        source: Callable[[str], Collection[dict[str, Any]]],
        checkpoints: CheckpointStore,
        loader: BulkLoader | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_reject: RejectHook | None = None,
        reconciler: Reconciler | None = None,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch size must be from 1 to {MAX_BATCH_SIZE}")
        self.source = source
        self.checkpoints = checkpoints
        self.loader = loader or BulkLoader()
        self.batch_size = batch_size
        self.on_reject = on_reject
        self.reconciler = reconciler

    def run(
        self,
        mapping: CollectionMapping,
        *,
        shard: Shard | None = None,
        restart: bool = False,
        progress: ProgressHook | None = None,
    ) -> BackfillReport:
        """Backfill one collection (or one shard of it), resuming an unfinished earlier run."""
        shard = shard or Shard()
        coll = self.source(mapping.collection)
        bounds = self.checkpoints.shard_bounds(mapping.collection, shard.count, lambda: _extent(coll))
        id_range = shard_range(bounds, shard)
        checkpoint = None if restart else self.checkpoints.load(mapping.collection, shard)
        if checkpoint is None or checkpoint.status == FINISHED:
            checkpoint = self.checkpoints.start(mapping.collection, shard)
        resumed_after = checkpoint.last_id
        total = coll.count_documents(id_range.query())
        documents: Iterable[dict[str, Any]] = (
            coll.find(id_range.query(after=resumed_after)).sort("_id", ASCENDING).batch_size(self.batch_size)
        )
        if shard.index == 0 and resumed_after is None:
            legacy = coll.find(LEGACY_IDS).sort("_id", ASCENDING).batch_size(self.batch_size)
            total += coll.count_documents(LEGACY_IDS)
            documents = _chain(legacy, documents)
        if resumed_after is not None:
            logger.info(
                "backfill %s shard %s resumes after %s (%d done)",
                mapping.collection, shard, resumed_after, checkpoint.processed,
            )  # fmt: skip
        report = self.load(mapping, documents, checkpoint=checkpoint, total=total, progress=progress)
        report.resumed_after = None if resumed_after is None else str(resumed_after)
        return report

    def load(
        self,
        mapping: CollectionMapping,
        documents: Iterable[dict[str, Any]],
        *,
        checkpoint: Checkpoint | None = None,
        total: int | None = None,
        progress: ProgressHook | None = None,
    ) -> BackfillReport:
        """Write documents (in `_id` order) through the guarded bulk merge, saving the position
        after every committed batch. `documents` may be any iterable: the MongoDB cursor of
        `run`, or a generator (benchmarks)."""
        report = BackfillReport(mapping.collection, checkpoint.shard if checkpoint else "0/1")
        if checkpoint is not None:
            report.processed, report.written, report.rejected = (
                checkpoint.processed,
                checkpoint.written,
                checkpoint.rejected,
            )
        started = time.perf_counter()
        if progress is not None:
            progress(report.processed, total)
        for batch in self.loader.write_stream(mapping, self._batches(mapping, documents)):
            position = batch.tag
            for mongo_id, why in batch.rejected.items():
                duplicate = mongo_id in batch.duplicates
                if duplicate:
                    logger.warning("backfill: not mirrored by the duplicate rule: %s", why)
                else:
                    logger.error("backfill: Postgres refused %s %s: %s", mapping.collection, mongo_id, why)
                if self.on_reject is not None:
                    kind = ErrorKind.PERMANENT if duplicate else ErrorKind.REJECTED
                    self.on_reject(mapping, mongo_id, why, kind)
            report.duplicates += len(batch.duplicates)
            metrics.count_backfill(mapping.collection, "duplicate", len(batch.duplicates))
            position.rejected += len(batch.rejected)
            position.rowsets -= len(batch.rejected)
            reconciled = self._settle(mapping, batch)
            report.processed += position.documents
            report.rejected += position.rejected
            report.written += len(batch.applied)
            report.reconciled += reconciled
            report.kept += position.rowsets - len(batch.applied) - reconciled
            metrics.count_backfill(mapping.collection, "written", len(batch.applied) + reconciled)
            metrics.count_backfill(
                mapping.collection, "kept", position.rowsets - len(batch.applied) - reconciled
            )
            metrics.count_backfill(mapping.collection, "rejected", position.rejected)
            if checkpoint is not None:
                if position.last_id is not None:
                    checkpoint.last_id = position.last_id
                checkpoint.processed, checkpoint.written, checkpoint.rejected = (
                    report.processed,
                    report.written,
                    report.rejected,
                )
                self.checkpoints.save(checkpoint)
            if progress is not None:
                progress(report.processed, total)
        report.seconds = time.perf_counter() - started
        report.finished = True
        if checkpoint is not None:
            checkpoint.status = FINISHED
            self.checkpoints.save(checkpoint)
        return report

    def _settle(self, mapping: CollectionMapping, batch: Batch[_Position]) -> int:
        """Reconcile the rows the guard refused that do not hold a later state of the same life."""
        if self.reconciler is None:
            return 0
        refused = {
            rs.mongo_id: State(rs.generation, rs.version)
            for rs in batch.rowsets
            if rs.mongo_id not in batch.applied and rs.mongo_id not in batch.rejected
        }
        return self.reconciler.settle_many(mapping, refused)

    def _batches(
        self, mapping: CollectionMapping, documents: Iterable[dict[str, Any]]
    ) -> Iterator[Batch[_Position]]:
        rowsets: list[RowSet] = []
        position = _Position(None, 0)
        for document in documents:
            position.documents += 1
            oid = document.get("_id")
            if isinstance(oid, ObjectId):
                position.last_id = oid
            try:
                rowsets.append(document_to_rows(mapping, document))
            except MappingError as exc:
                position.rejected += 1
                logger.error("backfill rejected a document: %s", exc)
                if self.on_reject is not None and exc.mongo_id is not None:
                    self.on_reject(mapping, exc.mongo_id, str(exc), ErrorKind.PERMANENT)
            if position.documents >= self.batch_size:
                position.rowsets = len(rowsets)
                yield Batch(rowsets, position)
                rowsets, position = [], _Position(None, 0)
        if position.documents:
            position.rowsets = len(rowsets)
            yield Batch(rowsets, position)


def _extent(coll: Collection[dict[str, Any]]) -> tuple[ObjectId, ObjectId] | None:
    """Smallest and largest ObjectId _id (two index lookups), or None when there is none."""
    query = {"_id": {"$gte": MIN_OBJECT_ID}}
    first = coll.find_one(query, {"_id": 1}, sort=[("_id", ASCENDING)])
    last = coll.find_one(query, {"_id": 1}, sort=[("_id", DESCENDING)])
    if first is None or last is None:
        return None
    return first["_id"], last["_id"]


def _chain(*parts: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for part in parts:
        yield from part
