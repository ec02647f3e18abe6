"""The Postgres sink: version-guarded upserts, tombstones and reads of mirror rows.

A write of a batch of documents of one collection is one round trip: two statements sent as one
simple query, which PostgreSQL runs as one implicit transaction.
1. Upsert the main rows: a row is only replaced by an equal or higher source version, never when
   it is a tombstone. The conflicting rows stay locked until the end of the transaction.
2. Rewrite the child rows of the rows that now hold the written version. This statement takes its
   snapshot after statement 1 holds the row locks, so it sees the child rows of any concurrent
   writer of the same document that committed before: a late writer never leaves stale child rows
   behind (a single statement with both steps would not see them).
Columns travel as arrays (`unnest`), so a statement has a few dozen parameters however many rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections
from psycopg.types.json import Jsonb

from dualwrite.mapping import ArrayTable, Child, CollectionMapping
from dualwrite.transform import RowSet

SYNCED = "SYNCED"
# Rows per statement: columns travel as arrays, so this bounds statement memory, not parameters.
CHUNK_ROWS = 5000


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _db_types(model: Any, columns: Iterable[str], connection: Any) -> dict[str, str]:
    by_column = {f.column: f for f in model._meta.concrete_fields}
    out = {}
    for column in columns:
        field = by_column[column]
        target = field.target_field if field.is_relation else field
        out[column] = target.db_type(connection)
    return out


def _child_key(child: Child) -> list[str]:
    """Columns identifying one child row within its table."""
    if isinstance(child, ArrayTable):
        return [child.parent_column, child.item_column]
    return [child.parent_column]


def _child_on_conflict(child: Child) -> str:
    """What an upsert of a child row does when its key exists: update the other columns."""
    key = _child_key(child)
    non_key = [c for c in _child_columns(child) if c not in key]
    if not non_key:
        return "DO NOTHING"
    return "DO UPDATE SET " + ", ".join(f"{_q(c)} = EXCLUDED.{_q(c)}" for c in non_key)


def _child_columns(child: Child) -> list[str]:
    if isinstance(child, ArrayTable):
        return [child.parent_column, child.item_column, child.position_column]
    return [child.parent_column, *(f.column for f in child.fields)]


@dataclass
class _Statement:
    sql: str
    params: list[Any]


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
        self._limits = f"SELECT {', '.join(limits)}; " if limits else ""

    @property
    def connection(self) -> Any:
        return connections[self.using]

    # -- writes --------------------------------------------------------------------------------
    def upsert(self, mapping: CollectionMapping, rowsets: Sequence[RowSet]) -> set[str]:
        """Write the rows; return the mongo_ids whose rows now hold the given version.

        Rows with a higher version, or a tombstone, are left alone (their ids are not returned).
        When a batch holds one id twice, its highest version is written.
        """
        latest: dict[str, RowSet] = {}
        for rowset in rowsets:
            held = latest.get(rowset.mongo_id)
            if held is None or rowset.version >= held.version:
                latest[rowset.mongo_id] = rowset
        applied: set[str] = set()
        for chunk in self._chunks(list(latest.values())):
            applied |= self._run(self._upsert_statements(mapping, chunk))
        return applied

    def tombstone(self, mapping: CollectionMapping, versions: dict[str, int]) -> set[str]:
        """Mark documents deleted (keeping the highest version seen) and drop their child rows."""
        if not versions:
            return set()
        defaults = {f.column: f.default for f in mapping.fields}
        table = _q(mapping.table)
        columns = ["mongo_id", "source_version", "source_deleted", "sync_status", "sync_error", *defaults]
        types = _db_types(mapping.model, defaults, self.connection)
        default_sql = "".join(f", %s::{types[c]}" for c in defaults)
        ids = list(versions)
        upsert = (
            f"INSERT INTO {table} ({', '.join(map(_q, columns))}, last_sync_at)"
            f" SELECT u.mongo_id, u.version, true, %s, NULL{default_sql}, now()"
            " FROM unnest(%s::varchar(24)[], %s::bigint[]) AS u(mongo_id, version)"
            " ON CONFLICT (mongo_id) DO UPDATE SET source_deleted = true,"
            f" source_version = GREATEST({table}.source_version, EXCLUDED.source_version),"
            " sync_status = EXCLUDED.sync_status, sync_error = NULL, last_sync_at = now()"
        )
        cleanup = [f"WITH gone AS (SELECT mongo_id FROM {table} WHERE mongo_id = ANY(%s) AND source_deleted)"]
        for index, child in enumerate(mapping.children):
            cleanup.append(
                f", del{index} AS (DELETE FROM {_q(child.table)} WHERE {_q(child.parent_column)}"
                " IN (SELECT mongo_id FROM gone))"
            )
        cleanup.append(" SELECT mongo_id FROM gone")
        params: list[Any] = [SYNCED, *defaults.values(), ids, list(versions.values()), ids]
        return self._run(_Statement(f"{upsert}; {''.join(cleanup)}", params))

    def set_status(self, mapping: CollectionMapping, mongo_id: str, status: str, error: str | None) -> None:
        """Record the sync status of an existing row (a missing row is left missing)."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_q(mapping.table)} SET sync_status = %s, sync_error = %s WHERE mongo_id = %s",
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
            cursor.execute(f"SELECT * FROM {_q(mapping.table)}{where}", params)
            names = [d[0] for d in cursor.description]
            for values in cursor.fetchall():
                row = dict(zip(names, values, strict=True))
                result[row["mongo_id"]] = (row, {child.table: [] for child in mapping.children})
            for child in mapping.children:
                parent = _q(child.parent_column)
                cursor.execute(f"SELECT * FROM {_q(child.table)} WHERE {parent} = ANY(%s)", [list(result)])
                names = [d[0] for d in cursor.description]
                for values in cursor.fetchall():
                    row = dict(zip(names, values, strict=True))
                    result[row[child.parent_column]][1][child.table].append(row)
        return result

    # -- internals -----------------------------------------------------------------------------
    def _run(self, statement: _Statement) -> set[str]:
        """Execute (one round trip) and return the ids of the last statement's result."""
        with self.connection.cursor() as cursor:
            cursor.execute(self._limits + statement.sql, statement.params)
            while cursor.nextset():
                pass
            return {row[0] for row in cursor.fetchall()}

    def _chunks(self, rowsets: list[RowSet]) -> Iterable[list[RowSet]]:
        for start in range(0, len(rowsets), CHUNK_ROWS):
            yield rowsets[start : start + CHUNK_ROWS]

    def _upsert_statements(self, mapping: CollectionMapping, rowsets: list[RowSet]) -> _Statement:
        table = _q(mapping.table)
        data_columns = [f.column for f in mapping.fields]
        types = _db_types(mapping.model, data_columns, self.connection)
        columns = ["mongo_id", "source_version", "source_deleted", "sync_status", "sync_error", *data_columns]
        ids, versions = [rs.mongo_id for rs in rowsets], [rs.version for rs in rowsets]
        arrays: list[Any] = [
            ids,
            versions,
            *([rs.row[c] for rs in rowsets] for c in data_columns),
            [
                None if rs.row[mapping.extra_column] is None else Jsonb(rs.row[mapping.extra_column])
                for rs in rowsets
            ],
        ]
        array_types = ["varchar(24)", "bigint", *(types[c] for c in data_columns), "jsonb"]
        unnest = ", ".join(f"%s::{t}[]" for t in array_types)
        names = ", ".join(f"c{i}" for i in range(len(array_types)))
        data = ", ".join(f"u.c{i}" for i in range(2, len(array_types)))
        all_columns = [*columns, mapping.extra_column, "last_sync_at"]
        updates = ", ".join(f"{_q(c)} = EXCLUDED.{_q(c)}" for c in all_columns[1:])
        upsert = (
            f"INSERT INTO {table} ({', '.join(map(_q, all_columns))})"
            f" SELECT u.c0, u.c1, false, %s, NULL, {data}, now() FROM unnest({unnest}) AS u({names})"
            f" ON CONFLICT (mongo_id) DO UPDATE SET {updates}"
            f" WHERE NOT {table}.source_deleted AND {table}.source_version <= EXCLUDED.source_version"
        )
        # Statement 2: the rows that hold the written version now (locked by statement 1).
        children = [
            f"WITH up AS (SELECT t.mongo_id FROM {table} t"
            " JOIN unnest(%s::varchar(24)[], %s::bigint[]) AS w(mongo_id, version)"
            " ON t.mongo_id = w.mongo_id AND t.source_version = w.version WHERE NOT t.source_deleted)"
        ]
        params: list[Any] = [SYNCED, *arrays, ids, versions]
        for index, child in enumerate(mapping.children):
            child_sql, child_params = self._child_statement(index, child, rowsets)
            children.append(child_sql)
            params += child_params
        children.append(" SELECT mongo_id FROM up")
        return _Statement(f"{upsert}; {''.join(children)}", params)

    def _child_statement(self, index: int, child: Child, rowsets: list[RowSet]) -> tuple[str, list[Any]]:
        """CTEs replacing the child rows of the applied parents: delete the rows that are gone,
        upsert the rows that stay or are new (disjoint sets, so one statement can do both)."""
        columns = _child_columns(child)
        key = _child_key(child)
        table, parent = _q(child.table), _q(child.parent_column)
        rows = [row for rs in rowsets for row in rs.children.get(child.table, [])]
        if not rows:
            return (f", del{index} AS (DELETE FROM {table} WHERE {parent} IN (SELECT mongo_id FROM up))", [])
        types = _db_types(child.model, columns, self.connection)
        names = ", ".join(map(_q, columns))
        key_names = ", ".join(map(_q, key))
        on_conflict = _child_on_conflict(child)
        unnest = ", ".join(f"%s::{types[c]}[]" for c in columns)
        sql = (
            f", new{index} AS (SELECT * FROM unnest({unnest}) AS v({names}))"
            f", del{index} AS (DELETE FROM {table} t WHERE t.{parent} IN (SELECT mongo_id FROM up)"
            f" AND ({', '.join('t.' + _q(k) for k in key)}) NOT IN (SELECT {key_names} FROM new{index}))"
            f", ins{index} AS (INSERT INTO {table} ({names}) SELECT {names} FROM new{index}"
            f" WHERE {parent} IN (SELECT mongo_id FROM up) ON CONFLICT ({key_names}) {on_conflict})"
        )
        return sql, [[row[c] for row in rows] for c in columns]
