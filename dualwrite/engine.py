"""The dual-write engine: MongoDB first, then the version-guarded Postgres mirror, and a durable
record of every mirror write that did not land.

Write path (see README "Reliability"):
1. The MongoDB write happens first and stands; it bumps the document's version `_v` in the same
   operation and returns the document as stored.
2. The stored document is mapped to rows and written in one statement guarded by that version.
3. A transient Postgres error is retried in-request for milliseconds only; then the failure is
   recorded in the retry queue (MongoDB) and the call still succeeds (returns False).
4. The worker re-reads the document from MongoDB for every retry, so applying late or twice is
   harmless.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import psycopg
from bson import ObjectId
from django.db import connections
from django.db import utils as django_db
from psycopg import errors as pg_errors
from psycopg_pool import PoolTimeout
from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, PyMongoError

from dualwrite import metrics
from dualwrite.errors import (
    DualWriteError,
    InvalidDocumentError,
    MappingError,
    PostgresUnavailable,
    ReadOnlyBackupError,
)
from dualwrite.mapping import VERSION_FIELD, CollectionMapping, MappingRegistry
from dualwrite.operations import CREATE, DELETE, UPDATE, Operation, apply_set
from dualwrite.policy import ErrorKind, RetryPolicy, classify, describe
from dualwrite.queue import FAILED, PENDING, QueueRecord, RetryQueue
from dualwrite.sink import PostgresSink
from dualwrite.transform import RowSet, document_to_rows, normalise_mongo_id

logger = logging.getLogger(__name__)

# Errors a Postgres write can raise; everything else is a bug and propagates.
DB_ERRORS: tuple[type[BaseException], ...] = (django_db.Error, psycopg.Error, PoolTimeout, DualWriteError)

SYNCED, SKIPPED, REJECTED = "SYNCED", "SKIPPED", "REJECTED"


class RetryOutcome(StrEnum):
    APPLIED = "applied"  # Postgres holds the document's current state; the record is resolved
    FAILED = "failed"  # the attempt failed and was counted (FAILED once attempts are used up)
    POSTPONED = "postponed"  # Postgres (or MongoDB) could not be reached; nothing was attempted


class Breaker:
    """Process-wide: after Postgres failed, writes go straight to the retry queue for a moment
    instead of each waiting on the connection pool. Only a shortcut: correctness never depends
    on it (the queue and the worker do the work)."""

    def __init__(self) -> None:
        self._until = 0.0
        self._lock = threading.Lock()

    def is_open(self) -> bool:
        return time.monotonic() < self._until

    def open(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, time.monotonic() + seconds)

    def close(self) -> None:
        with self._lock:
            self._until = 0.0


BREAKER = Breaker()


def _timed_out(exc: BaseException) -> bool:
    """A lock_timeout or statement_timeout of the bounded in-request write."""
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    return isinstance(cause, pg_errors.LockNotAvailable | pg_errors.QueryCanceled)


def _no_connection(exc: BaseException) -> bool:
    """True when no connection to Postgres could be had (the write never reached the server)."""
    return isinstance(exc, PoolTimeout | PostgresUnavailable) or isinstance(exc.__cause__, PoolTimeout)


@dataclass(frozen=True)
class WriteResult:
    """Outcome of one write: `mirrored` is True when Postgres holds the change (or a newer one)."""

    collection: str
    mongo_id: str
    operation: str
    mirrored: bool
    status: str  # SYNCED, PENDING, FAILED, SKIPPED (mirroring off) or REJECTED (nothing written)
    error: str | None = None
    # The document as MongoDB stored it (for delete: as it was removed; None if absent).
    document: dict[str, Any] | None = field(default=None, compare=False, repr=False)


AlertHook = Callable[[dict[str, Any]], None]


class DualWriteEngine:
    """Generic engine: knows collections only through the mapping registry."""

    def __init__(
        self,
        *,
        registry: MappingRegistry,
        source: Callable[[str], Collection[dict[str, Any]]],
        queue: RetryQueue,
        policy: RetryPolicy,
        sink: PostgresSink | None = None,
        enabled: bool = True,
        alert: AlertHook | None = None,
        breaker_seconds: float = 2.0,
        read_only: bool = False,
    ) -> None:
        self.registry = registry
        self.source = source
        self.queue = queue
        self.policy = policy
        self.sink = sink or PostgresSink()
        self.enabled = enabled
        self.alert = alert
        self.breaker_seconds = breaker_seconds
        self.read_only = read_only  # MongoDB is a read-only backup (last migration phase)

    # == writes through MongoDB =================================================================
    def create(self, collection: str, mongo_id: str, data: dict[str, Any]) -> WriteResult:
        """Insert the document into MongoDB (an existing one with that id stands) and mirror it."""
        self._writable()
        mapping, oid = self._target(collection, mongo_id)
        document = self._new_document(mapping, oid, data)
        stored = self._insert(mapping, document)
        return replace(self._mirror_document(mapping, CREATE, stored), document=stored)

    def update(self, collection: str, mongo_id: str, data: dict[str, Any]) -> WriteResult:
        """`$set` the fields in MongoDB (creating the document when absent) and mirror the result."""
        self._writable()
        mapping, oid = self._target(collection, mongo_id)
        self._check_update(mapping, oid, data)
        stored = self._coll(mapping).find_one_and_update(
            {"_id": oid},
            {"$set": data, "$inc": {VERSION_FIELD: 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return replace(self._mirror_document(mapping, UPDATE, stored), document=stored)

    def delete(self, collection: str, mongo_id: str) -> WriteResult:
        """Delete from MongoDB (absent is fine) and leave a tombstone in Postgres."""
        self._writable()
        mapping, oid = self._target(collection, mongo_id)
        removed = self._coll(mapping).find_one_and_delete({"_id": oid})
        return replace(self._mirror_delete(mapping, str(oid), _deleted_version(removed)), document=removed)

    def batch(self, operations: list[Operation]) -> list[WriteResult]:
        """Apply operations to MongoDB in order, then mirror each collection's changes with one
        statement per collection; a document Postgres rejects fails alone and is recorded."""
        self._writable()
        results: list[WriteResult | None] = [None] * len(operations)
        upserts: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        deletes: dict[str, list[tuple[int, str, int]]] = {}
        for index, op in enumerate(operations):
            mapping = self.registry.get(op.collection_name)
            oid = ObjectId(op.mongo_id)
            try:
                if op.operation == DELETE:
                    removed = self._coll(mapping).find_one_and_delete({"_id": oid})
                    deletes.setdefault(mapping.collection, []).append(
                        (index, str(oid), _deleted_version(removed))
                    )
                    continue
                if op.operation == CREATE:
                    stored = self._insert(mapping, self._new_document(mapping, oid, op.data or {}))
                else:
                    self._check_update(mapping, oid, op.data or {})
                    stored = self._coll(mapping).find_one_and_update(
                        {"_id": oid},
                        {"$set": op.data, "$inc": {VERSION_FIELD: 1}},
                        upsert=True,
                        return_document=ReturnDocument.AFTER,
                    )
            except (MappingError, InvalidDocumentError) as exc:
                results[index] = WriteResult(
                    mapping.collection, str(oid), op.operation, False, REJECTED, str(exc)
                )
                continue
            upserts.setdefault(mapping.collection, []).append((index, stored))
        for collection, items in upserts.items():
            mapping = self.registry.get(collection)
            for index, result in self._mirror_many(
                mapping, [(i, operations[i].operation, d) for i, d in items]
            ):
                results[index] = result
        for collection, dels in deletes.items():
            mapping = self.registry.get(collection)
            for index, mongo_id, version in dels:
                results[index] = self._mirror_delete(mapping, mongo_id, version)
        return [r for r in results if r is not None]

    # == mirroring a MongoDB write made elsewhere (repositories) ================================
    def mirror(
        self, collection: str, mongo_id: str, operation: str, document: dict[str, Any] | None = None
    ) -> WriteResult:
        """Mirror a MongoDB write already made. A document without its version (e.g. the fields
        of a partial update) is not trusted: the stored document is re-read instead."""
        mapping, oid = self._target(collection, mongo_id)
        if operation == DELETE:
            return self._mirror_delete(mapping, str(oid), _deleted_version(document))
        if document is None or VERSION_FIELD not in document or document.get("_id") != oid:
            document = self._coll(mapping).find_one({"_id": oid})
            if document is None:  # deleted meanwhile: the delete is what Postgres must hold
                return self._mirror_delete(mapping, str(oid), 0)
        return self._mirror_document(mapping, operation, document)

    # == retries ================================================================================
    def retry_record(self, record: QueueRecord, owner: str) -> RetryOutcome:
        """Re-apply one leased queue record from the current MongoDB document.

        When no connection to Postgres can be had at all, the record was not attempted: it is
        postponed without using up an attempt (an outage must not exhaust every record)."""
        mapping = self.registry.get(record.collection)
        try:
            document = self._coll(mapping).find_one({"_id": ObjectId(record.mongo_id)})
        except PyMongoError as exc:
            logger.error(
                "retry: MongoDB read failed for %s %s (%s)", record.collection, record.mongo_id, describe(exc)
            )
            self.queue.release(record, owner)
            return RetryOutcome.POSTPONED
        metrics.count(record.collection, record.operation, "retried")
        try:
            if document is None:
                self._write(mapping.collection, lambda: self.sink.tombstone(mapping, {record.mongo_id: 0}))
            else:
                rowset = document_to_rows(mapping, document)
                self._write(mapping.collection, lambda: self.sink.upsert(mapping, [rowset]))
        except (MappingError, *DB_ERRORS) as exc:
            error = describe(exc)
            if _no_connection(exc):
                self.queue.postpone(record, owner, error)
                logger.warning(
                    "retry postponed, Postgres unavailable: %s %s", record.collection, record.mongo_id
                )
                return RetryOutcome.POSTPONED
            status = self.queue.attempt_failed(record, owner, error, classify(exc))
            metrics.count(record.collection, record.operation, "failed")
            logger.error(
                "retry failed: collection=%s mongo_id=%s operation=%s attempt=%d error=%s",
                record.collection, record.mongo_id, record.operation, record.attempts + 1, error,
            )  # fmt: skip
            if status == FAILED:
                self._exhausted(mapping, record.mongo_id, record.operation, error, record.attempts + 1)
            return RetryOutcome.FAILED
        self.queue.resolve(record, owner)
        metrics.count(record.collection, record.operation, "succeeded")
        return RetryOutcome.APPLIED

    def retry_document(self, collection: str, mongo_id: str, owner: str, lease_seconds: float) -> bool:
        """Manual retry of one document: re-apply it now from MongoDB, whatever its schedule."""
        mapping, oid = self._target(collection, mongo_id)
        BREAKER.close()  # an operator asked to try now: do not wait out the breaker
        record = self.queue.claim_document(mapping.collection, str(oid), owner, lease_seconds)
        if record is not None:
            return self.retry_record(record, owner) is RetryOutcome.APPLIED
        return self.mirror(mapping.collection, str(oid), UPDATE).mirrored

    # == status =================================================================================
    def sync_status(self, collection: str, mongo_id: str) -> str | None:
        """PENDING or FAILED while the document's latest change waits in the queue, else the
        row's status; None when neither knows the document."""
        mapping, oid = self._target(collection, mongo_id)
        record = self.queue.find_unresolved(mapping.collection, str(oid))
        if record is not None:
            return record.status
        rows = self.sink.fetch(mapping, [str(oid)])
        if not rows:
            return None
        row, _children = rows[str(oid)]
        return str(row["sync_status"])

    # == internals ==============================================================================
    def _writable(self) -> None:
        if self.read_only:
            raise ReadOnlyBackupError(
                "MongoDB is a read-only backup in this migration phase; write to Postgres"
            )

    def _target(self, collection: str, mongo_id: str) -> tuple[CollectionMapping, ObjectId]:
        mapping = self.registry.get(collection)
        return mapping, ObjectId(normalise_mongo_id(mongo_id))

    def _coll(self, mapping: CollectionMapping) -> Collection[dict[str, Any]]:
        return self.source(mapping.collection)

    def _new_document(
        self, mapping: CollectionMapping, oid: ObjectId, data: dict[str, Any]
    ) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise InvalidDocumentError("data must be an object")
        if "_id" in data and str(data["_id"]) != str(oid):
            raise InvalidDocumentError("data['_id'] differs from mongo_id")
        document = {**{k: v for k, v in data.items() if k != VERSION_FIELD}, "_id": oid, VERSION_FIELD: 1}
        document_to_rows(mapping, document)  # reject what the mirror cannot hold before writing
        return document

    def _check_update(self, mapping: CollectionMapping, oid: ObjectId, data: dict[str, Any]) -> None:
        if not isinstance(data, dict) or not data:
            raise InvalidDocumentError("data must be a non-empty object of fields to set")
        for key in data:
            if not isinstance(key, str) or key.startswith("$") or key in ("_id", VERSION_FIELD):
                raise InvalidDocumentError(f"field {str(key)[:40]!r} cannot be set")
        current = self._coll(mapping).find_one({"_id": oid}) or {"_id": oid}
        document_to_rows(mapping, apply_set(current, data))  # reject before writing

    def _insert(self, mapping: CollectionMapping, document: dict[str, Any]) -> dict[str, Any]:
        try:
            self._coll(mapping).insert_one(document)
        except DuplicateKeyError:
            # Created before (a repeated create): MongoDB's stored document stands and is mirrored.
            stored = self._coll(mapping).find_one({"_id": document["_id"]})
            if stored is not None:
                return stored
            raise
        return document

    def _mirror_document(
        self, mapping: CollectionMapping, operation: str, document: dict[str, Any]
    ) -> WriteResult:
        mongo_id = str(document["_id"])
        if not self.enabled:
            metrics.count(mapping.collection, operation, "skipped")
            return WriteResult(mapping.collection, mongo_id, operation, False, SKIPPED)
        metrics.count(mapping.collection, operation, "attempted")
        try:
            rowset = document_to_rows(mapping, document)
            self._write(mapping.collection, lambda: self.sink.upsert(mapping, [rowset]))
        except (MappingError, *DB_ERRORS) as exc:
            return self._failed(mapping, mongo_id, operation, exc)
        metrics.count(mapping.collection, operation, "succeeded")
        return WriteResult(mapping.collection, mongo_id, operation, True, SYNCED)

    def _mirror_many(
        self, mapping: CollectionMapping, items: list[tuple[int, str, dict[str, Any]]]
    ) -> Iterable[tuple[int, WriteResult]]:
        """Mirror many stored documents of one collection with one statement; when Postgres
        rejects the batch, write them one by one so that only the bad ones fail."""
        if not self.enabled:
            for index, operation, document in items:
                metrics.count(mapping.collection, operation, "skipped")
                yield index, WriteResult(mapping.collection, str(document["_id"]), operation, False, SKIPPED)
            return
        good: list[tuple[int, str, RowSet]] = []
        for index, operation, document in items:
            metrics.count(mapping.collection, operation, "attempted")
            try:
                good.append((index, operation, document_to_rows(mapping, document)))
            except MappingError as exc:
                yield index, self._failed(mapping, str(document["_id"]), operation, exc)
        if not good:
            return
        try:
            self._write(mapping.collection, lambda: self.sink.upsert(mapping, [rs for _, _, rs in good]))
        except DB_ERRORS as exc:
            if classify(exc) is ErrorKind.TRANSIENT:
                for index, operation, rs in good:
                    yield index, self._failed(mapping, rs.mongo_id, operation, exc)
                return
            for index, operation, rs in good:  # isolate the rows Postgres rejects
                try:
                    self._write(mapping.collection, lambda rs=rs: self.sink.upsert(mapping, [rs]))
                except DB_ERRORS as one:
                    yield index, self._failed(mapping, rs.mongo_id, operation, one)
                else:
                    metrics.count(mapping.collection, operation, "succeeded")
                    yield index, WriteResult(mapping.collection, rs.mongo_id, operation, True, SYNCED)
            return
        for index, operation, rs in good:
            metrics.count(mapping.collection, operation, "succeeded")
            yield index, WriteResult(mapping.collection, rs.mongo_id, operation, True, SYNCED)

    def _mirror_delete(self, mapping: CollectionMapping, mongo_id: str, version: int) -> WriteResult:
        if not self.enabled:
            metrics.count(mapping.collection, DELETE, "skipped")
            return WriteResult(mapping.collection, mongo_id, DELETE, False, SKIPPED)
        metrics.count(mapping.collection, DELETE, "attempted")
        try:
            self._write(mapping.collection, lambda: self.sink.tombstone(mapping, {mongo_id: version}))
        except DB_ERRORS as exc:
            return self._failed(mapping, mongo_id, DELETE, exc)
        metrics.count(mapping.collection, DELETE, "succeeded")
        return WriteResult(mapping.collection, mongo_id, DELETE, True, SYNCED)

    def _write(self, collection: str, statement: Callable[[], Any]) -> Any:
        """Run one sink statement; retry transient errors on a live connection for milliseconds."""
        if BREAKER.is_open():
            raise PostgresUnavailable("Postgres failed moments ago; write queued")
        delays = (0.0, *self.policy.in_request_delays)
        for attempt, delay in enumerate(delays):
            if delay:
                time.sleep(delay)
            started = time.perf_counter()
            try:
                result = statement()
            except DB_ERRORS as exc:
                self._discard_connection()
                if classify(exc) is not ErrorKind.TRANSIENT or _timed_out(exc):
                    raise  # a lock or statement timeout: Postgres is slow, not down; queue it now
                if _no_connection(exc) or attempt == len(delays) - 1:
                    BREAKER.open(self.breaker_seconds)
                    raise
                continue
            metrics.observe(collection, time.perf_counter() - started)
            return result
        raise AssertionError("unreachable")

    def _discard_connection(self) -> None:
        connection = connections[self.sink.using]
        if not connection.in_atomic_block:
            connection.close()

    def _failed(
        self, mapping: CollectionMapping, mongo_id: str, operation: str, exc: BaseException
    ) -> WriteResult:
        """Record a failed mirror write durably and report it; the MongoDB write stands."""
        kind, error = classify(exc), describe(exc)
        metrics.count(mapping.collection, operation, "failed")
        logger.error(
            "dual-write failed: collection=%s mongo_id=%s operation=%s error=%s",
            mapping.collection, mongo_id, operation, error,
        )  # fmt: skip
        try:
            record = self.queue.record_failure(mapping.collection, mongo_id, operation, error, kind)
        except PyMongoError as queue_exc:
            logger.critical(
                "dual-write failure NOT RECORDED (retry queue unavailable: %s): collection=%s mongo_id=%s;"
                " run `dualwrite verify --repair`",
                type(queue_exc).__name__, mapping.collection, mongo_id,
            )  # fmt: skip
            return WriteResult(mapping.collection, mongo_id, operation, False, PENDING, error)
        if record.status == FAILED:
            self._exhausted(mapping, mongo_id, operation, error, record.attempts)
        elif kind is not ErrorKind.TRANSIENT:
            self._mark_row(mapping, mongo_id, PENDING, error)
        return WriteResult(mapping.collection, mongo_id, operation, False, record.status, error)

    def _exhausted(
        self, mapping: CollectionMapping, mongo_id: str, operation: str, error: str, attempts: int
    ) -> None:
        logger.critical(
            "dual-write gave up: collection=%s mongo_id=%s operation=%s attempts=%d error=%s",
            mapping.collection, mongo_id, operation, attempts, error,
        )  # fmt: skip
        self._mark_row(mapping, mongo_id, FAILED, error)
        if self.alert is not None:
            event = {
                "collection": mapping.collection,
                "mongo_id": mongo_id,
                "operation": operation,
                "error": error,
                "attempts": attempts,
                "status": FAILED,
            }
            try:
                self.alert(event)
            except Exception:  # a hook must never break the write path; it is logged in full
                logger.exception("dual-write alert hook raised")

    def _mark_row(self, mapping: CollectionMapping, mongo_id: str, status: str, error: str) -> None:
        """Best effort: show the status on the row too (the queue stays the record)."""
        try:
            self._write(mapping.collection, lambda: self.sink.set_status(mapping, mongo_id, status, error))
        except DB_ERRORS as exc:
            logger.warning(
                "could not mark %s %s %s (%s)", mapping.collection, mongo_id, status, describe(exc)
            )


def _deleted_version(document: dict[str, Any] | None) -> int:
    """Version of a tombstone: one above the deleted document's last version."""
    if not document:
        return 0
    try:
        return int(document.get(VERSION_FIELD, 0)) + 1
    except (TypeError, ValueError):
        return 0
