"""The Postgres implementation of the repository interface.

Reads rebuild documents from rows through the reverse mapping, so they return the same domain
objects as the MongoDB repositories. Writes (used when Postgres is the store of record, in the
postgres_only phase) lock the row, apply the change to its document, bump the version and write
through the same guarded sink as the mirror; deletes leave a tombstone. A write refused by a
unique constraint raises the repositories' `DuplicateKey`, as from the MongoDB repositories.

The entity repositories follow the shared base; `POSTGRES_REPOSITORIES` at the end lists them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from bson import ObjectId
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Collate

from dualwrite.mapping import (
    GENERATION_FIELD,
    VERSION_FIELD,
    ArrayTable,
    CollectionMapping,
    EmbeddedTable,
    Field,
)
from dualwrite.operations import apply_set
from dualwrite.ordering import State
from dualwrite.reverse import queue_for_mongodb
from dualwrite.sink import PostgresSink
from dualwrite.transform import canonical_document, document_to_rows, normalise_mongo_id, rows_to_document
from dualwrite.types import ObjectIdRef, Text, ValueProblem
from dualwrite.uniqueness import violated_key
from todo.mappings import get_registry
from todo.models import documents as domain_models
from todo.models.enums import TaskStatus
from todo.phases import reverse_mirroring
from todo.repositories import abstract_repository as interfaces
from todo.repositories import task_list as task_lists
from todo.repositories.abstract_repository import AbstractRepository, M
from todo.repositories.errors import DuplicateKey, RepositoryError
from todo.repositories.queries import AnyOf, Contains, Filters, In, Sort


def _attname(model: type[models.Model], column: str) -> str:
    for field in model._meta.concrete_fields:
        if field.column == column:
            return str(field.attname)
    raise RepositoryError(f"{model._meta.db_table} has no column {column!r}")


class PostgresRepository(AbstractRepository[M]):
    def __init__(self, sink: PostgresSink | None = None) -> None:
        self.sink = sink or PostgresSink()

    @property
    def mapping(self) -> CollectionMapping:
        return get_registry().get(self.collection)

    def sibling(self, model: type[domain_models.DomainModel]) -> AbstractRepository[Any]:
        return POSTGRES_REPOSITORIES[model.collection](self.sink)

    # -- queries -------------------------------------------------------------------------------
    def _condition(self, key: str, value: Any) -> Q:
        if isinstance(value, AnyOf):
            either = Q(pk__in=[])  # false: no alternative
            for alternative in value.alternatives:
                both = Q()
                for alt_key, alt_value in alternative.items():
                    both &= self._condition(alt_key, alt_value)
                either |= both
            return either
        mapping = self.mapping
        if key == "_id":
            return self._match("mongo_id", ObjectIdRef(), value)
        field = mapping.by_source.get(key)
        if field is not None:
            return self._match(_attname(mapping.model, field.column), field.type, value)
        for child in mapping.children:
            if isinstance(child, ArrayTable) and child.source == key:
                item = self._match(_attname(child.model, child.item_column), child.item_type, value)
                parents = child.model._default_manager.filter(item).values(
                    _attname(child.model, child.parent_column)
                )
                return Q(mongo_id__in=parents)
        raise RepositoryError(f"{mapping.collection} has no field {key!r} to filter on")

    def _match(self, attname: str, value_type: Any, value: Any) -> Q:
        if isinstance(value, Contains):
            return Q(**{f"{attname}__icontains": value.text})

        def stored(v: Any) -> Any:
            if isinstance(value_type, ObjectIdRef) and v is not None and v not in value_type.literals:
                return normalise_mongo_id(v)  # InvalidMongoIdError, as from the MongoDB repositories
            return value_type.to_column(v)

        try:
            if isinstance(value, In):
                return Q(**{f"{attname}__in": [stored(v) for v in value.values]})
            if value is None:
                return Q(**{f"{attname}__isnull": True})
            return Q(**{attname: stored(value)})
        except ValueProblem as problem:
            raise RepositoryError(f"{self.collection}: bad filter value for {attname}: {problem}") from None

    def _queryset(self, filters: Filters) -> models.QuerySet[Any]:
        condition = Q(source_deleted=False)
        for key, value in filters.items():
            condition &= self._condition(key, value)
        return self.mapping.model._default_manager.filter(condition)

    def _ordering(self, sort: Sort) -> list[Any]:
        order = []
        for key, direction in sort:
            field = self.mapping.by_source.get(key)
            if field is None:
                raise RepositoryError(f"{self.collection} has no field {key!r} to sort on")
            order.append(_sort_expression(self.mapping, field, direction))
        # Ties broken by id, in ObjectId order (lower-case hex sorts bytewise in the C collation).
        order.append(Collate(F("mongo_id"), "C").asc())
        return order

    def _find(self, filters: Filters, sort: Sort, skip: int, limit: int | None) -> list[dict[str, Any]]:
        queryset = self._queryset(filters).order_by(*self._ordering(sort)).values_list("mongo_id", flat=True)
        ids = list(queryset[skip : skip + limit] if limit else queryset[skip:])
        rows = self.sink.fetch(self.mapping, ids)
        return [rows_to_document(self.mapping, *rows[mongo_id]) for mongo_id in ids if mongo_id in rows]

    def _count(self, filters: Filters) -> int:
        return int(self._queryset(filters).count())

    # -- writes (postgres_only) ------------------------------------------------------------------
    def _insert(self, document: dict[str, Any]) -> dict[str, Any]:
        """A new life of the id: generation minted, version 1. Under the row lock, so it also
        replaces a tombstone of an earlier life; a live document of that id stands."""
        mongo_id = normalise_mongo_id(document["_id"])
        with self._unique_keys_kept(), transaction.atomic(using=self.sink.using):
            held = self.sink.lock(self.mapping, mongo_id)
            if held is not None and not held.deleted:
                found = self.sink.fetch(self.mapping, [mongo_id])[mongo_id]
                return rows_to_document(self.mapping, *found)
            stored = {**document, VERSION_FIELD: 1, GENERATION_FIELD: ObjectId()}
            self.sink.upsert(self.mapping, [document_to_rows(self.mapping, stored)], force=True)
            self._queue_for_mongodb(mongo_id)
        return canonical_document(self.mapping, stored)

    @contextmanager
    def _unique_keys_kept(self) -> Iterator[None]:
        """A unique constraint's refusal as `DuplicateKey` (entered outside the write's
        transaction, so that the transaction is rolled back first)."""
        try:
            yield
        except (IntegrityError, psycopg.IntegrityError) as exc:
            key = violated_key(self.mapping, exc)
            if key is None:
                raise
            raise DuplicateKey(self.collection, key.fields) from exc

    def _queue_for_mongodb(self, mongo_id: str) -> None:
        """In postgres_only with MongoDB still there: the write goes back to it (same transaction)."""
        if reverse_mirroring():
            queue_for_mongodb(self.sink, self.mapping, [mongo_id])

    def _locked_document(self, id: str) -> tuple[dict[str, Any], State] | None:
        """The live document and its state, its row locked until the transaction ends."""
        mongo_id = normalise_mongo_id(id)
        row = self.mapping.model._default_manager.select_for_update().filter(
            mongo_id=mongo_id, source_deleted=False
        )
        state = row.values_list("source_generation", "source_version").first()
        if state is None:
            return None
        found = self.sink.fetch(self.mapping, [mongo_id])[mongo_id]
        return rows_to_document(self.mapping, *found), State(state[0], int(state[1]))

    def _set(self, id: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        with self._unique_keys_kept(), transaction.atomic(using=self.sink.using):
            current = self._locked_document(id)
            if current is None:
                return None
            document, state = current
            stored = {**apply_set(document, fields), VERSION_FIELD: state.version + 1,
                      GENERATION_FIELD: state.generation}  # fmt: skip
            self.sink.upsert(self.mapping, [document_to_rows(self.mapping, stored)])
            self._queue_for_mongodb(normalise_mongo_id(id))
        return canonical_document(self.mapping, stored)

    def _remove(self, id: str) -> bool:
        with transaction.atomic(using=self.sink.using):
            current = self._locked_document(id)
            if current is None:
                return False
            state = current[1]
            self.sink.tombstone(
                self.mapping,
                {normalise_mongo_id(id): State(state.generation, state.version + 1, deleted=True)},
            )
            self._queue_for_mongodb(normalise_mongo_id(id))
        return True


def _sort_expression(mapping: CollectionMapping, field: Field, direction: int) -> Any:
    """Order like MongoDB: nulls first ascending (last descending), text compared bytewise."""
    expression: Any = F(_attname(mapping.model, field.column))
    if isinstance(field.type, Text | ObjectIdRef):
        expression = Collate(expression, "C")
    return expression.asc(nulls_first=True) if direction >= 0 else expression.desc(nulls_last=True)


class PostgresUserRepository(interfaces.AbstractUserRepository, PostgresRepository[domain_models.User]):
    """Users read from (and, in postgres_only, written to) Postgres."""


class PostgresTaskRepository(interfaces.AbstractTaskRepository, PostgresRepository[domain_models.Task]):
    """Task lists (task_list.py) in one SQL query each: the scope as a semi-join on its table, the
    status as conditions on the task and its deferral row, ORDER BY with OFFSET/LIMIT, COUNT."""

    def _list_find(self, query: task_lists.TaskListQuery, skip: int, limit: int) -> list[dict[str, Any]]:
        queryset = self._list_queryset(query).order_by(*self._list_ordering(query))
        ids = list(queryset.values_list("mongo_id", flat=True)[skip : skip + limit])
        rows = self.sink.fetch(self.mapping, ids)
        return [rows_to_document(self.mapping, *rows[mongo_id]) for mongo_id in ids if mongo_id in rows]

    def _list_count(self, query: task_lists.TaskListQuery) -> int:
        return int(self._list_queryset(query).count())

    def _list_queryset(self, query: task_lists.TaskListQuery) -> models.QuerySet[Any]:
        scope = POSTGRES_REPOSITORIES[query.scope.collection](self.sink)
        field = scope.mapping.by_source.get(query.scope.key)
        if field is None:
            raise RepositoryError(f"{query.scope.collection} has no field {query.scope.key!r}")
        scope_ids = scope._queryset(query.scope.filters).values(_attname(scope.mapping.model, field.column))
        return self._queryset({"isDeleted": False}).filter(Q(mongo_id__in=scope_ids) & self._status_q(query))

    def _status_q(self, query: task_lists.TaskListQuery) -> Q:
        status = query.status
        if status == task_lists.ALL:
            return Q()
        details = next(c for c in self.mapping.children if isinstance(c, EmbeddedTable))
        till = next(f for f in details.fields if f.source == task_lists.DEFERRED_TILL.split(".")[1])
        deferred_rows = details.model._default_manager.filter(
            **{f"{_attname(details.model, till.column)}__gt": query.at}
        )
        deferred = Q(mongo_id__in=deferred_rows.values(_attname(details.model, details.parent_column)))
        if status is None:
            return ~deferred & ~Q(status__in=[TaskStatus.DONE, TaskStatus.DEFERRED])
        if status == TaskStatus.DONE:
            return ~deferred & ~Q(status=TaskStatus.DEFERRED)
        if status == TaskStatus.DEFERRED:
            return deferred | Q(status=TaskStatus.DEFERRED)
        return ~deferred & Q(status=status)

    def _list_ordering(self, query: task_lists.TaskListQuery) -> list[Any]:
        columns = [
            F(_attname(self.mapping.model, self.mapping.by_source[key].column)) for key in query.sort_keys
        ]
        key: Any = columns[0] if len(columns) == 1 else Coalesce(*columns)
        mongo_id = Collate(F("mongo_id"), "C")
        if query.descending:
            return [key.desc(nulls_last=True), mongo_id.desc()]
        return [key.asc(nulls_last=True), mongo_id.asc()]


class PostgresTeamRepository(interfaces.AbstractTeamRepository, PostgresRepository[domain_models.Team]):
    pass


class PostgresUserTeamDetailsRepository(
    interfaces.AbstractUserTeamDetailsRepository, PostgresRepository[domain_models.UserTeamDetails]
):
    pass


class PostgresLabelRepository(interfaces.AbstractLabelRepository, PostgresRepository[domain_models.Label]):
    pass


class PostgresRoleRepository(interfaces.AbstractRoleRepository, PostgresRepository[domain_models.Role]):
    pass


class PostgresUserRoleRepository(
    interfaces.AbstractUserRoleRepository, PostgresRepository[domain_models.UserRole]
):
    pass


class PostgresTaskAssignmentRepository(
    interfaces.AbstractTaskAssignmentRepository, PostgresRepository[domain_models.TaskAssignment]
):
    pass


class PostgresWatchlistRepository(
    interfaces.AbstractWatchlistRepository, PostgresRepository[domain_models.Watchlist]
):
    pass


class PostgresAuditLogRepository(
    interfaces.AbstractAuditLogRepository, PostgresRepository[domain_models.AuditLog]
):
    pass


class PostgresTeamCreationInviteCodeRepository(
    interfaces.AbstractTeamCreationInviteCodeRepository,
    PostgresRepository[domain_models.TeamCreationInviteCode],
):
    def _set_where(self, id: str, expected: Filters, fields: dict[str, Any]) -> dict[str, Any] | None:
        """Checked and set under the row lock, in one transaction."""
        with transaction.atomic(using=self.sink.using):
            current = self._locked_document(id)
            if current is None:
                return None
            document = canonical_document(self.mapping, current[0])
            if any(str(document.get(key)) != str(value) for key, value in expected.items()):  # ids as text
                return None
            return self._set(id, fields)


POSTGRES_REPOSITORIES: dict[str, type[PostgresRepository[Any]]] = {
    cls.model.collection: cls
    for cls in (
        PostgresUserRepository,
        PostgresTaskRepository,
        PostgresTeamRepository,
        PostgresUserTeamDetailsRepository,
        PostgresLabelRepository,
        PostgresRoleRepository,
        PostgresUserRoleRepository,
        PostgresTaskAssignmentRepository,
        PostgresWatchlistRepository,
        PostgresAuditLogRepository,
        PostgresTeamCreationInviteCodeRepository,
    )
}
