"""The Postgres sink: version-guarded upserts, tombstones and reads of mirror rows.

Every write of a batch of documents of one collection is ONE SQL statement: a data-modifying CTE
that upserts the main rows (a row is only replaced by an equal or higher source version, never
when it is a tombstone), then rewrites the child rows of exactly the rows it applied. One statement
means one round trip and atomicity without an explicit transaction.
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
# Stay well below PostgreSQL's 65,535 bind parameters per statement.
MAX_PARAMS = 30000


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

    def __init__(self, using: str = "default") -> None:
        self.using = using

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
        for chunk in self._chunks(mapping, list(latest.values())):
            statement = self._upsert_statement(mapping, chunk)
            applied |= self._run(statement)
        return applied

    def tombstone(self, mapping: CollectionMapping, versions: dict[str, int]) -> set[str]:
        """Mark documents deleted (keeping the highest version seen) and drop their child rows."""
        if not versions:
            return set()
        defaults = {f.column: f.default for f in mapping.fields}
        columns = ["mongo_id", "source_version", "source_deleted", "sync_status", "sync_error", *defaults]
        placeholders = "(" + ", ".join(["%s"] * len(columns)) + ", now())"
        params: list[Any] = []
        for mongo_id, version in versions.items():
            params += [mongo_id, version, True, SYNCED, None, *defaults.values()]
        table = _q(mapping.table)
        sql = [
            f"WITH up AS (INSERT INTO {table} ({', '.join(map(_q, columns))}, last_sync_at) VALUES "
            + ", ".join([placeholders] * len(versions))
            + " ON CONFLICT (mongo_id) DO UPDATE SET source_deleted = true,"
            f" source_version = GREATEST({table}.source_version, EXCLUDED.source_version),"
            " sync_status = EXCLUDED.sync_status, sync_error = NULL, last_sync_at = now()"
            " RETURNING mongo_id)"
        ]
        for index, child in enumerate(mapping.children):
            sql.append(
                f", del{index} AS (DELETE FROM {_q(child.table)} WHERE {_q(child.parent_column)}"
                " IN (SELECT mongo_id FROM up))"
            )
        sql.append(" SELECT mongo_id FROM up")
        return self._run(_Statement("".join(sql), params))

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
        with self.connection.cursor() as cursor:
            cursor.execute(statement.sql, statement.params)
            return {row[0] for row in cursor.fetchall()}

    def _chunks(self, mapping: CollectionMapping, rowsets: list[RowSet]) -> Iterable[list[RowSet]]:
        per_row = len(mapping.fields) + 6 + sum(len(_child_columns(c)) * 4 for c in mapping.children)
        size = max(1, MAX_PARAMS // per_row)
        for start in range(0, len(rowsets), size):
            yield rowsets[start : start + size]

    def _upsert_statement(self, mapping: CollectionMapping, rowsets: list[RowSet]) -> _Statement:
        table = _q(mapping.table)
        data_columns = [f.column for f in mapping.fields] + [mapping.extra_column]
        columns = ["mongo_id", "source_version", "source_deleted", "sync_status", "sync_error", *data_columns]
        row_sql = "(" + ", ".join(["%s"] * len(columns)) + ", now())"
        params: list[Any] = []
        for rs in rowsets:
            extra = rs.row[mapping.extra_column]
            values = [rs.row[c] for c in data_columns[:-1]] + [None if extra is None else Jsonb(extra)]
            params += [rs.mongo_id, rs.version, False, SYNCED, None, *values]
        updates = ", ".join(f"{_q(c)} = EXCLUDED.{_q(c)}" for c in columns[1:])
        sql = [
            f"WITH up AS (INSERT INTO {table} ({', '.join(map(_q, columns))}, last_sync_at) VALUES "
            + ", ".join([row_sql] * len(rowsets))
            + f" ON CONFLICT (mongo_id) DO UPDATE SET {updates}, last_sync_at = now()"
            f" WHERE NOT {table}.source_deleted AND {table}.source_version <= EXCLUDED.source_version"
            " RETURNING mongo_id)"
        ]
        for index, child in enumerate(mapping.children):
            child_sql, child_params = self._child_statement(index, child, rowsets)
            sql.append(child_sql)
            params += child_params
        sql.append(" SELECT mongo_id FROM up")
        return _Statement("".join(sql), params)

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
        row_sql = "(" + ", ".join(f"%s::{types[c]}" for c in columns) + ")"
        params = [row[c] for row in rows for c in columns]
        names = ", ".join(map(_q, columns))
        key_names = ", ".join(map(_q, key))
        non_key = [c for c in columns if c not in key]
        on_conflict = (
            "DO UPDATE SET " + ", ".join(f"{_q(c)} = EXCLUDED.{_q(c)}" for c in non_key)
            if non_key
            else "DO NOTHING"
        )
        sql = (
            f", new{index} ({names}) AS (VALUES {', '.join([row_sql] * len(rows))})"
            f", del{index} AS (DELETE FROM {table} t WHERE t.{parent} IN (SELECT mongo_id FROM up)"
            f" AND ({', '.join('t.' + _q(k) for k in key)}) NOT IN (SELECT {key_names} FROM new{index}))"
            f", ins{index} AS (INSERT INTO {table} ({names}) SELECT {names} FROM new{index}"
            f" WHERE {parent} IN (SELECT mongo_id FROM up) ON CONFLICT ({key_names}) {on_conflict})"
        )
        return sql, params
