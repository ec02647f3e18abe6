"""Reverse mirroring: in `postgres_only`, every Postgres write is written back to MongoDB, so that a
rollback to a MongoDB phase loses nothing.

The queue is the mirror rows themselves (a transactional outbox): a write in `postgres_only` sets
its row's `sync_status` to REVERSE in the same transaction, so a write that Postgres acknowledged
is recorded for MongoDB even when the process dies right after. `ReverseMirror.push_due` claims due
rows (a short lease in `last_sync_at`, `FOR UPDATE SKIP LOCKED`, so several workers share the
work), writes each row's current state to MongoDB through the same declarative mapping read in the
other direction (`rows_to_document`, with `_v` and `_gen`), and marks the row SYNCED only if it
still holds the state it pushed. No lock is held while MongoDB is called.

Ordering: MongoDB takes a pushed state unless it holds the same life (`_gen`) at a higher version
(`_v`), so a slow worker's older push never overwrites a newer one. A failed push stays REVERSE
with the error class in `sync_error`, due again after a back-off: it is retried until MongoDB
takes it.

`ReverseMirror.verify` compares every row (tombstones included) with MongoDB, page by page, and
with `repair` marks the rows that differ REVERSE (the worker rewrites them) and deletes MongoDB
documents of ids no live row holds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId
from django.db import connections, transaction
from pymongo.collection import Collection
from pymongo.errors import ConnectionFailure, DuplicateKeyError, PyMongoError

from dualwrite.mapping import (
    GENERATION_FIELD,
    PENDING_MARK_FIELD,
    VERSION_FIELD,
    CollectionMapping,
    MappingRegistry,
)
from dualwrite.ordering import State, document_state
from dualwrite.sink import PostgresSink
from dualwrite.transform import canonical_document, rows_to_document

logger = logging.getLogger(__name__)

REVERSE = "REVERSE"
SYNCED = "SYNCED"
# Seconds a claimed row is held by one worker before another may push it.
LEASE_SECONDS = 30.0
# Samples of differing ids kept in a verify report.
SAMPLE_IDS = 20

Target = Callable[[str], Collection[dict[str, Any]]]
AfterPush = Callable[[CollectionMapping, dict[str, Any]], None]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class PushReport:
    pushed: int = 0
    failed: int = 0
    errors: dict[str, int] = field(default_factory=dict)


@dataclass
class ReverseDiff:
    collection: str
    checked: int = 0
    missing: list[str] = field(default_factory=list)  # a live row, no equal document
    extra: list[str] = field(default_factory=list)  # a document, no live row
    differing: list[str] = field(default_factory=list)
    repaired: int = 0

    @property
    def drift(self) -> int:
        return len(self.missing) + len(self.extra) + len(self.differing)

    @property
    def sample_ids(self) -> list[str]:
        return [*self.missing, *self.extra, *self.differing][:SAMPLE_IDS]

    def as_dict(self) -> dict[str, Any]:
        """Counts and ids, never contents (`repaired`: rows queued to be written back)."""
        return {
            "collection": self.collection,
            "direction": "reverse",
            "equal": self.drift == 0,
            "drift": self.drift,
            "checked": self.checked,
            "counts": {
                "missing": len(self.missing),
                "extra": len(self.extra),
                "differing": len(self.differing),
            },
            "sample_ids": self.sample_ids,
            "repaired": self.repaired,
        }


def stored_document(mapping: CollectionMapping, row: dict[str, Any], children: Any) -> dict[str, Any]:
    """The MongoDB document a live row stands for, with its version and generation."""
    document = rows_to_document(mapping, row, children)
    document[VERSION_FIELD] = int(row["source_version"])
    if row["source_generation"] is not None:
        document[GENERATION_FIELD] = ObjectId(row["source_generation"])
    return document


def _not_newer(state: State) -> dict[str, Any]:
    """MongoDB filter: the document does not hold this life at a higher version."""
    return {
        "$nor": [
            {GENERATION_FIELD: _generation_value(state.generation), VERSION_FIELD: {"$gt": state.version}}
        ]
    }


def _generation_value(generation: str | None) -> Any:
    if generation is None:
        return None
    return ObjectId(generation) if ObjectId.is_valid(generation) else generation


def queue_for_mongodb(sink: PostgresSink, mapping: CollectionMapping, mongo_ids: list[str]) -> None:
    """Queue rows for MongoDB, due now (inside the caller's transaction: the write and its queue
    entry commit together)."""
    with connections[sink.using].cursor() as cursor:
        cursor.execute(
            f"UPDATE {_q(mapping.table)} SET sync_status = %s, sync_error = NULL, last_sync_at = now()"
            " WHERE mongo_id = ANY(%s)",
            [REVERSE, mongo_ids],
        )


class ReverseMirror:
    def __init__(
        self,
        registry: MappingRegistry,
        target: Target,
        *,
        sink: PostgresSink | None = None,
        retry_delay: float = 5.0,
        after_push: AfterPush | None = None,
    ) -> None:
        self.registry = registry
        self.target = target
        self.sink = sink or PostgresSink()
        self.retry_delay = retry_delay
        self.after_push = after_push

    @property
    def _connection(self) -> Any:
        return connections[self.sink.using]

    # -- the outbox ----------------------------------------------------------------------------
    def backlog(self, *, failing: bool = False) -> dict[str, int]:
        """{collection: rows not yet written back to MongoDB} (collections with none left out);
        with `failing`, only those whose last push failed (they wait for their back-off)."""
        out: dict[str, int] = {}
        condition = " AND sync_error IS NOT NULL" if failing else ""
        with self._connection.cursor() as cursor:
            for mapping in self.registry:
                cursor.execute(
                    f"SELECT count(*) FROM {_q(mapping.table)} WHERE sync_status = %s{condition}", [REVERSE]
                )
                count = int(cursor.fetchone()[0])
                if count:
                    out[mapping.collection] = count
        return out

    def mark(self, mapping: CollectionMapping, mongo_ids: list[str]) -> None:
        queue_for_mongodb(self.sink, mapping, mongo_ids)

    def _claim(self, mapping: CollectionMapping, limit: int) -> list[str]:
        table = _q(mapping.table)
        with transaction.atomic(using=self.sink.using), self._connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET last_sync_at = now() + make_interval(secs => %s)"
                f" WHERE mongo_id IN (SELECT mongo_id FROM {table} WHERE sync_status = %s"
                " AND (last_sync_at IS NULL OR last_sync_at <= now())"
                " ORDER BY last_sync_at NULLS FIRST LIMIT %s FOR UPDATE SKIP LOCKED)"
                " RETURNING mongo_id",
                [LEASE_SECONDS, REVERSE, limit],
            )
            return [row[0] for row in cursor.fetchall()]

    def push_due(self, limit: int = 200) -> PushReport:
        """Write up to `limit` due rows of each collection back to MongoDB; the round ends at the
        first sign that MongoDB is unreachable (the rest wait for their back-off)."""
        report = PushReport()
        try:
            for mapping in self.registry:
                ids = self._claim(mapping, limit)
                if ids and not self._push(mapping, ids, report):
                    break
        finally:
            connections.close_all()  # hand pooled connections back between rounds
        return report

    def run(self, stop: threading.Event, poll_interval: float = 0.5) -> None:
        """Push due rows until `stop` is set (a thread of the service in postgres_only)."""
        logger.info("reverse mirror worker started")
        while not stop.is_set():
            try:
                report = self.push_due()
            except Exception:  # the worker must outlive a bad round; it is logged in full
                logger.exception("reverse mirror round failed")
                report = PushReport()
            if report.pushed or report.failed:
                logger.info("reverse mirror: %d written back, %d postponed", report.pushed, report.failed)
            if report.pushed == 0:
                stop.wait(poll_interval)
        logger.info("reverse mirror worker stopped")

    def drain(self, max_rounds: int = 1000) -> PushReport:
        """Push until nothing is due (failed rows wait for their back-off: not retried here)."""
        total = PushReport()
        for _ in range(max_rounds):
            report = self.push_due()
            total.pushed += report.pushed
            total.failed += report.failed
            for name, count in report.errors.items():
                total.errors[name] = total.errors.get(name, 0) + count
            if report.pushed == 0 and report.failed == 0:
                break
        return total

    def _push(self, mapping: CollectionMapping, ids: list[str], report: PushReport) -> bool:
        """Push the claimed rows; False when MongoDB is unreachable (the rest are postponed)."""
        rows = self.sink.fetch(mapping, ids)
        try:
            target = self.target(mapping.collection)
        except PyMongoError as exc:
            self._postpone_all(mapping, ids, type(exc).__name__, report)
            return False
        for index, mongo_id in enumerate(ids):
            found = rows.get(mongo_id)
            if found is None:
                continue
            row, children = found
            state = State(row["source_generation"], int(row["source_version"]), bool(row["source_deleted"]))
            try:
                self._write(target, mapping, mongo_id, state, row, children)
            except PyMongoError as exc:
                kind = type(exc).__name__
                logger.warning("reverse mirror failed: collection=%s mongo_id=%s error=%s",
                               mapping.collection, mongo_id, kind)  # fmt: skip
                if isinstance(exc, ConnectionFailure):
                    self._postpone_all(mapping, ids[index:], kind, report)
                    return False
                self._postpone_all(mapping, [mongo_id], kind, report)
                continue
            self._settle(mapping, mongo_id, state)
            report.pushed += 1
        return True

    def _write(
        self,
        target: Collection[dict[str, Any]],
        mapping: CollectionMapping,
        mongo_id: str,
        state: State,
        row: dict[str, Any],
        children: Any,
    ) -> None:
        oid = ObjectId(mongo_id)
        if state.deleted:
            target.delete_one({"_id": oid, **_not_newer(state)})
            return
        document = stored_document(mapping, row, children)
        try:
            target.replace_one({"_id": oid, **_not_newer(state)}, document, upsert=True)
        except DuplicateKeyError:
            return  # MongoDB holds this life at a higher version already
        if self.after_push is not None:
            self.after_push(mapping, document)

    def _settle(self, mapping: CollectionMapping, mongo_id: str, state: State) -> None:
        """SYNCED, unless the row was written again meanwhile (then it stays due)."""
        with self._connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_q(mapping.table)} SET sync_status = %s, sync_error = NULL, last_sync_at = now()"
                " WHERE mongo_id = %s AND sync_status = %s AND source_version = %s"
                " AND source_generation IS NOT DISTINCT FROM %s AND source_deleted = %s",
                [SYNCED, mongo_id, REVERSE, state.version, state.generation, state.deleted],
            )
            if cursor.rowcount == 0:
                cursor.execute(
                    f"UPDATE {_q(mapping.table)} SET last_sync_at = now() WHERE mongo_id = %s AND sync_status = %s",
                    [mongo_id, REVERSE],
                )

    def _postpone_all(
        self, mapping: CollectionMapping, ids: list[str], error: str, report: PushReport
    ) -> None:
        for mongo_id in ids:
            self._postpone(mapping, mongo_id, error)
        report.failed += len(ids)
        report.errors[error] = report.errors.get(error, 0) + 1

    def _postpone(self, mapping: CollectionMapping, mongo_id: str, error: str) -> None:
        with self._connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_q(mapping.table)} SET sync_error = %s,"
                " last_sync_at = now() + make_interval(secs => %s) WHERE mongo_id = %s AND sync_status = %s",
                [error, self.retry_delay, mongo_id, REVERSE],
            )

    # -- verify ----------------------------------------------------------------------------------
    def verify(self, mapping: CollectionMapping, *, repair: bool = False, page: int = 1000) -> ReverseDiff:
        """Compare every row of `mapping` with MongoDB (a row queued for MongoDB is not drift)."""
        diff = ReverseDiff(mapping.collection)
        target = self.target(mapping.collection)
        seen: set[str] = set()
        for ids in self._row_pages(mapping, page):
            rows = self.sink.fetch(mapping, ids)
            documents = {str(d["_id"]): d for d in target.find({"_id": {"$in": [ObjectId(i) for i in ids]}})}
            for mongo_id in ids:
                seen.add(mongo_id)
                row, children = rows[mongo_id]
                diff.checked += 1
                if row["sync_status"] == REVERSE:
                    continue
                problem = self._compare(mapping, row, children, documents.get(mongo_id))
                if problem is not None:
                    getattr(diff, problem).append(mongo_id)
        for document in target.find({}, {"_id": 1}):
            mongo_id = str(document["_id"])
            if mongo_id not in seen and ObjectId.is_valid(mongo_id):
                diff.checked += 1
                diff.extra.append(mongo_id)
        if repair:
            diff.repaired = self._repair(mapping, target, diff)
        return diff

    def _row_pages(self, mapping: CollectionMapping, page: int) -> Iterator[list[str]]:
        after = ""
        while True:
            with self._connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT mongo_id FROM {_q(mapping.table)} WHERE mongo_id > %s"
                    " AND sync_status <> 'PENDING' ORDER BY mongo_id LIMIT %s",
                    [after, page],
                )
                ids = [row[0] for row in cursor.fetchall()]
            if not ids:
                return
            yield ids
            after = ids[-1]

    @staticmethod
    def _compare(
        mapping: CollectionMapping, row: dict[str, Any], children: Any, document: dict[str, Any] | None
    ) -> str | None:
        if row["source_deleted"]:
            return "extra" if document is not None else None
        if document is None:
            return "missing"
        state = document_state(document)
        if state is None or (state.generation, state.version) != (
            row["source_generation"],
            int(row["source_version"]),
        ):
            return "differing"
        without_mark = {k: v for k, v in document.items() if k != PENDING_MARK_FIELD}
        if canonical_document(mapping, without_mark) != rows_to_document(mapping, row, children):
            return "differing"
        return None

    def _repair(
        self, mapping: CollectionMapping, target: Collection[dict[str, Any]], diff: ReverseDiff
    ) -> int:
        """Queue the rows that differ or are missing; delete documents no row holds."""
        queued = [*diff.missing, *diff.differing]
        tombstoned = [i for i in diff.extra if i in self.sink.fetch(mapping, [i])]
        orphans = [i for i in diff.extra if i not in tombstoned]
        if queued or tombstoned:
            self.mark(mapping, queued + tombstoned)
        if orphans:
            target.delete_many({"_id": {"$in": [ObjectId(i) for i in orphans]}})
        return len(queued) + len(tombstoned) + len(orphans)
