"""Domain-unique keys and the duplicate rule.

MongoDB of the existing app enforces no uniqueness: one membership per user and team, one
watchlist entry per user and task, ... are application checks, so real data holds duplicates
(often the same pair once with string ids and once with ObjectIds). The mirror tables enforce
them among live rows (unique constraints scoped to `NOT source_deleted`), and the mapping
canonicalises both id forms to one, so such duplicates collide in Postgres.

The rule: among the documents of one collection sharing a domain-unique key (after
canonicalisation), the oldest (the smallest `_id`) is mirrored; the others are not mirrored and are
reported, never dropped silently: backfill counts them as duplicates, a live write records a
permanent rejection (`DuplicateKeyConflict`), and verify reports them `invalid` with the key's
fields. They stay in MongoDB untouched. When the holder's document is deleted later, the key is
free again and the next repair or backfill mirrors a remaining duplicate.

The keys come from the mirror model's unique constraints (every one whose columns are mapped
fields), not from application code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import models
from django.db import utils as django_db

from dualwrite.errors import DuplicateKeyConflict
from dualwrite.mapping import CollectionMapping
from dualwrite.transform import RowSet


@dataclass(frozen=True)
class UniqueKey:
    """One domain-unique key of a mirror table: its constraint, columns and document fields."""

    constraint: str
    columns: tuple[str, ...]
    fields: tuple[str, ...]  # the document keys of the columns, in the same order

    def value(self, rowset: RowSet) -> tuple[Any, ...] | None:
        """The document's key as stored (canonical); None when a part is null (nulls never
        collide in a unique constraint)."""
        values = tuple(rowset.row[c] for c in self.columns)
        return None if any(v is None for v in values) else values


def unique_keys(mapping: CollectionMapping) -> tuple[UniqueKey, ...]:
    """The unique constraints of the mapping's model over mapped columns."""
    by_column = {f.column: f.source for f in mapping.fields}
    keys = []
    for constraint in mapping.model._meta.constraints:
        if not isinstance(constraint, models.UniqueConstraint) or not constraint.fields:
            continue
        fields = [mapping.model._meta.get_field(name) for name in constraint.fields]
        # A constraint's fields are concrete columns (Django's checks refuse any other).
        columns = tuple(f.column for f in fields if isinstance(f, models.Field) and f.column is not None)
        if len(columns) == len(fields) and all(c in by_column for c in columns):
            keys.append(UniqueKey(constraint.name, columns, tuple(by_column[c] for c in columns)))
    return tuple(keys)


def violated_key(mapping: CollectionMapping, exc: BaseException) -> UniqueKey | None:
    """The domain-unique key a Postgres error violated, or None for any other error."""
    cause = exc.__cause__ if isinstance(exc, django_db.Error) and exc.__cause__ else exc
    if not isinstance(cause, psycopg.errors.UniqueViolation):
        return None
    name = cause.diag.constraint_name
    return next((key for key in unique_keys(mapping) if key.constraint == name), None)


def holder_sql(mapping: CollectionMapping, key: UniqueKey) -> str:
    """A query of the live row holding a key (parameters: the key's values, then the id to skip)."""
    table = '"' + mapping.table.replace('"', '""') + '"'
    where = " AND ".join(f'"{c}" = %s' for c in key.columns)
    return f"SELECT mongo_id FROM {table} WHERE NOT source_deleted AND {where} AND mongo_id <> %s LIMIT 1"


def find_holder(cursor: Any, mapping: CollectionMapping, key: UniqueKey, rowset: RowSet) -> str | None:
    """The mongo_id of another live row holding the document's key (None: the key is free)."""
    values = key.value(rowset)
    if values is None:
        return None
    cursor.execute(holder_sql(mapping, key), [*values, rowset.mongo_id])
    found = cursor.fetchone()
    return None if found is None else str(found[0])


def conflict(
    cursor: Any, mapping: CollectionMapping, rowset: RowSet, keys: Sequence[UniqueKey]
) -> DuplicateKeyConflict | None:
    """The conflict of a document whose key another live row holds (the first such key)."""
    for key in keys:
        holder = find_holder(cursor, mapping, key, rowset)
        if holder is not None:
            return DuplicateKeyConflict(mapping.collection, rowset.mongo_id, key.fields, holder)
    return None
