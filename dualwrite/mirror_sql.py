"""SQL text shared by the two writers of mirror rows, the sink (`dualwrite.sink`: live writes,
column arrays) and the bulk loader (`dualwrite.bulk`: backfill and repair, staging tables): names,
column lists, the version-guarded upsert of main rows and the replacement of child rows.

Only text is built here; each writer caches or prepares its statements as it needs.
"""

from __future__ import annotations

from dualwrite.mapping import ArrayTable, Child, CollectionMapping
from dualwrite.ordering import guard_sql

# The engine's columns of a main row besides the id and the mapped columns, in statement order.
STATE_COLUMNS = ("source_generation", "source_version", "source_deleted", "sync_status", "sync_error")


def quote(name: str) -> str:
    """A table or column name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def main_columns(mapping: CollectionMapping) -> list[str]:
    """Every column a write of a main row sets: the id, the engine's state, the mapped columns,
    the extra keys and the sync time (the order of `guarded_upsert`'s rows)."""
    return ["mongo_id", *STATE_COLUMNS, *(f.column for f in mapping.fields), mapping.extra_column,
            "last_sync_at"]  # fmt: skip


def guarded_upsert(mapping: CollectionMapping, rows: str, *, force: bool) -> str:
    """Upsert main rows (`rows`: a SELECT of `main_columns(mapping)`, in that order). A row that
    exists is only replaced through the version guard (`dualwrite.ordering`), or whatever it holds
    when `force` (repair, reconcile under the row lock)."""
    table = quote(mapping.table)
    columns = main_columns(mapping)
    updates = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in columns[1:])
    guard = "" if force else f" WHERE {guard_sql(table, 'EXCLUDED')}"
    return (
        f"INSERT INTO {table} ({', '.join(map(quote, columns))}) {rows}"
        f" ON CONFLICT (mongo_id) DO UPDATE SET {updates}{guard}"
    )


def child_key(child: Child) -> list[str]:
    """Columns identifying one child row within its table."""
    if isinstance(child, ArrayTable):
        return [child.parent_column, child.item_column]
    return [child.parent_column]


def child_columns(child: Child) -> list[str]:
    if isinstance(child, ArrayTable):
        return [child.parent_column, child.item_column, child.position_column]
    return [child.parent_column, *(f.column for f in child.fields)]


def child_on_conflict(child: Child) -> str:
    """What an upsert of a child row does when its key exists: update the other columns."""
    key = child_key(child)
    non_key = [c for c in child_columns(child) if c not in key]
    if not non_key:
        return "DO NOTHING"
    return "DO UPDATE SET " + ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in non_key)


def replace_children(index: int, child: Child, rows: str, parents: str) -> str:
    """CTEs `del<index>` and `ins<index>` making the child rows of `parents` (a SELECT of parent
    ids) those of `rows` (a relation of `child_columns(child)`): rows that are gone are deleted,
    rows that stay or are new are upserted (disjoint sets, so one statement can do both)."""
    table, parent = quote(child.table), quote(child.parent_column)
    names = ", ".join(map(quote, child_columns(child)))
    key = child_key(child)
    key_names = ", ".join(map(quote, key))
    return (
        f", del{index} AS (DELETE FROM {table} t WHERE t.{parent} IN ({parents})"
        f" AND ({', '.join('t.' + quote(k) for k in key)}) NOT IN (SELECT {key_names} FROM {rows}))"
        f", ins{index} AS (INSERT INTO {table} ({names}) SELECT {names} FROM {rows}"
        f" WHERE {parent} IN ({parents}) ON CONFLICT ({key_names}) {child_on_conflict(child)})"
    )
