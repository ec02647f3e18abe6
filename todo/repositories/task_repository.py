from __future__ import annotations

import datetime as dt
from typing import Any

from bson import ObjectId

from dualwrite.transform import canonical_document, normalise_mongo_id
from dualwrite.types import Timestamp
from todo.models.documents import Task
from todo.models.enums import TaskPriority, TaskStatus
from todo.repositories import task_list as tl
from todo.repositories.abstract_repository import AbstractTaskRepository
from todo.repositories.mongo_repository import MongoRepository, _value_type, mongo_query, register

_KEY, _MISSING = "_list_key", "_list_missing"  # fields the list pipeline adds (and drops)


@register
class TaskRepository(AbstractTaskRepository, MongoRepository[Task]):
    """Tasks in MongoDB; every write is mirrored to Postgres.

    Task lists (task_list.py) are filtered, ordered, paged and counted by MongoDB: the scope's ids
    are read with `distinct` (through its index), the tasks with one `$in` on `_id`, the order by
    an aggregation (missing values last in either direction, which `find().sort()` cannot say).
    When the scope holds legacy-typed values MongoDB would order or compare differently (ISO-string
    dates among dates: MongoDB orders every string before every date and `$gt` a date skips them;
    string ids among ObjectIds), the scope's live tasks are read and the rules applied in Python
    instead (task_list.matches / ordered), as Postgres would order them."""

    # The last query's scope: (query, filter or None when empty, legacy-typed).
    _scope_of: tuple[tl.TaskListQuery, dict[str, Any] | None, bool] | None = None

    def _list_find(self, query: tl.TaskListQuery, skip: int, limit: int) -> list[dict[str, Any]]:
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

    def _list_count(self, query: tl.TaskListQuery) -> int:
        base, legacy = self._list_scope(query)
        if base is None:
            return 0
        if legacy:
            return len(self._python_list(query, base))
        return int(self.coll.count_documents({"$and": [base, *self._status_filter(query)]}))

    # -- parts -----------------------------------------------------------------------------------
    def _list_scope(self, query: tl.TaskListQuery) -> tuple[dict[str, Any] | None, bool]:
        """The scope's filter (`_list_base`) and whether it holds legacy-typed values, read once
        per query: a list asks for its page and then its count with the same query object."""
        held = self._scope_of
        if held is not None and held[0] is query:
            return held[1], held[2]
        base = self._list_base(query)
        legacy = base is not None and self._legacy_typed(query, base)
        self._scope_of = (query, base, legacy)
        return base, legacy

    def _list_base(self, query: tl.TaskListQuery) -> dict[str, Any] | None:
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
        from todo.repositories.mongo_repository import mongo_repositories

        return mongo_repositories()[collection](self.engine)

    def _legacy_typed(self, query: tl.TaskListQuery, base: dict[str, Any]) -> bool:
        """Whether a task of the scope holds a value MongoDB would order or compare otherwise than
        its canonical form: a date key (sorted or filtered on) or its id held as a string."""
        keys = ["_id"]
        keys += [k for k in query.sort_keys if isinstance(_value_type(self.mapping, k)[0], Timestamp)]
        if query.needs_deferral:
            keys.append(tl.DEFERRED_TILL)
        legacy = {"$or": [{key: {"$type": "string"}} for key in keys]}
        return self.coll.find_one({"$and": [base, legacy]}, {"_id": 1}) is not None

    def _python_list(
        self, query: tl.TaskListQuery, base: dict[str, Any]
    ) -> list[tuple[dict[str, Any], Task]]:
        documents = [canonical_document(self.mapping, doc) for doc in self.coll.find(base)]
        tasks = [self._model(doc) for doc in documents]
        by_task = {task.id: doc for task, doc in zip(tasks, documents, strict=True)}
        kept = tl.ordered(query, [task for task in tasks if tl.matches(query, task)])
        return [(by_task[task.id], task) for task in kept]

    @staticmethod
    def _status_filter(query: tl.TaskListQuery) -> list[dict[str, Any]]:
        """MongoDB conditions of the query's status (see task_list's docstring)."""
        status = query.status
        if status == tl.ALL:
            return []
        at = query.at.astimezone(dt.UTC).replace(tzinfo=None)  # naive UTC, as BSON dates compare
        deferred = {tl.DEFERRED_TILL: {"$gt": at}}
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
    def _key_expression(query: tl.TaskListQuery) -> Any:
        """The sort value: the first present of the query's keys (a missing priority reads LOW)."""
        if query.sort_by == "priority":
            return {"$ifNull": ["$priority", TaskPriority.LOW.value]}
        keys = [f"${key}" for key in query.sort_keys]
        return keys[0] if len(keys) == 1 else {"$ifNull": keys}
