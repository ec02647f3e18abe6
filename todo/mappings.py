"""The todo app's collection → table mapping: one declaration per MongoDB collection.

A collection's fields are declared once, in its domain model (todo/models/documents.py): every
field of the model becomes a column of its mirror table, named as the field (snake_case), read from
the document key the model reads (its alias: camelCase in tasks, labels and watchlists), with the
model's default (a missing or null key takes it; docs/domain.md). The value type follows the
annotation (str → Text, bool → Bool, int → Int, datetime → Timestamp, Id → ObjectIdRef); this
module adds only what the annotation cannot say: enums, actors ("system" allowed), the arrays and
nested objects that become child tables, and the keys kept in `extra` on purpose.

Forgetting something is loud, not silent: a model field without a column fails when the registry is
built (MappingDeclarationError), and a column no field fills, a mapped key the model lacks, or a
model field that is neither mapped nor declared `in_extra` fails the system check `todo.E001`
(todo/checks.py; `manage.py check`, every command's start-up, and tests/test_mapping_checks.py).

Adding a task field: the domain model, the mirror model and its migration (docs/adding-a-field.md).
Adding a collection: docs/adding-a-collection.md. Each mapping reads and writes the MongoDB
collection `mongo_collection` (the existing app's names by default, `MONGODB_COLLECTION_NAMES` to
override); the dual-write API and the mirror tables keep the dual-write names.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from collections.abc import Iterable, Mapping
from functools import cache

from django.conf import settings
from django.db import models
from pydantic import BaseModel

from dualwrite.errors import MappingDeclarationError
from dualwrite.mapping import ArrayTable, Child, CollectionMapping, EmbeddedTable, Field, MappingRegistry
from dualwrite.types import Bool, Enum, Int, ObjectIdRef, Text, Timestamp, ValueType
from todo.models import documents as domain_models
from todo.models import postgres as postgres_models
from todo.models.enums import AssigneeType, AuditAction, RoleName, RoleScope, TaskPriority, TaskStatus

REF = ObjectIdRef()
# Creators and updaters: a user id, or "system" for seeded documents.
ACTOR = ObjectIdRef(literals=("system",))
ACTOR_COLUMNS = frozenset({"created_by", "updated_by", "performed_by"})
TEXT = Text()
TIME = Timestamp()
BOOL = Bool()
# The value type of a plain annotation (after `| None`).
ANNOTATION_TYPES: dict[object, ValueType] = {
    str: TEXT,
    bool: BOOL,
    int: Int(),
    dt.datetime: TIME,
    domain_models.Id: REF,
}


def _value_type(model: type[BaseModel], name: str) -> ValueType:
    annotation = model.model_fields[name].annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        present = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        annotation = present[0] if len(present) == 1 else annotation
    found = ANNOTATION_TYPES.get(annotation)
    if found is None:
        raise MappingDeclarationError(
            f"{model.__name__}.{name}: no value type for {annotation!r}; give one in todo/mappings.py"
        )
    return found


def source_of(model: type[BaseModel], name: str) -> str:
    """The document key a domain-model field reads (its alias, else its name)."""
    return model.model_fields[name].alias or name


def derived_fields(
    model: type[BaseModel], *, types: Mapping[str, ValueType] | None = None, skip: Iterable[str] = ()
) -> tuple[Field, ...]:
    """One Field per field of `model` (but `id` and the document keys in `skip`): column = field
    name, source = its alias, type = `types[column]` or the annotation's, default = the model's."""
    given = dict(types or {})
    skipped = set(skip)
    fields = []
    for name, info in model.model_fields.items():
        source = source_of(model, name)
        if name == "id" or source in skipped:
            continue
        if name in given:
            value_type = given.pop(name)
        elif name in ACTOR_COLUMNS:
            value_type = ACTOR
        else:
            value_type = _value_type(model, name)
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        fields.append(Field(source, name, value_type, default))
    if given:
        raise MappingDeclarationError(f"{model.__name__} has no field {', '.join(sorted(given))}")
    return tuple(fields)


def collection(
    model: type[domain_models.DomainModel],
    table: type[models.Model],
    *,
    types: Mapping[str, ValueType] | None = None,
    children: tuple[Child, ...] = (),
    in_extra: tuple[str, ...] = (),
) -> CollectionMapping:
    """The mapping of `model`'s collection to `table`, its fields derived from the model."""
    skip = {child.source for child in children} | set(in_extra)
    try:
        return CollectionMapping(
            model.collection,
            table,
            derived_fields(model, types=types, skip=skip),
            children=children,
            in_extra=in_extra,
        )
    except MappingDeclarationError as error:
        raise MappingDeclarationError(
            f"{error} (derived from the domain model {model.__name__}: each of its fields needs a"
            f" column of {table.__name__}; see docs/adding-a-field.md)"
        ) from error


def _enum(*values: object) -> Enum:
    return Enum(values=tuple(values))


def _mappings() -> list[CollectionMapping]:
    task_status = _enum(*TaskStatus.values)
    roles = {"scope": _enum(*RoleScope.values)}
    return [
        # The session version of tokens ("ver", todo/auth) lives in `extra`: no column.
        collection(domain_models.User, postgres_models.PostgresUser, in_extra=("token_version",)),
        collection(
            domain_models.Task,
            postgres_models.PostgresTask,
            types={"priority": _enum(*TaskPriority.values), "status": task_status},
            children=(
                ArrayTable(
                    "labels", postgres_models.PostgresTaskLabel, "task_mongo_id", "label_mongo_id", REF
                ),
                EmbeddedTable(
                    "deferredDetails",
                    postgres_models.PostgresDeferredDetails,
                    "task_mongo_id",
                    derived_fields(domain_models.DeferredDetails),
                ),
            ),
        ),
        collection(domain_models.Team, postgres_models.PostgresTeam),
        collection(domain_models.UserTeamDetails, postgres_models.PostgresUserTeamDetails),
        collection(domain_models.Label, postgres_models.PostgresLabel),
        collection(
            domain_models.Role, postgres_models.PostgresRole, types={"name": _enum(*RoleName.values), **roles}
        ),
        collection(
            domain_models.UserRole,
            postgres_models.PostgresUserRole,
            types={"role_name": _enum(*RoleName.values), **roles},
        ),
        collection(
            domain_models.TaskAssignment,
            postgres_models.PostgresTaskAssignment,
            types={"user_type": _enum(*AssigneeType.values)},
        ),
        collection(domain_models.Watchlist, postgres_models.PostgresWatchlist),
        collection(
            domain_models.AuditLog,
            postgres_models.PostgresAuditLog,
            types={
                "action": _enum(*AuditAction.values),
                "status_from": task_status,
                "status_to": task_status,
            },
        ),
        collection(domain_models.TeamCreationInviteCode, postgres_models.PostgresTeamCreationInviteCode),
    ]


# The MongoDB collections of the existing app, where they differ from the dual-write names.
LEGACY_COLLECTION_NAMES = {"task_assignments": "task_details", "watchlists": "watchlist"}


def mongo_collection_names() -> dict[str, str]:
    """Dual-write name → MongoDB collection, for the names that differ (MONGODB_COLLECTION_NAMES
    over the existing app's defaults)."""
    return {**LEGACY_COLLECTION_NAMES, **settings.MONGODB_COLLECTION_NAMES}


@cache
def get_registry() -> MappingRegistry:
    """All mappings, validated against the models on first use."""
    names = mongo_collection_names()
    return MappingRegistry(
        dataclasses.replace(m, mongo_collection=names.get(m.collection, m.collection)) for m in _mappings()
    )
