"""Declarative collection → table mapping, validated once against the Django models.

A collection is declared once as data: its table (a Django model), its fields with their value
types, nested objects that become a child-table row, and arrays that become junction rows. The
same declaration drives document → rows (dual-write, backfill), rows → document (Postgres
repositories, shadow reads) and the canonical comparison (verify). There is no per-collection code.

Nothing is dropped silently, and nothing is left out silently: a declared column the model lacks
fails when the mapping is built, and `declaration_problems` names the other direction, a column of
the model (or of a child table) that no field fills and that `unmapped_columns` does not name. A
document key the mapping does not declare is kept in the `extra` column; the keys an application
puts there on purpose are named in `in_extra`, so that a checker (the todo app's system check) can
tell them from a forgotten field.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from dualwrite.errors import MappingDeclarationError, UnknownCollectionError
from dualwrite.types import ValueType

# Document keys the engine keeps on every document it writes (never declared in a mapping, never
# stored in `extra`, never compared by verify):
# - the version, bumped atomically by every MongoDB write of the document;
VERSION_FIELD = "_v"
# - the generation: an ObjectId minted when this life of the id began (insert, or the upsert of an
#   absent id). Versions are only comparable within one generation (see `dualwrite.ordering`);
GENERATION_FIELD = "_gen"
# - the pending mark: an ObjectId unique to the latest write (its time inside), set in the same
#   MongoDB operation and cleared
#   once Postgres holds it. A process that dies between the two writes leaves the mark behind, and
#   the worker's sweep finds it (see `dualwrite.sweep`).
PENDING_MARK_FIELD = "_dw"
ENGINE_FIELDS = frozenset({"_id", VERSION_FIELD, GENERATION_FIELD, PENDING_MARK_FIELD})
# Columns every mirror table carries besides its mapped fields.
MIRROR_COLUMNS = (
    "id",
    "mongo_id",
    "source_version",
    "source_generation",
    "source_deleted",
    "sync_status",
    "sync_error",
    "last_sync_at",
    "extra",
)


@dataclass(frozen=True)
class Field:
    """One document key stored in one column.

    `default` is the value a missing (or null) key takes, as the domain defines it; when it is
    None the column is nullable.
    """

    source: str
    column: str
    type: ValueType
    default: Any = None


@dataclass(frozen=True)
class EmbeddedTable:
    """A nested object stored as at most one row of a child table (null → no row)."""

    source: str
    model: type[models.Model]
    parent_column: str
    fields: tuple[Field, ...]

    @property
    def table(self) -> str:
        return str(self.model._meta.db_table)


@dataclass(frozen=True)
class ArrayTable:
    """An array stored as one junction row per distinct item, its order kept in `position_column`.

    Duplicate items are stored once (the junction pair is unique): the canonical form of the array
    keeps the first occurrence of each item.
    """

    source: str
    model: type[models.Model]
    parent_column: str
    item_column: str
    item_type: ValueType
    position_column: str = "position"

    @property
    def table(self) -> str:
        return str(self.model._meta.db_table)


Child = EmbeddedTable | ArrayTable


@dataclass(frozen=True)
class CollectionMapping:
    """How one MongoDB collection maps to its mirror table and child tables."""

    collection: str  # the dual-write name (the API's, docs/DUAL_WRITE_SYSTEM.md's)
    model: type[models.Model]
    fields: tuple[Field, ...]
    children: tuple[Child, ...] = ()
    extra_column: str = "extra"
    # The MongoDB collection that holds the documents (default: `collection`); e.g. the existing
    # app keeps task assignments in "task_details".
    mongo_collection: str = ""
    # Document keys the application knows and keeps in `extra_column` on purpose (no column).
    in_extra: tuple[str, ...] = ()
    # Columns of `model` that no field fills on purpose (besides MIRROR_COLUMNS); they keep their
    # database default.
    unmapped_columns: tuple[str, ...] = ()
    by_source: dict[str, Field] = field(init=False, repr=False, compare=False)
    _sources: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.mongo_collection:
            object.__setattr__(self, "mongo_collection", self.collection)
        object.__setattr__(self, "by_source", {f.source: f for f in self.fields})
        # Computed once: the transform asks for every key of every document (hot in backfill).
        object.__setattr__(
            self, "_sources", frozenset(self.by_source) | {child.source for child in self.children}
        )
        self._validate()

    @property
    def table(self) -> str:
        return str(self.model._meta.db_table)

    @property
    def sources(self) -> frozenset[str]:
        """Document keys the mapping stores in columns or child tables."""
        return self._sources

    def _validate(self) -> None:
        problems: list[str] = []
        seen: set[str] = set()
        for source in [f.source for f in self.fields] + [c.source for c in self.children]:
            if source in seen:
                problems.append(f"document key {source!r} declared twice")
            seen.add(source)
        if ENGINE_FIELDS & seen:
            problems.append(f"{', '.join(sorted(ENGINE_FIELDS))} are handled by the engine, not declared")
        for source in sorted(seen & set(self.in_extra)):
            problems.append(f"document key {source!r} is declared as a column and as kept in extra")
        problems += _missing_columns(self.model, [f.column for f in self.fields] + list(MIRROR_COLUMNS))
        for child in self.children:
            if isinstance(child, EmbeddedTable):
                wanted = [child.parent_column] + [f.column for f in child.fields]
            else:
                wanted = [child.parent_column, child.item_column, child.position_column]
            problems += _missing_columns(child.model, wanted)
        if problems:
            raise MappingDeclarationError(f"mapping of {self.collection!r}: " + "; ".join(problems))


def _columns(model: type[models.Model]) -> list[str]:
    return [str(f.column) for f in model._meta.concrete_fields]


def _unfilled(model: type[models.Model], filled: set[str]) -> list[str]:
    """The model's columns other than its primary key that are not in `filled`."""
    pk = model._meta.pk
    return [c for c in _columns(model) if c not in filled and (pk is None or c != pk.column)]


def declaration_problems(mapping: CollectionMapping) -> list[str]:
    """The columns of the mapping's tables that nothing fills: not a declared field, not one of
    MIRROR_COLUMNS, not named in `unmapped_columns` (for a child table: not its key, parent, item,
    position or declared field). Empty when every column is accounted for."""
    problems: list[str] = []
    known = {f.column for f in mapping.fields} | set(MIRROR_COLUMNS) | set(mapping.unmapped_columns)
    problems += [
        f"{mapping.table} column {column!r} is neither mapped nor listed in unmapped_columns"
        for column in _unfilled(mapping.model, known)
    ]
    problems += [
        f"{mapping.table} has no column {column!r} (listed in unmapped_columns)"
        for column in mapping.unmapped_columns
        if column not in _columns(mapping.model)
    ]
    for child in mapping.children:
        if isinstance(child, EmbeddedTable):
            wanted = {child.parent_column} | {f.column for f in child.fields}
        else:
            wanted = {child.parent_column, child.item_column, child.position_column}
        problems += [
            f"{child.table} column {column!r} is not mapped by {mapping.collection}.{child.source}"
            for column in _unfilled(child.model, wanted)
        ]
    return problems


def _missing_columns(model: type[models.Model], columns: Iterable[str]) -> list[str]:
    have = {f.column for f in model._meta.concrete_fields}
    table = model._meta.db_table
    return [f"{table} has no column {column!r}" for column in columns if column not in have]


class MappingRegistry:
    """All collection mappings, looked up by collection name."""

    def __init__(self, mappings: Iterable[CollectionMapping]) -> None:
        self._mappings: dict[str, CollectionMapping] = {}
        self._physical: dict[str, str] = {}
        for mapping in mappings:
            if mapping.collection in self._mappings:
                raise MappingDeclarationError(f"collection {mapping.collection!r} mapped twice")
            if mapping.mongo_collection in self._physical.values():
                raise MappingDeclarationError(f"MongoDB collection {mapping.mongo_collection!r} mapped twice")
            self._mappings[mapping.collection] = mapping
            self._physical[mapping.collection] = mapping.mongo_collection

    def get(self, collection: str) -> CollectionMapping:
        try:
            return self._mappings[collection]
        except KeyError:
            raise UnknownCollectionError(collection, list(self._mappings)) from None

    def __iter__(self) -> Iterator[CollectionMapping]:
        return iter(self._mappings.values())

    def mongo_collection_of(self, name: str) -> str:
        """The MongoDB collection holding a mapped collection's documents (other names as given)."""
        return self._physical.get(name, name)

    def __contains__(self, collection: object) -> bool:
        return collection in self._mappings

    @property
    def collections(self) -> list[str]:
        return list(self._mappings)
