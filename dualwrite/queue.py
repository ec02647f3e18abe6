"""The durable retry queue: failed Postgres writes recorded in a MongoDB collection.

MongoDB is the store that is up when Postgres is not, and it survives a process restart. There is
at most one unresolved record per document (the worker re-reads the document, so one record covers
any number of failed writes to it). Records are claimed with a lease, so several workers can run;
a crashed worker's lease simply expires. A `generation` counter, bumped by every new failure,
keeps a worker from resolving a record that a newer failure has reopened meanwhile.

Besides failures, a record may be an intent: written before a delete (whose document leaves no
other trace) or by the sweep for a document found with a stale pending mark; it is due after a
grace period, and a delete that reaches Postgres removes its own intent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.collection import Collection

from dualwrite.policy import ErrorKind, RetryPolicy

QUEUE_COLLECTION = "dualwrite_retry_queue"
PENDING, FAILED, RESOLVED = "PENDING", "FAILED", "RESOLVED"
UNRESOLVED = [PENDING, FAILED]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class QueueUpsertError(RuntimeError):
    """An upsert asked for the document after the write answered none (MongoDB always returns
    one for `upsert=True, return_document=AFTER`: a driver or server fault)."""


def _upserted(doc: dict[str, Any] | None) -> dict[str, Any]:
    if doc is None:
        raise QueueUpsertError("the retry queue's upsert returned no document")
    return doc


@dataclass(frozen=True)
class QueueRecord:
    """One unresolved (or resolved) failed write."""

    id: ObjectId
    collection: str
    mongo_id: str
    operation: str
    status: str
    error: str
    error_kind: str
    attempts: int
    generation: int
    created_at: dt.datetime
    updated_at: dt.datetime
    next_attempt_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    resolved_at: dt.datetime | None

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> QueueRecord:
        return cls(
            id=doc["_id"],
            collection=doc["collection"],
            mongo_id=doc["mongo_id"],
            operation=doc["operation"],
            status=doc["status"],
            error=doc.get("error", ""),
            error_kind=doc.get("error_kind", ""),
            attempts=int(doc.get("attempts", 0)),
            generation=int(doc.get("generation", 0)),
            created_at=doc["created_at"],
            updated_at=doc["updated_at"],
            next_attempt_at=doc.get("next_attempt_at"),
            last_attempt_at=doc.get("last_attempt_at"),
            resolved_at=doc.get("resolved_at"),
        )

    def as_dict(self) -> dict[str, Any]:
        """The shape `get_sync_failures()` returns."""
        return {
            "id": str(self.id),
            "collection": self.collection,
            "mongo_id": self.mongo_id,
            "operation": self.operation,
            "status": self.status,
            "error": self.error,
            "error_kind": self.error_kind,
            "attempts": self.attempts,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "next_attempt_at": self.next_attempt_at,
            "last_attempt_at": self.last_attempt_at,
            "resolved_at": self.resolved_at,
        }


@dataclass
class Backlog:
    """The unresolved records of one collection."""

    pending: int = 0
    failed: int = 0
    oldest_pending_age_seconds: float | None = None


# Index specs of the queue collection (created by the MongoDB connection manager).
QUEUE_INDEXES: tuple[tuple[tuple[str, ...], bool], ...] = (
    (("status", "next_attempt_at"), False),
    (("collection", "mongo_id", "status"), False),
    (("status", "resolved_at"), False),
)


class RetryQueue:
    """Operations on the queue collection. All time arguments are UTC datetimes."""

    def __init__(self, collection: Callable[[], Collection[dict[str, Any]]], policy: RetryPolicy) -> None:
        self._collection = collection
        self.policy = policy

    @property
    def coll(self) -> Collection[dict[str, Any]]:
        return self._collection()

    # -- recording -------------------------------------------------------------------------
    def record_failure(
        self,
        collection: str,
        mongo_id: str,
        operation: str,
        error: str,
        kind: ErrorKind,
        *,
        counts: bool = True,
    ) -> tuple[QueueRecord, bool]:
        """Record (or reopen) the unresolved record of a document after a failed write; returns it
        and whether it became FAILED just now (the caller alerts once).

        `counts`: the failure counts as an attempt. Attempts accumulate until the document is
        mirrored, so a document that keeps failing reaches FAILED however often it is written;
        a FAILED record stays FAILED until a mirror of the document succeeds."""
        now = utcnow()
        doc = self.coll.find_one_and_update(
            {"collection": collection, "mongo_id": mongo_id, "status": {"$in": UNRESOLVED}},
            {
                "$set": {
                    "operation": operation,
                    "error": error,
                    "error_kind": str(kind),
                    "intent": False,
                    "next_attempt_at": self.policy.next_attempt_at(now, 1),
                    "updated_at": now,
                },
                "$inc": {"generation": 1, "attempts": 1 if counts else 0},
                "$setOnInsert": {
                    "created_at": now,
                    "status": PENDING,
                    "lease_owner": None,
                    "lease_until": None,
                },
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        record = QueueRecord.from_document(_upserted(doc))
        if record.status != PENDING or not self.policy.exhausted(kind, record.attempts):
            return record, False
        done = self.coll.update_one(
            {"_id": record.id, "generation": record.generation, "status": PENDING},
            {"$set": {"status": FAILED, "next_attempt_at": None}},
        )
        if not done.modified_count:  # a newer failure or a worker got there first
            return record, False
        return replace(record, status=FAILED, next_attempt_at=None), True

    def record_intent(self, collection: str, mongo_id: str, operation: str, due_in: float) -> QueueRecord:
        """Make sure the document has an unresolved record, due in `due_in` seconds when new: the
        durable trace of a write about to be made (a delete) or found unmirrored (the sweep).
        An existing record keeps its state; its generation moves on, so that a worker holding it
        re-applies the document again later instead of resolving it."""
        now = utcnow()
        doc = self.coll.find_one_and_update(
            {"collection": collection, "mongo_id": mongo_id, "status": {"$in": UNRESOLVED}},
            {
                "$inc": {"generation": 1},
                "$setOnInsert": {
                    "operation": operation,
                    "status": PENDING,
                    "intent": True,
                    "error": "",
                    "error_kind": "intent",
                    "attempts": 0,
                    "created_at": now,
                    "updated_at": now,
                    "next_attempt_at": now + dt.timedelta(seconds=due_in),
                    "lease_owner": None,
                    "lease_until": None,
                },
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return QueueRecord.from_document(_upserted(doc))

    def drop_intent(self, record: QueueRecord) -> None:
        """The write of an intent reached Postgres: remove the intent, or, when a failure was
        recorded on the same record before, resolve it (unless it changed since)."""
        gone = self.coll.delete_one({"_id": record.id, "generation": record.generation, "intent": True})
        if not gone.deleted_count:
            self.resolve_unchanged(record)

    # -- claiming --------------------------------------------------------------------------
    def claim_due(self, owner: str, lease_seconds: float) -> QueueRecord | None:
        """Lease the PENDING record that is due soonest, or None."""
        now = utcnow()
        return self._claim({"status": PENDING, "next_attempt_at": {"$lte": now}}, owner, lease_seconds, now)

    def claim_document(
        self, collection: str, mongo_id: str, owner: str, lease_seconds: float
    ) -> QueueRecord | None:
        """Lease the unresolved record of one document whatever its schedule (manual retry)."""
        now = utcnow()
        query = {"collection": collection, "mongo_id": mongo_id, "status": {"$in": UNRESOLVED}}
        return self._claim(query, owner, lease_seconds, now)

    def _claim(
        self, query: dict[str, Any], owner: str, lease_seconds: float, now: dt.datetime
    ) -> QueueRecord | None:
        free = {"$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}]}
        doc = self.coll.find_one_and_update(
            {"$and": [query, free]},
            {"$set": {"lease_owner": owner, "lease_until": now + dt.timedelta(seconds=lease_seconds)}},
            sort=[("next_attempt_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else QueueRecord.from_document(doc)

    # -- outcomes --------------------------------------------------------------------------
    def resolve(self, record: QueueRecord, owner: str) -> bool:
        """Mark the record RESOLVED unless a newer failure reopened it (then just release it)."""
        now = utcnow()
        done = self.coll.update_one(
            {"_id": record.id, "lease_owner": owner, "generation": record.generation},
            {
                "$set": {
                    "status": RESOLVED,
                    "resolved_at": now,
                    "updated_at": now,
                    "last_attempt_at": now,
                    "lease_owner": None,
                    "lease_until": None,
                }
            },
        )
        if done.modified_count:
            return True
        self.release(record, owner)
        return False

    def resolve_unchanged(self, record: QueueRecord) -> bool:
        """Resolve a record found mended (Postgres holds the document's current state), unless a
        newer failure reopened it since it was read."""
        now = utcnow()
        done = self.coll.update_one(
            {"_id": record.id, "generation": record.generation, "status": {"$in": UNRESOLVED}},
            {"$set": {"status": RESOLVED, "resolved_at": now, "updated_at": now,
                      "lease_owner": None, "lease_until": None}},
        )  # fmt: skip
        return bool(done.modified_count)

    def attempt_failed(self, record: QueueRecord, owner: str, error: str, kind: ErrorKind) -> str | None:
        """Count a failed retry; returns the record's new status (FAILED when exhausted), or None
        when the record was reopened meanwhile (its new failure restarted the count)."""
        now = utcnow()
        attempts = record.attempts + 1
        exhausted = self.policy.exhausted(kind, attempts)
        status = FAILED if exhausted else PENDING
        done = self.coll.update_one(
            {"_id": record.id, "lease_owner": owner, "generation": record.generation},
            {
                "$set": {
                    "status": status,
                    "attempts": attempts,
                    "error": error,
                    "error_kind": str(kind),
                    "next_attempt_at": None if exhausted else self.policy.next_attempt_at(now, attempts + 1),
                    "last_attempt_at": now,
                    "updated_at": now,
                    "lease_owner": None,
                    "lease_until": None,
                }
            },
        )
        if done.modified_count:
            return status
        self.release(record, owner)
        return None

    def postpone(self, record: QueueRecord, owner: str, error: str) -> None:
        """Release the record for a later try without counting an attempt (Postgres unreachable)."""
        now = utcnow()
        self.coll.update_one(
            {"_id": record.id, "lease_owner": owner},
            {
                "$set": {
                    "error": error,
                    "next_attempt_at": self.policy.next_attempt_at(now, record.attempts + 1),
                    "updated_at": now,
                    "lease_owner": None,
                    "lease_until": None,
                }
            },
        )

    def release(self, record: QueueRecord, owner: str) -> None:
        self.coll.update_one(
            {"_id": record.id, "lease_owner": owner},
            {"$set": {"lease_owner": None, "lease_until": None}},
        )

    def requeue_failed(self, query: dict[str, Any] | None = None) -> int:
        """Give FAILED records a fresh set of attempts, due now (manual `retry`)."""
        now = utcnow()
        result = self.coll.update_many(
            {**(query or {}), "status": FAILED},
            {"$set": {"status": PENDING, "attempts": 0, "next_attempt_at": now, "updated_at": now}},
        )
        return int(result.modified_count)

    def make_due(self) -> int:
        """Every PENDING record due now, whatever its back-off (the drain at a graceful stop)."""
        result = self.coll.update_many(
            {"status": PENDING, "next_attempt_at": {"$gt": utcnow()}}, {"$set": {"next_attempt_at": utcnow()}}
        )
        return int(result.modified_count)

    # -- reading ---------------------------------------------------------------------------
    def unresolved(
        self, limit: int = 100, collection: str | None = None, status: str | None = None
    ) -> list[QueueRecord]:
        query: dict[str, Any] = {"status": {"$in": UNRESOLVED} if status is None else status}
        if collection is not None:
            query["collection"] = collection
        cursor = self.coll.find(query).sort("updated_at", DESCENDING).limit(limit)
        return [QueueRecord.from_document(doc) for doc in cursor]

    def find_unresolved(self, collection: str, mongo_id: str) -> QueueRecord | None:
        doc = self.coll.find_one(
            {"collection": collection, "mongo_id": mongo_id, "status": {"$in": UNRESOLVED}}
        )
        return None if doc is None else QueueRecord.from_document(doc)

    def unresolved_ids(self, query: dict[str, Any]) -> list[tuple[str, str]]:
        cursor = self.coll.find({**query, "status": {"$in": UNRESOLVED}}, {"collection": 1, "mongo_id": 1})
        return [(doc["collection"], doc["mongo_id"]) for doc in cursor]

    def backlog_by_collection(self) -> dict[str, Backlog]:
        """Unresolved records per collection (collections without any are left out), with the
        age of the oldest PENDING one."""
        now = utcnow()
        out: dict[str, Backlog] = {}
        pipeline: list[dict[str, Any]] = [
            {"$match": {"status": {"$in": UNRESOLVED}}},
            {
                "$group": {
                    "_id": {"status": "$status", "collection": "$collection"},
                    "n": {"$sum": 1},
                    "oldest": {"$min": "$created_at"},
                }
            },
        ]
        for group in self.coll.aggregate(pipeline):
            backlog = out.setdefault(group["_id"]["collection"], Backlog())
            if group["_id"]["status"] == PENDING:
                backlog.pending = int(group["n"])
                oldest = group["oldest"]
                if oldest.tzinfo is None:  # a client that is not tz_aware returns naive UTC
                    oldest = oldest.replace(tzinfo=dt.UTC)
                backlog.oldest_pending_age_seconds = max(0.0, (now - oldest).total_seconds())
            else:
                backlog.failed = int(group["n"])
        return out

    def backlog(self) -> dict[str, Any]:
        """Pending and failed counts (total and by collection) and the oldest pending age."""
        by_collection = self.backlog_by_collection()
        ages = [
            b.oldest_pending_age_seconds
            for b in by_collection.values()
            if b.oldest_pending_age_seconds is not None
        ]
        return {
            "pending": sum(b.pending for b in by_collection.values()),
            "failed": sum(b.failed for b in by_collection.values()),
            "pending_by_collection": {name: b.pending for name, b in by_collection.items() if b.pending},
            "failed_by_collection": {name: b.failed for name, b in by_collection.items() if b.failed},
            "oldest_pending_age_seconds": max(ages) if ages else None,
        }

    def purge_resolved(self, older_than: dt.timedelta) -> int:
        return self.purge_resolved_before(utcnow() - older_than)

    def purge_resolved_before(self, cutoff: dt.datetime) -> int:
        """Delete RESOLVED records resolved before `cutoff` (unresolved ones are never purged)."""
        result = self.coll.delete_many({"status": RESOLVED, "resolved_at": {"$lt": cutoff}})
        return int(result.deleted_count)
