"""Read-your-writes for Postgres reads in `read_migration`: a read never answers a document older
than MongoDB's.

In read_migration MongoDB is the store of record and Postgres follows it write by write; a mirror
write may be in flight, or have failed and wait in the retry queue. Every engine write leaves a
trace until Postgres holds it: a create or update sets a pending mark (`_dw`) in the same MongoDB
operation and clears it only once Postgres holds that state or the retry queue holds a record of
it; a delete records its intent in the queue before it deletes. So "MongoDB and Postgres differ
on a document" implies "the document has a mark or an unresolved retry record".

A Postgres read (`_find`, `_count`, and so every entity query built on them) therefore:
1. before reading Postgres, asks MongoDB whether any write the read could see is still unmirrored:
   for a read by `_id` (get_by_id, get_by_ids, ...) only those ids are checked; for any other read
   the whole collection is (a query cannot tell which unmirrored documents it would match);
2. reads Postgres when nothing is pending, then compares the state (generation, version, deleted)
   of each returned row with its MongoDB document (one `$in` query of `_id`, `_v`, `_gen`, `_dw`):
   this catches writes that landed meanwhile and writes made behind the engine's back;
3. answers the whole read from MongoDB (through the MongoDB repository, same domain models) when
   step 1 or 2 found something, or Postgres failed; each such read is counted in
   `dualwrite_read_fallbacks_total{collection,reason}`.

Whole-read fallback rather than substituting single documents keeps filters, sort order and pages
right: a changed document may no longer match the filter, or sort elsewhere. Checking before the
Postgres read is what makes the guarantee hold: a write acknowledged before the read began is
either in Postgres when step 1 runs (so the read sees it or a later state) or still leaves its
trace there.
"""

from __future__ import annotations

import functools
import logging
from functools import cached_property
from typing import Any

from dualwrite import metrics
from dualwrite.engine import BREAKER, DB_ERRORS
from dualwrite.mapping import GENERATION_FIELD, PENDING_MARK_FIELD, VERSION_FIELD
from dualwrite.ordering import State, document_state, in_step
from dualwrite.queue import UNRESOLVED, RetryQueue
from dualwrite.sink import PostgresSink
from dualwrite.transform import normalise_mongo_id
from todo.models import documents as domain_models
from todo.repositories.abstract_repository import AbstractRepository
from todo.repositories.mongo_repository import MONGO_REPOSITORIES, MongoRepository, mongo_query
from todo.repositories.postgres_repository import POSTGRES_REPOSITORIES, PostgresRepository
from todo.repositories.queries import Contains, Filters, In, Sort
from todo.repositories.task_list import TaskListQuery

logger = logging.getLogger(__name__)

# Reasons a Postgres read was answered by MongoDB (label values of the fallback counter).
PENDING, STALE, POSTGRES_ERROR = "pending", "stale", "postgres_error"
_STATE_PROJECTION = {VERSION_FIELD: 1, GENERATION_FIELD: 1, PENDING_MARK_FIELD: 1}


def filtered_ids(filters: Filters) -> list[str] | None:
    """The ids a read is restricted to by an `_id` filter (None: not restricted by id)."""
    value = filters.get("_id")
    if value is None or isinstance(value, Contains):
        return None
    values = value.values if isinstance(value, In) else [value]
    return [normalise_mongo_id(v) for v in values if v is not None]


def model_ids(result: Any) -> list[str]:
    """The ids of the documents in a read result (a model, a list of models, a tuple of those, or
    anything else)."""
    if isinstance(result, tuple):
        return [mongo_id for part in result for mongo_id in model_ids(part)]
    items = result if isinstance(result, list) else [result]
    return [item.id for item in items if isinstance(item, domain_models.DomainModel) and item.id]


class Freshness:
    """What MongoDB knows about one collection that Postgres may not hold yet."""

    def __init__(self, mongo: MongoRepository[Any], queue: RetryQueue, using: str = "default") -> None:
        self.mongo = mongo
        self.queue = queue
        self.using = using

    @property
    def collection(self) -> str:
        return self.mongo.collection

    def any_pending(self, ids: list[str] | None) -> bool:
        """True when a write of `ids` (of any document when None) is not yet known to be in Postgres."""
        if ids is not None and not ids:
            return False
        marks: dict[str, Any] = {PENDING_MARK_FIELD: {"$exists": True}}
        records: dict[str, Any] = {"collection": self.collection, "status": {"$in": UNRESOLVED}}
        if ids is not None:
            marks |= mongo_query(self.mongo.mapping, {"_id": In(ids)})
            records["mongo_id"] = {"$in": ids}
        return (
            self.mongo.coll.find_one(marks, {"_id": 1}) is not None
            or self.queue.coll.find_one(records, {"_id": 1}) is not None
        )

    def stale_ids(self, ids: list[str]) -> set[str]:
        """Those of `ids` whose Postgres row does not hold MongoDB's current state, or whose
        document carries a pending mark (a MongoDB query and a Postgres query)."""
        if not ids:
            return set()
        documents = {
            normalise_mongo_id(doc["_id"]): doc
            for doc in self.mongo.coll.find(
                mongo_query(self.mongo.mapping, {"_id": In(ids)}), _STATE_PROJECTION
            )
        }
        rows = {
            mongo_id: State(generation, int(version), bool(deleted))
            for mongo_id, generation, version, deleted in self.mongo.mapping.model._default_manager.using(
                self.using
            )
            .filter(mongo_id__in=ids)
            .values_list("mongo_id", "source_generation", "source_version", "source_deleted")
        }
        return {
            mongo_id
            for mongo_id in ids
            if PENDING_MARK_FIELD in documents.get(mongo_id, {})
            or not in_step(document_state(documents.get(mongo_id)), rows.get(mongo_id))
        }


def build_freshness(collection: str, using: str = "default") -> Freshness:
    from todo.wiring import build_queue

    return Freshness(MONGO_REPOSITORIES[collection](), build_queue(), using)


class ReadYourWrites(PostgresRepository[Any]):
    """Mixed in front of a Postgres repository class (see `fresh_postgres`): reads as in the
    module docstring; writes are not routed here (in read_migration MongoDB takes them)."""

    @cached_property
    def freshness(self) -> Freshness:
        return build_freshness(self.collection, self.sink.using)

    def sibling(self, model: type[domain_models.DomainModel]) -> AbstractRepository[Any]:
        return fresh_postgres(model.collection, self.sink)

    def _find(self, filters: Filters, sort: Sort, skip: int, limit: int | None) -> list[dict[str, Any]]:
        reason = self._pending_reason(filters)
        if reason is None:
            try:
                found = super()._find(filters, sort, skip, limit)
                ids = [normalise_mongo_id(doc["_id"]) for doc in found]
                reason = STALE if self.freshness.stale_ids(ids) else None
            except DB_ERRORS as exc:
                reason = self._postgres_failed(exc)
            if reason is None:
                return found
        self._fell_back(reason)
        return self.freshness.mongo._find(filters, sort, skip, limit)

    def _count(self, filters: Filters) -> int:
        reason = self._pending_reason(filters)
        if reason is None:
            try:
                return super()._count(filters)
            except DB_ERRORS as exc:
                reason = self._postgres_failed(exc)
        self._fell_back(reason)
        return self.freshness.mongo._count(filters)

    # Task lists (task_list.py): as `_find`/`_count`; the list also reads its scope's collection
    # (e.g. task assignments), so a write pending there answers the list from MongoDB too.
    def _list_find(self, query: TaskListQuery, skip: int, limit: int) -> list[dict[str, Any]]:
        reason = self._list_pending_reason(query)
        if reason is None:
            try:
                found = super()._list_find(query, skip, limit)  # type: ignore[misc]
                ids = [normalise_mongo_id(doc["_id"]) for doc in found]
                reason = STALE if self.freshness.stale_ids(ids) else None
            except DB_ERRORS as exc:
                reason = self._postgres_failed(exc)
            if reason is None:
                return list(found)
        self._fell_back(reason)
        return list(self.freshness.mongo._list_find(query, skip, limit))  # type: ignore[attr-defined]

    def _list_count(self, query: TaskListQuery) -> int:
        reason = self._list_pending_reason(query)
        if reason is None:
            try:
                return int(super()._list_count(query))  # type: ignore[misc]
            except DB_ERRORS as exc:
                reason = self._postgres_failed(exc)
        self._fell_back(reason)
        return int(self.freshness.mongo._list_count(query))  # type: ignore[attr-defined]

    def _list_pending_reason(self, query: TaskListQuery) -> str | None:
        reason = self._pending_reason({})
        if reason is None and build_freshness(query.scope.collection, self.sink.using).any_pending(None):
            reason = PENDING
        return reason

    def _pending_reason(self, filters: Filters) -> str | None:
        if BREAKER.is_open():  # Postgres just failed a write: do not wait on the pool for it
            return POSTGRES_ERROR
        return PENDING if self.freshness.any_pending(filtered_ids(filters)) else None

    def _postgres_failed(self, exc: BaseException) -> str:
        logger.warning("postgres read failed, answered from MongoDB: collection=%s error=%s",
                       self.collection, type(exc).__name__)  # fmt: skip
        return POSTGRES_ERROR

    def _fell_back(self, reason: str) -> None:
        metrics.count_read_fallback(self.collection, reason)


@functools.cache
def _fresh_class(base: type[PostgresRepository[Any]]) -> type[ReadYourWrites]:
    return type(f"ReadYourWrites{base.__name__}", (ReadYourWrites, base), {"__module__": __name__})


def fresh_postgres(collection: str, sink: PostgresSink | None = None) -> ReadYourWrites:
    """The Postgres repository of a collection, with read-your-writes (same interface)."""
    return _fresh_class(POSTGRES_REPOSITORIES[collection])(sink)


def read_fallback_counts() -> dict[str, dict[str, int]]:
    """{collection: {reason: reads answered by MongoDB}} counted by this process."""
    out: dict[str, dict[str, int]] = {}
    for metric in metrics.READ_FALLBACKS.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                out.setdefault(sample.labels["collection"], {})[sample.labels["reason"]] = int(sample.value)
    return out


def involved_ids(*results: Any) -> list[str]:
    """Every document id in the given read results, each once."""
    seen: dict[str, None] = {}
    for result in results:
        seen.update(dict.fromkeys(model_ids(result)))
    return list(seen)
