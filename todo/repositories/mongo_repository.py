"""The MongoDB implementation of the repository interface.

Every write goes through the dual-write engine (MongoDB first, version bumped in the same
operation, then the Postgres mirror), here in the shared base, so that no write method of any
repository can forget the mirror. Reads return canonical documents (legacy forms normalised).
A write refused by a unique index raises the repositories' `DuplicateKey`.

The entity repositories follow the shared base; `MONGO_REPOSITORIES` at the end lists them all.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from dualwrite.engine import DualWriteEngine
from dualwrite.errors import DocumentNotFoundError
from dualwrite.mapping import PENDING_MARK_FIELD, VERSION_FIELD, ArrayTable, CollectionMapping
from dualwrite.operations import UPDATE
from dualwrite.transform import canonical_document, normalise_mongo_id
from dualwrite.types import ObjectIdRef, Timestamp, ValueType
from dualwrite.uniqueness import unique_keys
from todo.db.mongo_manager import DatabaseManager
from todo.mappings import get_registry
from todo.models import documents as domain_models
from todo.models.enums import TaskPriority, TaskStatus
from todo.repositories import abstract_repository as interfaces
from todo.repositories import task_list as task_lists
from todo.repositories.abstract_repository import AbstractRepository, M
from todo.repositories.errors import DuplicateKey, RepositoryError
from todo.repositories.queries import AnyOf, Contains, Filters, In, Sort


def _value_type(mapping: CollectionMapping, key: str) -> tuple[ValueType | None, Any]:
    """The value type of a document key and its default."""
    if key == "_id":
        return ObjectIdRef(), None
    field = mapping.by_source.get(key)
    if field is not None:
        return field.type, field.default
    for child in mapping.children:
        if isinstance(child, ArrayTable) and child.source == key:
            return child.item_type, None
    raise RepositoryError(f"{mapping.collection} has no field {key!r} to filter or sort on")


def _stored_forms(value_type: ValueType | None, value: Any) -> list[Any]:
    """Every form MongoDB may hold a value in (legacy documents keep ids as strings)."""
    if isinstance(value_type, ObjectIdRef) and value is not None and value not in value_type.literals:
        text = normalise_mongo_id(value)
        return [ObjectId(text), text]
    return [value]


def sort_documents(documents: list[dict[str, Any]], sort: Sort) -> list[dict[str, Any]]:
    """Canonical documents in MongoDB's order of `sort` (a missing value first ascending, last
    descending), ties by `_id` ascending."""
    ordered = sorted(documents, key=lambda doc: str(doc["_id"]))
    for key, direction in reversed(sort):
        present = [doc for doc in ordered if doc.get(key) is not None]
        missing = [doc for doc in ordered if doc.get(key) is None]
        present.sort(key=lambda doc: doc[key], reverse=direction < 0)  # stable: earlier keys' ties
        ordered = missing + present if direction >= 0 else present + missing
    return ordered


def mongo_query(mapping: CollectionMapping, filters: Filters) -> dict[str, Any]:
    query: dict[str, Any] = {}
    for key, value in filters.items():
        if isinstance(value, AnyOf):
            query["$or"] = [mongo_query(mapping, alternative) for alternative in value.alternatives]
            continue
        value_type, default = _value_type(mapping, key)
        if isinstance(value, Contains):
            query[key] = {"$regex": re.escape(value.text), "$options": "i"}
            continue
        values = list(value.values) if isinstance(value, In) else [value]
        forms = [form for v in values for form in _stored_forms(value_type, v)]
        if default is not None and default in values:
            forms.append(None)  # a missing key reads as its default
        query[key] = forms[0] if len(forms) == 1 else {"$in": forms}
    return query


class MongoRepository(AbstractRepository[M]):
    """Reads from MongoDB; writes to MongoDB and mirrors to Postgres through the engine."""

    def __init__(self, engine: DualWriteEngine | None = None) -> None:
        self._engine = engine

    @property
    def engine(self) -> DualWriteEngine:
        """The engine given, else the process's cached one (`todo.wiring`)."""
        if self._engine is not None:
            return self._engine
        from todo.wiring import dual_write_engine

        return dual_write_engine()

    @property
    def mapping(self) -> CollectionMapping:
        return get_registry().get(self.collection)

    @property
    def coll(self) -> Any:
        return DatabaseManager.get().get_collection(self.collection)

    def sibling(self, model: type[domain_models.DomainModel]) -> AbstractRepository[Any]:
        return MONGO_REPOSITORIES[model.collection](self.engine)

    def _insert(self, document: dict[str, Any]) -> dict[str, Any]:
        data = {k: v for k, v in document.items() if k != "_id"}
        try:
            result = self.engine.create(self.collection, str(document["_id"]), data)
        except DuplicateKeyError as exc:
            raise self._duplicate(exc) from exc
        return canonical_document(self.mapping, result.document or {})

    def _set(self, id: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        try:
            result = self.engine.update(self.collection, normalise_mongo_id(id), fields)
        except DocumentNotFoundError:
            return None
        except DuplicateKeyError as exc:
            raise self._duplicate(exc) from exc
        return canonical_document(self.mapping, result.document or {})

    def _duplicate(self, exc: DuplicateKeyError) -> DuplicateKey:
        """The repositories' error for a write a unique index refused, naming the index's keys
        (as MongoDB reports them, else the collection's unique keys)."""
        pattern = (exc.details or {}).get("keyPattern")
        fields = tuple(pattern) if isinstance(pattern, dict) else ()
        if not fields:
            fields = tuple(field for key in unique_keys(self.mapping) for field in key.fields)
        return DuplicateKey(self.collection, fields)

    def _remove(self, id: str) -> bool:
        return self.engine.delete(self.collection, id).document is not None

    def _find(self, filters: Filters, sort: Sort, skip: int, limit: int | None) -> list[dict[str, Any]]:
        types = [_value_type(self.mapping, key)[0] for key, _direction in sort]
        query = mongo_query(self.mapping, filters)
        if any(isinstance(t, Timestamp) for t in types):
            # Legacy documents hold some dates as ISO strings, and MongoDB orders every string
            # before every date: order the canonical documents here instead (as Postgres does).
            found = [canonical_document(self.mapping, doc) for doc in self.coll.find(query)]
            ordered = sort_documents(found, sort)
            return ordered[skip : skip + limit] if limit else ordered[skip:]
        cursor = self.coll.find(query).sort([*sort, ("_id", 1)]).skip(skip)
        if limit:
            cursor = cursor.limit(limit)
        return [canonical_document(self.mapping, doc) for doc in cursor]

    def _count(self, filters: Filters) -> int:
        return int(self.coll.count_documents(mongo_query(self.mapping, filters)))


_KEY, _MISSING = "_list_key", "_list_missing"  # fields the list pipeline adds (and drops)


class TaskRepository(interfaces.AbstractTaskRepository, MongoRepository[domain_models.Task]):
    """Tasks in MongoDB; every write is mirrored to Postgres.

    Task lists (task_list.py) are filtered, ordered, paged and counted by MongoDB: the scope's ids
    are read with `distinct` (through its index), the tasks with one `$in` on `_id`, the order by
    an aggregation (missing values last in either direction, which `find().sort()` cannot say).
    When the scope holds legacy-typed values MongoDB would order or compare differently (ISO-string
    dates among dates: MongoDB orders every string before every date and `$gt` a date skips them;
    string ids among ObjectIds), the scope's live tasks are read and the rules applied in Python
    instead (task_list.matches / ordered), as Postgres would order them."""

    # The last query's scope: (query, filter or None when empty, legacy-typed).
    _scope_of: tuple[task_lists.TaskListQuery, dict[str, Any] | None, bool] | None = None

    def _list_find(self, query: task_lists.TaskListQuery, skip: int, limit: int) -> list[dict[str, Any]]:
        base, legacy = self._list_scope(query)
        if base is None:
            return []
        if legacy:
            tasks = self._python_list(query, base)
            return [doc for doc, _task in tasks[skip : skip + limit]]
        direction = -1 if query.descending else 1
        pipeline = [
            {"$match": {"$and": [base, *self._status_filter(query)]}},
            {"$addFields": {_KEY: self._key_expression(query)}},
            {"$addFields": {_MISSING: {"$cond": [{"$eq": [{"$ifNull": [f"${_KEY}", None]}, None]}, 1, 0]}}},
            {"$sort": {_MISSING: 1, _KEY: direction, "_id": direction}},
            {"$skip": skip},
            {"$limit": limit},
            {"$project": {_KEY: 0, _MISSING: 0}},
        ]
        return [canonical_document(self.mapping, doc) for doc in self.coll.aggregate(pipeline)]

    def _list_count(self, query: task_lists.TaskListQuery) -> int:
        base, legacy = self._list_scope(query)
        if base is None:
            return 0
        if legacy:
            return len(self._python_list(query, base))
        return int(self.coll.count_documents({"$and": [base, *self._status_filter(query)]}))

    # -- parts -----------------------------------------------------------------------------------
    def _list_scope(self, query: task_lists.TaskListQuery) -> tuple[dict[str, Any] | None, bool]:
        """The scope's filter (`_list_base`) and whether it holds legacy-typed values, read once
        per query: a list sorted by assignee asks for its count and then all of its tasks with the
        same query object."""
        held = self._scope_of
        if held is not None and held[0] is query:
            return held[1], held[2]
        base = self._list_base(query)
        legacy = base is not None and self._legacy_typed(query, base)
        self._scope_of = (query, base, legacy)
        return base, legacy

    def _list_base(self, query: task_lists.TaskListQuery) -> dict[str, Any] | None:
        """Live tasks of the scope (its ids in both stored forms: legacy documents keep strings);
        None for an empty scope, whose list is empty without asking for any task."""
        scope = self.sibling_repository(query.scope.collection)
        found = scope.coll.distinct(query.scope.key, mongo_query(scope.mapping, query.scope.filters))
        ids = sorted({normalise_mongo_id(value) for value in found if value is not None})
        if not ids:
            return None
        forms: list[Any] = [form for i in ids for form in (ObjectId(i), i)]
        return {"_id": {"$in": forms}, **mongo_query(self.mapping, {"isDeleted": False})}

    def sibling_repository(self, collection: str) -> MongoRepository[Any]:
        return MONGO_REPOSITORIES[collection](self.engine)

    def _legacy_typed(self, query: task_lists.TaskListQuery, base: dict[str, Any]) -> bool:
        """Whether a task of the scope holds a value MongoDB would order or compare otherwise than
        its canonical form: a date key (sorted or filtered on) or its id held as a string."""
        keys = ["_id"]
        keys += [k for k in query.sort_keys if isinstance(_value_type(self.mapping, k)[0], Timestamp)]
        if query.needs_deferral:
            keys.append(task_lists.DEFERRED_TILL)
        legacy = {"$or": [{key: {"$type": "string"}} for key in keys]}
        return self.coll.find_one({"$and": [base, legacy]}, {"_id": 1}) is not None

    def _python_list(
        self, query: task_lists.TaskListQuery, base: dict[str, Any]
    ) -> list[tuple[dict[str, Any], domain_models.Task]]:
        documents = [canonical_document(self.mapping, doc) for doc in self.coll.find(base)]
        tasks = [self._model(doc) for doc in documents]
        by_task = {task.id: doc for task, doc in zip(tasks, documents, strict=True)}
        kept = task_lists.ordered(query, [task for task in tasks if task_lists.matches(query, task)])
        return [(by_task[task.id], task) for task in kept]

    @staticmethod
    def _status_filter(query: task_lists.TaskListQuery) -> list[dict[str, Any]]:
        """MongoDB conditions of the query's status (see task_list's docstring)."""
        status = query.status
        if status == task_lists.ALL:
            return []
        at = query.at.astimezone(dt.UTC).replace(tzinfo=None)  # naive UTC, as BSON dates compare
        deferred = {task_lists.DEFERRED_TILL: {"$gt": at}}
        not_deferred = {"$nor": [deferred]}  # missing, null, or not after `at`
        if status is None:
            return [not_deferred, {"status": {"$nin": [TaskStatus.DONE.value, TaskStatus.DEFERRED.value]}}]
        if status == TaskStatus.DONE:
            return [not_deferred, {"status": {"$ne": TaskStatus.DEFERRED.value}}]
        if status == TaskStatus.DEFERRED:
            return [{"$or": [deferred, {"status": TaskStatus.DEFERRED.value}]}]
        shown: Any = status if status != TaskStatus.TODO else {"$in": [status, None]}  # missing: TODO
        return [not_deferred, {"status": shown}]

    @staticmethod
    def _key_expression(query: task_lists.TaskListQuery) -> Any:
        """The sort value: the first present of the query's keys (a missing priority reads LOW)."""
        if query.sort_by == "priority":
            return {"$ifNull": ["$priority", TaskPriority.LOW.value]}
        keys = [f"${key}" for key in query.sort_keys]
        return keys[0] if len(keys) == 1 else {"$ifNull": keys}


class TeamCreationInviteCodeRepository(
    interfaces.AbstractTeamCreationInviteCodeRepository, MongoRepository[domain_models.TeamCreationInviteCode]
):
    """Team-creation invite codes in MongoDB; every write is mirrored to Postgres."""

    def _set_where(self, id: str, expected: Filters, fields: dict[str, Any]) -> dict[str, Any] | None:
        """One conditional `find_one_and_update` (atomic in MongoDB, so across processes), with the
        engine's version bump and pending mark in the same operation, then the engine's mirror."""
        oid = ObjectId(normalise_mongo_id(id))
        query = {**mongo_query(self.mapping, expected), "_id": oid}
        spec = {"$set": {**fields, PENDING_MARK_FIELD: ObjectId()}, "$inc": {VERSION_FIELD: 1}}
        try:
            stored = self.coll.find_one_and_update(query, spec, return_document=ReturnDocument.AFTER)
        except DuplicateKeyError as exc:
            raise self._duplicate(exc) from exc
        if stored is None:
            return None
        self.engine.mirror(self.collection, str(oid), UPDATE, stored)
        return canonical_document(self.mapping, stored)


class UserRepository(interfaces.AbstractUserRepository, MongoRepository[domain_models.User]):
    """Users in MongoDB; every write is mirrored to Postgres."""


class TeamRepository(interfaces.AbstractTeamRepository, MongoRepository[domain_models.Team]):
    """Teams in MongoDB; every write is mirrored to Postgres."""


class UserTeamDetailsRepository(
    interfaces.AbstractUserTeamDetailsRepository, MongoRepository[domain_models.UserTeamDetails]
):
    """Team memberships in MongoDB; every write is mirrored to Postgres."""


class LabelRepository(interfaces.AbstractLabelRepository, MongoRepository[domain_models.Label]):
    """Labels in MongoDB; every write is mirrored to Postgres."""


class RoleRepository(interfaces.AbstractRoleRepository, MongoRepository[domain_models.Role]):
    """Roles in MongoDB; every write is mirrored to Postgres."""


class UserRoleRepository(interfaces.AbstractUserRoleRepository, MongoRepository[domain_models.UserRole]):
    """Role grants of users in MongoDB; every write is mirrored to Postgres."""


class TaskAssignmentRepository(
    interfaces.AbstractTaskAssignmentRepository, MongoRepository[domain_models.TaskAssignment]
):
    """Task assignments in MongoDB; every write is mirrored to Postgres."""


class WatchlistRepository(interfaces.AbstractWatchlistRepository, MongoRepository[domain_models.Watchlist]):
    """Watchlist entries in MongoDB; every write is mirrored to Postgres."""


class AuditLogRepository(interfaces.AbstractAuditLogRepository, MongoRepository[domain_models.AuditLog]):
    """Audit log entries in MongoDB; every write is mirrored to Postgres."""


MONGO_REPOSITORIES: dict[str, type[MongoRepository[Any]]] = {
    cls.model.collection: cls
    for cls in (
        UserRepository,
        TaskRepository,
        TeamRepository,
        UserTeamDetailsRepository,
        LabelRepository,
        RoleRepository,
        UserRoleRepository,
        TaskAssignmentRepository,
        WatchlistRepository,
        AuditLogRepository,
        TeamCreationInviteCodeRepository,
    )
}
