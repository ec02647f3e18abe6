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
from functools import partial
from typing import Any, TypeVar

import psycopg
from bson import ObjectId
from django.db import connections
from django.db import utils as django_db
from psycopg_pool import PoolTimeout
from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, PyMongoError

from dualwrite import metrics
from dualwrite.errors import (
    DocumentNotFoundError,
    DualWriteError,
    DuplicateKeyConflict,
    InvalidDocumentError,
    InvalidMongoIdError,
    MappingError,
    PostgresUnavailable,
    ReadOnlyBackupError,
)
from dualwrite.mapping import (
    ENGINE_FIELDS,
    GENERATION_FIELD,
    PENDING_MARK_FIELD,
    VERSION_FIELD,
    CollectionMapping,
    MappingRegistry,
)
from dualwrite.operations import CREATE, DELETE, UPDATE, Operation, apply_set
from dualwrite.ordering import State, document_state, in_step
from dualwrite.policy import ErrorKind, RetryPolicy, classify, describe
from dualwrite.queue import FAILED, PENDING, QueueRecord, RetryQueue
from dualwrite.reconcile import Reconciler
from dualwrite.sink import PostgresSink
from dualwrite.transform import RowSet, document_to_rows, normalise_mongo_id
from dualwrite.uniqueness import find_holder, violated_key

logger = logging.getLogger(__name__)

# Errors a Postgres write can raise; everything else is a bug and propagates.
DB_ERRORS: tuple[type[BaseException], ...] = (django_db.Error, psycopg.Error, PoolTimeout, DualWriteError)
# What a mirror write can fail with: the document cannot be mapped, or Postgres refused the write.
MIRROR_ERRORS: tuple[type[BaseException], ...] = (MappingError, *DB_ERRORS)
# ... and what reading the document that holds a unique key can fail with besides.
HOLDER_LOOKUP_ERRORS: tuple[type[BaseException], ...] = (PyMongoError, *MIRROR_ERRORS)

SYNCED, SKIPPED, REJECTED = "SYNCED", "SKIPPED", "REJECTED"
MIRRORING_OFF = "mirroring off (DUAL_WRITE_ENABLED=False): not mirrored yet"
# A delete's intent is due this long after it was recorded: by then its writer is done or dead.
INTENT_GRACE_SECONDS = 5.0
T = TypeVar("T")


class RetryOutcome(StrEnum):
    APPLIED = "applied"  # Postgres holds the document's current state; the record is resolved
    FAILED = "failed"  # the attempt failed and was counted (FAILED once attempts are used up)
    POSTPONED = "postponed"  # Postgres (or MongoDB) could not be reached; nothing was attempted


@dataclass(frozen=True)
class ManualRetry:
    """What a manual retry of several documents did."""

    attempted: int
    applied: int  # documents Postgres now holds in their current state

    @property
    def still_failing(self) -> int:
        return self.attempted - self.applied


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
        intent_grace: float = INTENT_GRACE_SECONDS,
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
        # How long a delete's durable intent waits before a worker treats its writer as dead.
        self.intent_grace = intent_grace

    @property
    def reconciler(self) -> Reconciler:
        return Reconciler(self.sink, self.source)

    # == writes through MongoDB =================================================================
    def create(self, collection: str, mongo_id: str, data: dict[str, Any]) -> WriteResult:
        """Insert the document into MongoDB (an existing one with that id stands) and mirror it."""
        self._writable()
        mapping, oid = self._target(collection, mongo_id)
        document, rowset = self._new_document(mapping, oid, data)
        stored = self._insert(mapping, document)
        # The rows mapped to validate the document are the stored document's, unless the id
        # existed before (a repeated create: MongoDB's earlier document stands and is mapped).
        return self._mirror_stored(mapping, CREATE, stored, rowset if stored is document else None)

    def update(
        self, collection: str, mongo_id: str, data: dict[str, Any], *, upsert: bool = False
    ) -> WriteResult:
        """`$set` the fields in MongoDB and mirror the whole stored document. An absent document
        raises DocumentNotFoundError and nothing is written, unless `upsert` (then it is created,
        starting a new generation)."""
        self._writable()
        mapping, oid = self._target(collection, mongo_id)
        fields = self._check_update(mapping, oid, data)
        stored = self._coll(mapping).find_one_and_update(
            {"_id": oid}, _update_spec(fields, upsert), upsert=upsert, return_document=ReturnDocument.AFTER
        )
        if stored is None:  # absent: an update never creates a document unless asked to
            raise DocumentNotFoundError(mapping.collection, str(oid))
        return self._mirror_stored(mapping, UPDATE, stored)

    def delete(self, collection: str, mongo_id: str) -> WriteResult:
        """Delete from MongoDB (absent is fine) and leave a tombstone in Postgres.

        A durable intent is recorded in the retry queue first (due after `intent_grace`): a process
        that dies between the two writes leaves it for the worker; a mirrored delete removes it."""
        self._writable()
        mapping, oid = self._target(collection, mongo_id)
        intent = self.queue.record_intent(mapping.collection, str(oid), DELETE, self.intent_grace)
        removed = self._coll(mapping).find_one_and_delete({"_id": oid})
        result = self._mirror_delete(mapping, str(oid), removed)
        if result.mirrored:
            self._forget_intent(intent)
        return replace(result, document=removed)

    def batch(self, operations: list[Operation]) -> list[WriteResult]:
        """Apply operations to MongoDB in order, then mirror each collection's changes with one
        statement per collection; a document Postgres rejects fails alone and is recorded."""
        self._writable()
        mark = ObjectId()  # the pending mark of every document this batch writes
        results: list[WriteResult | None] = [None] * len(operations)
        upserts: dict[str, list[tuple[int, str, dict[str, Any]]]] = {}
        deletes: list[tuple[int, CollectionMapping, str, dict[str, Any] | None, QueueRecord]] = []
        for index, op in enumerate(operations):
            mapping = self.registry.get(op.collection_name)
            oid = ObjectId(op.mongo_id)
            try:
                if op.operation == DELETE:
                    intent = self.queue.record_intent(mapping.collection, str(oid), DELETE, self.intent_grace)
                    removed = self._coll(mapping).find_one_and_delete({"_id": oid})
                    deletes.append((index, mapping, str(oid), removed, intent))
                    continue
                if op.operation == CREATE:
                    stored = self._insert(mapping, self._new_document(mapping, oid, op.data or {}, mark)[0])
                else:
                    fields = self._check_update(mapping, oid, op.data or {})
                    updated = self._coll(mapping).find_one_and_update(
                        {"_id": oid}, _update_spec(fields, False, mark), return_document=ReturnDocument.AFTER
                    )
                    if updated is None:
                        raise DocumentNotFoundError(mapping.collection, str(oid))
                    stored = updated
            except (MappingError, InvalidDocumentError, DocumentNotFoundError) as exc:
                results[index] = WriteResult(
                    mapping.collection, str(oid), op.operation, False, REJECTED, str(exc)
                )
                continue
            upserts.setdefault(mapping.collection, []).append((index, op.operation, stored))
        for collection, items in upserts.items():
            mapping = self.registry.get(collection)
            unmirrored = []
            for index, result in self._mirror_many(mapping, items):
                results[index] = result
                if not result.mirrored:
                    unmirrored.append(ObjectId(result.mongo_id))
            self._clear_batch_mark(mapping, mark, keep=unmirrored)
        for index, mapping, mongo_id, removed, intent in deletes:
            result = self._mirror_delete(mapping, mongo_id, removed)
            if result.mirrored:
                self._forget_intent(intent)
            results[index] = replace(result, document=removed)
        return [r for r in results if r is not None]

    # == mirroring a MongoDB write made elsewhere (repositories) ================================
    def mirror(
        self, collection: str, mongo_id: str, operation: str, document: dict[str, Any] | None = None
    ) -> WriteResult:
        """Mirror a MongoDB write already made. A document without its version (e.g. the fields
        of a partial update) is not trusted: the stored document is re-read instead. For a delete,
        `document` is the removed document (None: unknown, MongoDB is asked)."""
        mapping, oid = self._target(collection, mongo_id)
        if operation == DELETE:
            return self._mirror_delete(mapping, str(oid), document)
        if document is None or VERSION_FIELD not in document or document.get("_id") != oid:
            document = self._coll(mapping).find_one({"_id": oid})
            if document is None:  # deleted meanwhile: the delete is what Postgres must hold
                return self._mirror_delete(mapping, str(oid), None)
        return self._mirror_stored(mapping, operation, document)

    # == retries ================================================================================
    def retry_record(self, record: QueueRecord, owner: str) -> RetryOutcome:
        """Re-apply one leased queue record: the row is made to hold MongoDB's current document
        (read under the row lock), whatever versions say.

        When no connection to Postgres (or MongoDB) can be had at all, the record was not
        attempted: it is postponed without using up an attempt (an outage must not exhaust every
        record)."""
        mapping = self.registry.get(record.collection)
        metrics.count(record.collection, record.operation, "retried")
        try:
            document = self._write(
                mapping.collection, lambda: self.reconciler.reconcile(mapping, record.mongo_id)
            )
        except MIRROR_ERRORS as exc:
            exc = self._as_duplicate(mapping, record.mongo_id, exc)
            error = describe(exc)
            if self.policy.postpones(exc):
                self.queue.postpone(record, owner, error)
                logger.warning(
                    "retry postponed, a store is unavailable: %s %s", record.collection, record.mongo_id
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
        if document is not None:
            self._clear_marks(mapping, [document])
        metrics.count(record.collection, record.operation, "succeeded")
        return RetryOutcome.APPLIED

    def retry_document(self, collection: str, mongo_id: str, owner: str, lease_seconds: float) -> bool:
        """Manual retry of one document: re-apply it now from MongoDB, whatever its schedule."""
        mapping, oid = self._target(collection, mongo_id)
        BREAKER.close()  # an operator asked to try now: do not wait out the breaker
        record = self.queue.claim_document(mapping.collection, str(oid), owner, lease_seconds)
        if record is not None:
            return self.retry_record(record, owner) is RetryOutcome.APPLIED
        try:
            document = self._write(mapping.collection, lambda: self.reconciler.reconcile(mapping, str(oid)))
        except MIRROR_ERRORS as exc:
            return self._failed(mapping, str(oid), UPDATE, exc).mirrored
        if document is not None:
            self._clear_marks(mapping, [document])
        return True

    def retry_documents(self, targets: Iterable[tuple[str, str]], *, lease_seconds: float) -> ManualRetry:
        """Manual retry of documents, one after the other (`retry_document`). A document the
        engine refuses (e.g. a record of a collection no longer mapped) is logged and counts as
        still failing."""
        attempted = applied = 0
        for collection, mongo_id in targets:
            attempted += 1
            try:
                applied += self.retry_document(collection, mongo_id, f"manual:{mongo_id}", lease_seconds)
            except DualWriteError as exc:
                logger.warning("retry of %s %s refused: %s", collection, mongo_id, exc)
        return ManualRetry(attempted, applied)

    def retry_unresolved(
        self, *, lease_seconds: float, collection: str | None = None, limit: int | None = None
    ) -> ManualRetry:
        """Manual retry of every unresolved record (of one collection; the first `limit`)."""
        query = {} if collection is None else {"collection": collection}
        return self.retry_documents(self.queue.unresolved_ids(query)[:limit], lease_seconds=lease_seconds)

    # == status =================================================================================
    def sync_status(self, collection: str, mongo_id: str) -> str | None:
        """SYNCED only when Postgres holds MongoDB's current state of the document (an open record
        is then resolved: a later write mended it); else FAILED when its record gave up, else
        PENDING. None when neither store knows the document."""
        mapping, oid = self._target(collection, mongo_id)
        record = self.queue.find_unresolved(mapping.collection, str(oid))
        try:
            document, held = self._states(mapping, str(oid))
        except DB_ERRORS:
            if record is None:
                raise
            return record.status  # Postgres cannot be asked: the record is all there is to say
        if in_step(document, held):
            if record is not None:
                self.queue.resolve_unchanged(record)
            return None if document is None and held is None else SYNCED
        return record.status if record is not None else PENDING

    def refresh(self, records: list[QueueRecord]) -> list[QueueRecord]:
        """Resolve the records whose documents Postgres holds in their current state (mended by
        a later write); return the others. While Postgres cannot be reached they all stay."""
        still: list[QueueRecord] = []
        for index, record in enumerate(records):
            if BREAKER.is_open():
                return still + records[index:]
            mapping = self.registry.get(record.collection)
            try:
                document, held = self._states(mapping, record.mongo_id)
            except DB_ERRORS as exc:
                self._discard_connection()
                logger.warning("cannot re-check retry records now (%s)", describe(exc))
                BREAKER.open(self.breaker_seconds)
                return still + records[index:]
            if in_step(document, held) and self.queue.resolve_unchanged(record):
                continue
            still.append(record)
        return still

    def _states(self, mapping: CollectionMapping, mongo_id: str) -> tuple[State | None, State | None]:
        """MongoDB's state of the document, then the row's."""
        document = self._coll(mapping).find_one(
            {"_id": ObjectId(mongo_id)}, {VERSION_FIELD: 1, GENERATION_FIELD: 1}
        )
        return document_state(document), self.sink.states(mapping, [mongo_id]).get(mongo_id)

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
        self, mapping: CollectionMapping, oid: ObjectId, data: dict[str, Any], mark: ObjectId | None = None
    ) -> tuple[dict[str, Any], RowSet]:
        """The document to insert and its rows (mapped now: what the mirror cannot hold is
        rejected before anything is written)."""
        fields = _own_fields(oid, data)
        document = {
            **fields,
            "_id": oid,
            VERSION_FIELD: 1,
            GENERATION_FIELD: ObjectId(),
            PENDING_MARK_FIELD: mark or ObjectId(),
        }
        return document, document_to_rows(mapping, document)

    @staticmethod
    def _check_update(mapping: CollectionMapping, oid: ObjectId, data: dict[str, Any]) -> dict[str, Any]:
        """The fields to `$set` (the engine's own keys dropped, `_id` checked), or a typed error
        before anything is written.

        The fields are validated alone, without reading the stored document: the mapping converts
        each key independently (a missing key takes its default), so mapping the fields set on
        an empty document rejects exactly the values the mirror could not hold. The whole stored
        document is mapped once, after the write, from what MongoDB returns."""
        fields = _own_fields(oid, data)
        if not fields:
            raise InvalidDocumentError("data must be a non-empty object of fields to set")
        for key in fields:
            if not isinstance(key, str) or key.startswith("$") or "\x00" in key:
                raise InvalidDocumentError(f"field {str(key)[:40]!r} cannot be set")
        document_to_rows(mapping, apply_set({"_id": oid}, fields))
        return fields

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

    def _mirror_stored(
        self,
        mapping: CollectionMapping,
        operation: str,
        stored: dict[str, Any],
        rowset: RowSet | None = None,
    ) -> WriteResult:
        """Mirror a document as MongoDB stored it (`rowset`: its rows, when already mapped);
        clear its pending mark once Postgres has it."""
        result = self._mirror_document(mapping, operation, stored, rowset)
        if result.mirrored:
            self._clear_marks(mapping, [stored])
        return replace(result, document=stored)

    def _apply(self, mapping: CollectionMapping, rowset: RowSet) -> None:
        """Upsert through the guard; settle a refusal (see `dualwrite.reconcile`)."""
        if not self.sink.upsert(mapping, [rowset]):
            self.reconciler.settle(mapping, rowset.mongo_id, State(rowset.generation, rowset.version))

    def _mirror_document(
        self,
        mapping: CollectionMapping,
        operation: str,
        document: dict[str, Any],
        rowset: RowSet | None = None,
    ) -> WriteResult:
        mongo_id = str(document["_id"])
        if not self.enabled:
            metrics.count(mapping.collection, operation, "skipped")
            return WriteResult(mapping.collection, mongo_id, operation, False, SKIPPED)
        metrics.count(mapping.collection, operation, "attempted")
        try:
            rows = rowset or document_to_rows(mapping, document)
            self._write(mapping.collection, lambda: self._apply(mapping, rows))
        except MIRROR_ERRORS as exc:
            return self._failed(mapping, mongo_id, operation, exc, document)
        metrics.count(mapping.collection, operation, "succeeded")
        return WriteResult(mapping.collection, mongo_id, operation, True, SYNCED)

    def _mirror_many(
        self, mapping: CollectionMapping, items: list[tuple[int, str, dict[str, Any]]]
    ) -> Iterable[tuple[int, WriteResult]]:
        """Mirror many stored documents of one collection with one statement; refused ones are
        settled one by one, and when Postgres rejects the batch they are written one by one so
        that only the bad ones fail."""
        if not self.enabled:
            for index, operation, document in items:
                metrics.count(mapping.collection, operation, "skipped")
                yield index, WriteResult(mapping.collection, str(document["_id"]), operation, False, SKIPPED)
            return
        good: list[tuple[int, str, RowSet, dict[str, Any]]] = []
        for index, operation, document in items:
            metrics.count(mapping.collection, operation, "attempted")
            try:
                good.append((index, operation, document_to_rows(mapping, document), document))
            except MappingError as exc:
                yield index, self._failed(mapping, str(document["_id"]), operation, exc, document)
        if not good:
            return
        try:
            applied = self._write(mapping.collection, lambda: self.sink.upsert(mapping, [g[2] for g in good]))
        except DB_ERRORS as exc:
            if classify(exc) is ErrorKind.TRANSIENT:
                for index, operation, rs, document in good:
                    yield index, self._failed(mapping, rs.mongo_id, operation, exc, document)
                return
            applied = set()  # isolate the rows Postgres rejects: each is written on its own below
        for index, operation, rs, document in good:
            if rs.mongo_id not in applied:
                try:
                    self._write(mapping.collection, partial(self._apply, mapping, rs))
                except MIRROR_ERRORS as one:
                    yield index, self._failed(mapping, rs.mongo_id, operation, one, document)
                    continue
            metrics.count(mapping.collection, operation, "succeeded")
            result = WriteResult(mapping.collection, rs.mongo_id, operation, True, SYNCED)
            yield index, replace(result, document=document)

    def _mirror_delete(
        self, mapping: CollectionMapping, mongo_id: str, removed: dict[str, Any] | None
    ) -> WriteResult:
        """Tombstone the row of a deleted document. The tombstone ends the removed document's
        generation; when nothing was removed (or the row holds another life) MongoDB is asked."""
        if not self.enabled:
            metrics.count(mapping.collection, DELETE, "skipped")
            self._record(mapping, mongo_id, DELETE, MIRRORING_OFF, ErrorKind.TRANSIENT, counts=False)
            return WriteResult(mapping.collection, mongo_id, DELETE, False, SKIPPED)
        metrics.count(mapping.collection, DELETE, "attempted")
        end = _ended_state(removed)

        def statement() -> None:
            if end is None:
                self.reconciler.reconcile(mapping, mongo_id)
            elif not self.sink.tombstone(mapping, {mongo_id: end}):
                self.reconciler.settle(mapping, mongo_id, end)

        try:
            self._write(mapping.collection, statement)
        except MIRROR_ERRORS as exc:
            return self._failed(mapping, mongo_id, DELETE, exc)
        metrics.count(mapping.collection, DELETE, "succeeded")
        return WriteResult(mapping.collection, mongo_id, DELETE, True, SYNCED)

    def _write(self, collection: str, statement: Callable[[], T]) -> T:
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
                if not self.policy.retries_in_request(exc):
                    raise  # refused, slow (a timeout: queue it now) or MongoDB's: no breaker
                if self.policy.opens_breaker(exc, last_try=attempt == len(delays) - 1):
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

    def _clear_marks(self, mapping: CollectionMapping, documents: list[dict[str, Any]]) -> None:
        """Clear the pending marks of documents Postgres now holds. A mark is unique to its write,
        so a newer write of a document (a new mark) keeps its own. Best effort: a mark left behind
        only makes the sweep check the document once more."""
        for document in documents:
            if PENDING_MARK_FIELD in document:
                self._unmark(
                    mapping, {"_id": document["_id"], PENDING_MARK_FIELD: document[PENDING_MARK_FIELD]}
                )

    def _clear_batch_mark(self, mapping: CollectionMapping, mark: ObjectId, keep: list[ObjectId]) -> None:
        """Clear a batch's mark on every document of the collection it wrote, but `keep`."""
        self._unmark(mapping, {PENDING_MARK_FIELD: mark, "_id": {"$nin": keep}})

    def _unmark(self, mapping: CollectionMapping, query: dict[str, Any]) -> None:
        try:
            self._coll(mapping).update_many(query, {"$unset": {PENDING_MARK_FIELD: ""}})
        except PyMongoError as exc:
            logger.warning("could not clear pending marks in %s (%s)", mapping.collection, type(exc).__name__)

    def _forget_intent(self, intent: QueueRecord) -> None:
        try:
            self.queue.drop_intent(intent)
        except PyMongoError as exc:  # the intent stays; the worker re-checks the document later
            logger.warning("could not drop a delete intent (%s)", type(exc).__name__)

    def _record(
        self,
        mapping: CollectionMapping,
        mongo_id: str,
        operation: str,
        error: str,
        kind: ErrorKind,
        *,
        counts: bool,
    ) -> QueueRecord | None:
        """Record a write Postgres does not hold yet in the retry queue; None when the queue
        itself cannot be written (the document's pending mark, or a delete's intent, stays)."""
        try:
            record, newly_failed = self.queue.record_failure(
                mapping.collection, mongo_id, operation, error, kind, counts=counts
            )
        except PyMongoError as queue_exc:
            logger.critical(
                "dual-write failure NOT RECORDED (retry queue unavailable: %s): collection=%s mongo_id=%s;"
                " the worker's sweep or `dualwrite verify --repair` will find it",
                type(queue_exc).__name__, mapping.collection, mongo_id,
            )  # fmt: skip
            return None
        if newly_failed:
            self._exhausted(mapping, mongo_id, operation, error, record.attempts)
        return record

    def _failed(
        self,
        mapping: CollectionMapping,
        mongo_id: str,
        operation: str,
        exc: BaseException,
        document: dict[str, Any] | None = None,
    ) -> WriteResult:
        """Record a failed mirror write durably and report it; the MongoDB write stands.

        A failure Postgres itself returned (a rejected row, an unmappable document) counts as an
        attempt, so a document that keeps failing reaches FAILED; an outage or a timeout does not
        (the worker's retries count those). A duplicate of a live row by a domain-unique key is
        a permanent rejection (`dualwrite.uniqueness`): FAILED at once, with the holder's id."""
        exc = self._as_duplicate(mapping, mongo_id, exc, document)
        kind, error = classify(exc), describe(exc)
        metrics.count(mapping.collection, operation, "failed")
        logger.error(
            "dual-write failed: collection=%s mongo_id=%s operation=%s error=%s",
            mapping.collection, mongo_id, operation, error,
        )  # fmt: skip
        record = self._record(
            mapping, mongo_id, operation, error, kind, counts=self.policy.counts_attempt(kind)
        )
        if record is None:
            return WriteResult(mapping.collection, mongo_id, operation, False, PENDING, error)
        if document is not None:
            self._clear_marks(mapping, [document])  # the queue record is the trace now
        if record.status != FAILED and kind is not ErrorKind.TRANSIENT:
            self._mark_row(mapping, mongo_id, PENDING, error)
        return WriteResult(mapping.collection, mongo_id, operation, False, record.status, error)

    def _as_duplicate(
        self,
        mapping: CollectionMapping,
        mongo_id: str,
        exc: BaseException,
        document: dict[str, Any] | None = None,
    ) -> BaseException:
        """A unique violation of a domain-unique key as a DuplicateKeyConflict naming the live row
        that holds the key (looked up from the document; None when that lookup fails, which is
        logged); any other error as it is."""
        key = violated_key(mapping, exc)
        if key is None:
            return exc
        holder = None
        try:
            if document is None:
                document = self._coll(mapping).find_one({"_id": ObjectId(mongo_id)})
            if document is not None:
                rowset = document_to_rows(mapping, document)
                with connections[self.sink.using].cursor() as cursor:
                    holder = find_holder(cursor, mapping, key, rowset)
        except HOLDER_LOOKUP_ERRORS as lookup:
            logger.warning(
                "could not name the holder of %s %s's key (%s)",
                mapping.collection,
                mongo_id,
                describe(lookup),
            )
        return DuplicateKeyConflict(mapping.collection, mongo_id, key.fields, holder)

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


def _ended_state(removed: dict[str, Any] | None) -> State | None:
    """The state a delete ends: the removed document's generation, one version above its last.
    None when nothing (known) was removed."""
    state = document_state(removed)
    return None if state is None else State(state.generation, state.version + 1, deleted=True)


def _own_fields(oid: ObjectId, data: Any) -> dict[str, Any]:
    """The caller's fields without the engine's own keys. Whole documents are welcome: their `_id`
    must be the document's own, their version, generation and pending mark are the engine's."""
    if not isinstance(data, dict):
        raise InvalidDocumentError("data must be an object")
    if "_id" in data:
        try:
            same = normalise_mongo_id(data["_id"]) == str(oid)
        except InvalidMongoIdError:
            same = False
        if not same:
            raise InvalidDocumentError("field '_id': differs from mongo_id (an id cannot be changed)")
    return {k: v for k, v in data.items() if k not in ENGINE_FIELDS}


def _update_spec(fields: dict[str, Any], upsert: bool, mark: ObjectId | None = None) -> dict[str, Any]:
    """One MongoDB update: the fields, the pending mark (unique to the write, its time inside)
    and the version bump; an upsert that inserts starts a new generation."""
    spec: dict[str, Any] = {
        "$set": {**fields, PENDING_MARK_FIELD: mark or ObjectId()},
        "$inc": {VERSION_FIELD: 1},
    }
    if upsert:
        spec["$setOnInsert"] = {GENERATION_FIELD: ObjectId()}
    return spec
