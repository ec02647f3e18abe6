"""The Postgres sink: version-guarded upserts, tombstones and reads of mirror rows.

A write of a batch of documents of one collection is one round trip: two statements sent as one
pipeline (one Sync), which PostgreSQL runs as one implicit transaction.
1. Upsert the main rows: a row is only replaced by a provably newer state (`dualwrite.ordering`:
   same generation, not a tombstone, version no higher). The conflicting rows stay locked until
   the end of the transaction.
2. Rewrite the child rows of the rows that now hold the written version. This statement takes its
   snapshot after statement 1 holds the row locks, so it sees the child rows of any concurrent
   writer of the same document that committed before: a late writer never leaves stale child rows
   behind (a single statement with both steps would not see them).
Columns travel as arrays (`unnest`), so a statement has a few dozen parameters however many rows.

Every write statement is parameterised and prepared on the server (psycopg's `prepare=True`): its
SQL text is built once per mapping and shape (`functools.cache`), and PostgreSQL plans it once
per connection instead of parsing and planning values inlined into the text on every call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import psycopg
from django.db import connections
from psycopg.types.json import Jsonb

from dualwrite.mapping import Child, CollectionMapping
from dualwrite.mirror_sql import child_columns, guarded_upsert, quote, replace_children
from dualwrite.ordering import State
from dualwrite.transform import RowSet, latest_per_document

SYNCED = "SYNCED"
# sync_status of the placeholder row that locks an absent document during a reconcile.
PLACEHOLDER = "PENDING"
# Rows per statement: columns travel as arrays, so this bounds statement memory, not parameters.
CHUNK_ROWS = 5000


@cache
def _db_types(model: Any, columns: tuple[str, ...]) -> dict[str, str]:
    """PostgreSQL type of each column (computed once per model and column list)."""
    by_column = {f.column: f for f in model._meta.concrete_fields}
    out = {}
    for column in columns:
        field = by_column[column]
        target = field.target_field if field.is_relation else field
        out[column] = target.db_type(connections["default"])
    return out


@dataclass
class _Statement:
    sql: str
    params: Sequence[Any]


# -- SQL text, built once per mapping and shape ---------------------------------------------------
@cache
def _upsert_sql(mapping: CollectionMapping, force: bool) -> str:
    """Statement 1 of an upsert: the main rows from column arrays, through the guard unless forced.
    Parameters: the sync status, then one array per column (id, generation, version, the mapped
    columns in declaration order, extra)."""
    data_columns = tuple(f.column for f in mapping.fields)
    types = _db_types(mapping.model, data_columns)
    array_types = ["varchar(24)", "varchar(24)", "bigint", *(types[c] for c in data_columns), "jsonb"]
    unnest = ", ".join(f"%b::{t}[]" for t in array_types)
    names = ", ".join(f"c{i}" for i in range(len(array_types)))
    data = ", ".join(f"u.c{i}" for i in range(3, len(array_types)))
    rows = f"SELECT u.c0, u.c1, u.c2, false, %s, NULL, {data}, now() FROM unnest({unnest}) AS u({names})"
    return guarded_upsert(mapping, rows, force=force)


@cache
def _children_sql(mapping: CollectionMapping, with_rows: tuple[bool, ...]) -> str:
    """Statement 2 of an upsert: rewrite the child rows of the rows that hold the written state
    now (locked by statement 1); return their ids. Parameters: id, generation and version arrays,
    then the column arrays of each child table that has rows (`with_rows`, per child)."""
    table = quote(mapping.table)
    sql = [
        f"WITH up AS (SELECT t.mongo_id FROM {table} t"
        " JOIN unnest(%b::varchar(24)[], %b::varchar(24)[], %b::bigint[]) AS w(mongo_id, generation, version)"
        " ON t.mongo_id = w.mongo_id AND t.source_version = w.version"
        " AND t.source_generation IS NOT DISTINCT FROM w.generation WHERE NOT t.source_deleted)"
    ]
    for index, (child, has_rows) in enumerate(zip(mapping.children, with_rows, strict=True)):
        sql.append(_child_sql(index, child, has_rows))
    sql.append(" SELECT mongo_id FROM up")
    return "".join(sql)


def _child_sql(index: int, child: Child, has_rows: bool) -> str:
    """CTEs replacing the child rows of the applied parents with the rows of the arrays."""
    table, parent = quote(child.table), quote(child.parent_column)
    if not has_rows:
        return f", del{index} AS (DELETE FROM {table} WHERE {parent} IN (SELECT mongo_id FROM up))"
    columns = child_columns(child)
    types = _db_types(child.model, tuple(columns))
    unnest = ", ".join(f"%b::{types[c]}[]" for c in columns)
    new_rows = f", new{index} AS (SELECT * FROM unnest({unnest}) AS v({', '.join(map(quote, columns))}))"
    return new_rows + replace_children(index, child, f"new{index}", "SELECT mongo_id FROM up")


@cache
def _placeholder_sql(mapping: CollectionMapping) -> str:
    """Typed placeholders of the mapped columns of a row that holds no document."""
    types = _db_types(mapping.model, tuple(f.column for f in mapping.fields))
    return "".join(f", %s::{types[f.column]}" for f in mapping.fields)


@cache
def _tombstone_sql(mapping: CollectionMapping) -> str:
    """Tombstones from id, generation and version arrays (parameters: the sync status, the
    placeholder defaults, then the three arrays)."""
    table = quote(mapping.table)
    columns = ["mongo_id", "source_generation", "source_version", "source_deleted", "sync_status",
               "sync_error", *(f.column for f in mapping.fields)]  # fmt: skip
    resets = [f"{quote(f.column)} = EXCLUDED.{quote(f.column)}" for f in mapping.fields]
    strip = ", ".join([*resets, f"{quote(mapping.extra_column)} = NULL"])
    return (
        f"INSERT INTO {table} ({', '.join(map(quote, columns))}, last_sync_at)"
        f" SELECT u.mongo_id, u.generation, u.version, true, %s, NULL{_placeholder_sql(mapping)}, now()"
        " FROM unnest(%s::varchar(24)[], %s::varchar(24)[], %s::bigint[]) AS u(mongo_id, generation, version)"
        " ON CONFLICT (mongo_id) DO UPDATE SET source_deleted = true,"
        " source_version = EXCLUDED.source_version,"
        f" sync_status = EXCLUDED.sync_status, sync_error = NULL, last_sync_at = now(), {strip}"
        f" WHERE {table}.source_generation IS NOT DISTINCT FROM EXCLUDED.source_generation"
        f" AND {table}.source_version <= EXCLUDED.source_version"
    )


@cache
def _drop_children_sql(mapping: CollectionMapping) -> str:
    """A statement dropping the child rows of the tombstones among `ANY(%s)`, returning their ids."""
    table = quote(mapping.table)
    sql = [f"WITH gone AS (SELECT mongo_id FROM {table} WHERE mongo_id = ANY(%s) AND source_deleted)"]
    for index, child in enumerate(mapping.children):
        sql.append(
            f", del{index} AS (DELETE FROM {quote(child.table)} WHERE {quote(child.parent_column)}"
            " IN (SELECT mongo_id FROM gone))"
        )
    sql.append(" SELECT mongo_id FROM gone")
    return "".join(sql)


@cache
def _bury_sql(mapping: CollectionMapping) -> str:
    """Tombstone one row whatever life it holds (parameters: status, defaults, the id)."""
    types = _db_types(mapping.model, tuple(f.column for f in mapping.fields))
    reset = "".join(f", {quote(f.column)} = %s::{types[f.column]}" for f in mapping.fields)
    return (
        f"UPDATE {quote(mapping.table)} SET source_deleted = true, sync_status = %s, sync_error = NULL,"
        f" last_sync_at = now(){reset}, {quote(mapping.extra_column)} = NULL WHERE mongo_id = %s"
    )


class PostgresSink:
    """Writes RowSets of mapped collections to their tables, and reads them back."""

    def __init__(
        self,
        using: str = "default",
        *,
        lock_timeout_ms: int | None = None,
        statement_timeout_ms: int | None = None,
    ) -> None:
        """`lock_timeout_ms` / `statement_timeout_ms` bound each write message (the dual-write
        engine's in-request writes); None leaves the server's settings (backfill, repair)."""
        self.using = using
        limits = []
        if lock_timeout_ms is not None:
            limits.append(f"set_config('lock_timeout', '{int(lock_timeout_ms)}ms', true)")
        if statement_timeout_ms is not None:
            limits.append(f"set_config('statement_timeout', '{int(statement_timeout_ms)}ms', true)")
        # Local settings last until the end of the message's (implicit) transaction only.
        self._limits = f"SELECT {', '.join(limits)}" if limits else ""

    @property
    def connection(self) -> Any:
        return connections[self.using]

    # -- writes --------------------------------------------------------------------------------
    def upsert(
        self, mapping: CollectionMapping, rowsets: Sequence[RowSet], *, force: bool = False
    ) -> set[str]:
        """Write the rows; return the mongo_ids whose rows now hold the given state.

        Unforced, a row is only replaced when the write is provably newer (`dualwrite.ordering`):
        the others are left alone and their ids not returned. `force` replaces the row whatever it
        holds (the reconcile path, under the row lock, with MongoDB's current document). When a
        batch holds one id twice, its highest version is written.
        """
        applied: set[str] = set()
        for chunk in self._chunks(latest_per_document(rowsets)):
            applied |= self._run(self._upsert_statements(mapping, chunk, force))
        return applied

    def tombstone(self, mapping: CollectionMapping, ends: dict[str, State]) -> set[str]:
        """Mark documents deleted and drop their child rows; return the ids now tombstoned.

        A tombstone keeps only what ordering needs (id, generation, version, deletion time in
        `last_sync_at`, sync status): its mapped columns hold the placeholder defaults and `extra`
        is NULL, so no content of the deleted document outlives the delete.

        `ends[mongo_id]` is the state the delete ended (the deleted document's generation and
        a version one above its last). A row of that generation with a version no higher is
        tombstoned (an absent row gets a tombstone); a row of another life is left alone.
        """
        if not ends:
            return set()
        ids = list(ends)
        params = [SYNCED, *(f.default for f in mapping.fields), ids,
                  [e.generation for e in ends.values()], [e.version for e in ends.values()]]  # fmt: skip
        return self._run(
            [_Statement(_tombstone_sql(mapping), params), _Statement(_drop_children_sql(mapping), [ids])]
        )

    def lock(self, mapping: CollectionMapping, mongo_id: str) -> State | None:
        """Inside a transaction: lock the document's row until the transaction ends and return the
        state it holds (None: no row). An absent row is locked through a placeholder tombstone,
        so that no other writer can insert it meanwhile; `settle` removes or replaces it."""
        table = quote(mapping.table)
        columns = [
            "mongo_id",
            "source_version",
            "source_deleted",
            "sync_status",
            *(f.column for f in mapping.fields),
        ]
        with self.connection.cursor() as cursor:
            if self._limits:
                cursor.execute(self._limits)
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(map(quote, columns))})"
                f" SELECT %s, 0, true, %s{_placeholder_sql(mapping)} ON CONFLICT (mongo_id) DO NOTHING"
                " RETURNING mongo_id",
                [mongo_id, PLACEHOLDER, *(f.default for f in mapping.fields)],
            )
            inserted = cursor.fetchone() is not None
            cursor.execute(
                f"SELECT source_generation, source_version, source_deleted FROM {table}"
                " WHERE mongo_id = %s FOR UPDATE",
                [mongo_id],
            )
            generation, version, deleted = cursor.fetchone()
        return None if inserted else State(generation, int(version), bool(deleted))

    def bury(self, mapping: CollectionMapping, mongo_id: str, held: State | None) -> None:
        """Inside `lock`'s transaction, when MongoDB has no such document: drop the placeholder of
        an absent row, or tombstone the row whatever life it holds."""
        if held is None:
            statements = [
                _Statement(
                    f"DELETE FROM {quote(mapping.table)} WHERE mongo_id = %s RETURNING mongo_id", [mongo_id]
                )
            ]
        else:
            statements = [
                _Statement(_bury_sql(mapping), [SYNCED, *(f.default for f in mapping.fields), mongo_id]),
                _Statement(_drop_children_sql(mapping), [[mongo_id]]),
            ]
        self._run(statements)

    def states(self, mapping: CollectionMapping, mongo_ids: Sequence[str]) -> dict[str, State]:
        """The state each existing row holds (ids without a row are left out)."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"SELECT mongo_id, source_generation, source_version, source_deleted FROM {quote(mapping.table)}"
                " WHERE mongo_id = ANY(%s)",
                [list(mongo_ids)],
            )
            return {row[0]: State(row[1], int(row[2]), bool(row[3])) for row in cursor.fetchall()}

    def set_status(self, mapping: CollectionMapping, mongo_id: str, status: str, error: str | None) -> None:
        """Record the sync status of an existing row (a missing row is left missing)."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(mapping.table)} SET sync_status = %s, sync_error = %s WHERE mongo_id = %s",
                [status, error, mongo_id],
            )

    # -- reads ---------------------------------------------------------------------------------
    def fetch(
        self, mapping: CollectionMapping, mongo_ids: Sequence[str] | None = None
    ) -> dict[str, tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]]:
        """Main row and child rows per mongo_id (all rows when `mongo_ids` is None)."""
        where, params = ("", []) if mongo_ids is None else (" WHERE mongo_id = ANY(%s)", [list(mongo_ids)])
        result: dict[str, tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]] = {}
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {quote(mapping.table)}{where}", params)
            names = [d[0] for d in cursor.description]
            for values in cursor.fetchall():
                row = dict(zip(names, values, strict=True))
                result[row["mongo_id"]] = (row, {child.table: [] for child in mapping.children})
            for child in mapping.children:
                parent = quote(child.parent_column)
                cursor.execute(f"SELECT * FROM {quote(child.table)} WHERE {parent} = ANY(%s)", [list(result)])
                names = [d[0] for d in cursor.description]
                for values in cursor.fetchall():
                    row = dict(zip(names, values, strict=True))
                    result[row[child.parent_column]][1][child.table].append(row)
        return result

    # -- internals -----------------------------------------------------------------------------
    def _run(self, statements: Sequence[_Statement]) -> set[str]:
        """Send the statements as one pipeline (one round trip, one implicit transaction unless
        a transaction is open) as prepared statements; return the ids of the last one's result."""
        self.connection.ensure_connection()
        raw = self.connection.connection
        with raw.pipeline(), psycopg.Cursor(raw) as cursor:
            if self._limits:
                cursor.execute(self._limits, prepare=True)
            for statement in statements:
                cursor.execute(statement.sql, statement.params, prepare=True)
            return {row[0] for row in cursor.fetchall()}

    def _chunks(self, rowsets: list[RowSet]) -> Iterable[list[RowSet]]:
        for start in range(0, len(rowsets), CHUNK_ROWS):
            yield rowsets[start : start + CHUNK_ROWS]

    @staticmethod
    def _upsert_statements(
        mapping: CollectionMapping, rowsets: list[RowSet], force: bool
    ) -> list[_Statement]:
        ids, versions = [rs.mongo_id for rs in rowsets], [rs.version for rs in rowsets]
        generations = [rs.generation for rs in rowsets]
        extra = mapping.extra_column
        main: list[Any] = [
            SYNCED,
            ids,
            generations,
            versions,
            *([rs.row[f.column] for rs in rowsets] for f in mapping.fields),
            [None if rs.row[extra] is None else Jsonb(rs.row[extra]) for rs in rowsets],
        ]
        children: list[Any] = [ids, generations, versions]
        with_rows = []
        for child in mapping.children:
            rows = [row for rs in rowsets for row in rs.children.get(child.table, [])]
            with_rows.append(bool(rows))
            if rows:
                children += [[row[c] for row in rows] for c in child_columns(child)]
        return [
            _Statement(_upsert_sql(mapping, force), main),
            _Statement(_children_sql(mapping, tuple(with_rows)), children),
        ]
