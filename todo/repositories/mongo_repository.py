"""The MongoDB implementation of the repository interface.

Every write goes through the dual-write engine (MongoDB first, version bumped in the same
operation, then the Postgres mirror), here in the shared base, so that no write method of any
repository can forget the mirror. Reads return canonical documents (legacy forms normalised).
"""

from __future__ import annotations

import re
from typing import Any

from bson import ObjectId

from dualwrite.engine import DualWriteEngine
from dualwrite.errors import DocumentNotFoundError
from dualwrite.mapping import ArrayTable, CollectionMapping
from dualwrite.transform import canonical_document, normalise_mongo_id
from dualwrite.types import ObjectIdRef, Timestamp, ValueType
from todo.db.mongo_manager import DatabaseManager
from todo.mappings import get_registry
from todo.models import documents as d
from todo.repositories.abstract_repository import AbstractRepository, M
from todo.repositories.queries import AnyOf, Contains, Filters, In, RepositoryError, Sort


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

    def sibling(self, model: type[d.DomainModel]) -> AbstractRepository[Any]:
        return mongo_repositories()[model.collection](self.engine)

    def _insert(self, document: dict[str, Any]) -> dict[str, Any]:
        data = {k: v for k, v in document.items() if k != "_id"}
        result = self.engine.create(self.collection, str(document["_id"]), data)
        return canonical_document(self.mapping, result.document or {})

    def _set(self, id: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        try:
            result = self.engine.update(self.collection, normalise_mongo_id(id), fields)
        except DocumentNotFoundError:
            return None
        return canonical_document(self.mapping, result.document or {})

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


MONGO_REPOSITORIES: dict[str, type[MongoRepository[Any]]] = {}
REPOSITORY_MODULES = (
    "user_repository",
    "task_repository",
    "team_repository",
    "user_team_details_repository",
    "label_repository",
    "role_repository",
    "user_role_repository",
    "task_assignment_repository",
    "watchlist_repository",
    "audit_log_repository",
    "team_creation_invite_code_repository",
)


def register(cls: type[MongoRepository[Any]]) -> type[MongoRepository[Any]]:
    """Class decorator: make a MongoDB repository findable by its collection."""
    MONGO_REPOSITORIES[cls.model.collection] = cls
    return cls


def mongo_repositories() -> dict[str, type[MongoRepository[Any]]]:
    """Every MongoDB repository by collection (imports their modules once)."""
    import importlib

    for module in REPOSITORY_MODULES:
        importlib.import_module(f"todo.repositories.{module}")
    return MONGO_REPOSITORIES
