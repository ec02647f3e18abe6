"""The bulk path of the Postgres sink, for backfill and repair: COPY into staging, then a merge.

Each batch is COPYed (binary) into session-private temporary staging tables shaped like the
mirror tables, then merged by two statements in one transaction, as `PostgresSink.upsert` does:
1. upsert the main rows with the same guard (`dualwrite.ordering`: a row is only replaced by a
   provably newer state of the same life); the applied ids go to a temporary table, and the
   conflicting rows stay locked until the commit;
2. rewrite the child rows of exactly the applied rows. This statement takes its snapshot after
   statement 1 holds the row locks, so it sees the child rows of any concurrent writer of the same
   document that committed before: no stale child rows are left behind. Parents that statement 1
   inserted cannot have child rows yet (the foreign key needs the uncommitted parent), so theirs
   are a plain insert.
A killed run leaves every document of a batch fully written or untouched.

`force=True` is the repair path: MongoDB is the truth, so the row is replaced whatever its version
and a tombstone is cleared. Live writes never use it.

`write_stream` overlaps the work: while Postgres merges batch k (pipelined statements), the
caller's iterator produces batch k+1 (MongoDB read and transform) in this same thread. The
batch's row locks are held meanwhile: live writes to those documents wait that long at most.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import psycopg
from django.db import connections

from dualwrite.errors import DuplicateKeyConflict
from dualwrite.mapping import Child, CollectionMapping
from dualwrite.mirror_sql import child_columns, guarded_upsert, quote, replace_children
from dualwrite.policy import ErrorKind, classify, describe
from dualwrite.sink import SYNCED
from dualwrite.transform import RowSet, latest_per_document
from dualwrite.uniqueness import find_holder, violated_key

T = TypeVar("T")


@dataclass
class Batch(Generic[T]):
    """Rows to write plus whatever the caller needs back with the outcome (e.g. a position)."""

    rowsets: list[RowSet]
    tag: T
    applied: set[str] = field(default_factory=set)
    rejected: dict[str, str] = field(default_factory=dict)  # mongo_id → why Postgres refused its rows
    # The rejected documents that are duplicates of a live row by a domain-unique key
    # (`dualwrite.uniqueness`): not mirrored, by the duplicate rule.
    duplicates: dict[str, DuplicateKeyConflict] = field(default_factory=dict)


_UNSET = object()
APPLIED = "dw_stage_applied"  # ids statement 1 applied, and whether it inserted them


def _stage_name(table: str) -> str:
    return f"dw_stage_{table}"[:63]


def _main_columns(mapping: CollectionMapping) -> list[str]:
    return ["mongo_id", "source_generation", "source_version", *(f.column for f in mapping.fields),
            mapping.extra_column]  # fmt: skip


class _Session:
    """Staging tables of one mapping on one connection; dropped when the session ends."""

    def __init__(self, mapping: CollectionMapping, raw: Any) -> None:
        self.mapping = mapping
        self.raw = raw
        self.main_columns = _main_columns(mapping)
        self.tables: list[tuple[str, str, list[str]]] = [(mapping.table, _stage_name(mapping.table), [])]
        self.tables[0][2].extend(self.main_columns)
        for child in mapping.children:
            self.tables.append((child.table, _stage_name(child.table), child_columns(child)))
        self.types: dict[str, list[int]] = {}

    def create(self) -> None:
        with self.raw.cursor() as cursor:
            for table, stage, columns in self.tables:
                cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{quote(stage)}")
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {quote(stage)} AS SELECT {', '.join(map(quote, columns))}"
                    f" FROM {quote(table)} WITH NO DATA"
                )
                cursor.execute(
                    "SELECT atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
                    " AND NOT attisdropped ORDER BY attnum",
                    [f"pg_temp.{quote(stage)}"],
                )
                self.types[stage] = [int(row[0]) for row in cursor.fetchall()]
            cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{APPLIED}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {APPLIED} (mongo_id varchar(24) NOT NULL, fresh boolean NOT NULL)"
            )

    def drop(self) -> None:
        with self.raw.cursor() as cursor:
            for _table, stage, _columns in self.tables:
                cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{quote(stage)}")
            cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{APPLIED}")

    def stage(self, rowsets: list[RowSet]) -> None:
        """Replace the staging tables' contents with these rows (binary COPY)."""
        mapping = self.mapping
        data_columns = self.main_columns[3:]
        with self.raw.cursor() as cursor:
            stages = [f"pg_temp.{quote(stage)}" for _t, stage, _c in self.tables]
            cursor.execute("TRUNCATE " + ", ".join([*stages, f"pg_temp.{APPLIED}"]))
            main_stage = self.tables[0][1]
            with cursor.copy(f"COPY pg_temp.{quote(main_stage)} FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(self.types[main_stage])
                for rs in rowsets:
                    copy.write_row(
                        [rs.mongo_id, rs.generation, rs.version, *(rs.row[c] for c in data_columns)]
                    )
            for child, (_table, stage, columns) in zip(mapping.children, self.tables[1:], strict=True):
                with cursor.copy(f"COPY pg_temp.{quote(stage)} FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(self.types[stage])
                    for rs in rowsets:
                        for row in rs.children.get(child.table, []):
                            copy.write_row([row[c] for c in columns])

    def merge(self, statements: tuple[str, str], then: Callable[[], Any] | None = None) -> set[str]:
        """Run the two merge statements in one transaction; `then` runs while Postgres works
        (its result is kept in `produced`). Returns the applied ids."""
        upsert, children = statements
        self.produced: Any = _UNSET
        with self.raw.transaction(), self.raw.cursor() as first, self.raw.cursor() as second:
            first.execute(upsert)
            second.execute(children)
            if then is not None:
                self.produced = then()
            return {row[0] for row in second.fetchall()}

    def merge_sql(self, force: bool) -> tuple[str, str]:
        """The two statements of a merge (see module docstring)."""
        mapping = self.mapping
        table, stage = quote(mapping.table), quote(self.tables[0][1])
        mongo_id, generation, version, *data = map(quote, self.main_columns)
        rows = (
            f"SELECT {mongo_id}, {generation}, {version}, false, '{SYNCED}', NULL, {', '.join(data)}, now()"
            f" FROM pg_temp.{stage}"
        )
        upsert = (
            f"WITH up AS ({guarded_upsert(mapping, rows, force=force)}"
            # xmax = 0 marks a row this statement inserted (not updated): it has no child rows yet.
            f" RETURNING mongo_id, ({table}.xmax = 0) AS fresh)"
            f" INSERT INTO pg_temp.{APPLIED} (mongo_id, fresh) SELECT mongo_id, fresh FROM up"
        )
        children = [f"WITH up AS (SELECT mongo_id, fresh FROM pg_temp.{APPLIED})"]
        for index, child in enumerate(mapping.children):
            children.append(self._child_sql(index, child, self.tables[index + 1][1]))
        children.append(" SELECT mongo_id FROM up")
        return upsert, "".join(children)

    @staticmethod
    def _child_sql(index: int, child: Child, stage_name: str) -> str:
        table, stage, parent = quote(child.table), f"pg_temp.{quote(stage_name)}", quote(child.parent_column)
        names = ", ".join(map(quote, child_columns(child)))
        # Parents this statement inserted have no child rows (the foreign key allows none without
        # them): a plain insert. Of updated parents, the child rows are replaced.
        return (
            f", new{index} AS (INSERT INTO {table} ({names}) SELECT {names} FROM {stage}"
            f" WHERE {parent} IN (SELECT mongo_id FROM up WHERE fresh))"
        ) + replace_children(index, child, stage, "SELECT mongo_id FROM up WHERE NOT fresh")


class BulkLoader:
    """Writes large numbers of RowSets of one collection (see module docstring)."""

    def __init__(self, using: str = "default") -> None:
        self.using = using

    @contextmanager
    def _session(self, mapping: CollectionMapping) -> Iterator[_Session]:
        connection = connections[self.using]
        connection.ensure_connection()
        session = _Session(mapping, connection.connection)
        session.create()
        try:
            yield session
        finally:
            try:
                session.drop()
            except psycopg.Error:  # the connection broke; a new one starts without staging tables
                if not connection.in_atomic_block:
                    connection.close()

    def write(
        self, mapping: CollectionMapping, rowsets: Sequence[RowSet], *, force: bool = False
    ) -> set[str]:
        """Write one batch; return the mongo_ids whose rows now hold the given version."""
        return self.write_batch(mapping, rowsets, force=force).applied

    def write_batch(
        self, mapping: CollectionMapping, rowsets: Sequence[RowSet], *, force: bool = False
    ) -> Batch[None]:
        """Write one batch; return it with `applied`, `rejected` and `duplicates` filled in."""
        batch: Batch[None] = Batch(list(rowsets), None)
        if not batch.rowsets:
            return batch
        for done in self.write_stream(mapping, [batch], force=force):
            return done
        return batch

    def write_stream(
        self, mapping: CollectionMapping, batches: Iterable[Batch[T]], *, force: bool = False
    ) -> Iterator[Batch[T]]:
        """Write each batch, yielding it with `applied` filled in, in order. The next batch is
        drawn from `batches` while Postgres merges the current one."""
        with self._session(mapping) as session:
            statements = session.merge_sql(force)
            source = iter(batches)
            current = next(source, None)
            while current is not None:
                rowsets = latest_per_document(current.rowsets)
                following: Any = _UNSET
                if rowsets:
                    session.stage(rowsets)
                    try:
                        with session.raw.pipeline():
                            current.applied = session.merge(statements, then=lambda: next(source, None))
                            following = session.produced
                    except psycopg.Error as exc:
                        if classify(exc) is not ErrorKind.REJECTED:
                            raise
                        # Postgres refused a row (a constraint): write the documents one by one so
                        # that only the refused ones fail, and report them.
                        following = session.produced
                        self._isolate(session, statements, rowsets, current)
                if following is _UNSET:
                    following = next(source, None)
                yield current
                current = following

    @classmethod
    def _isolate(
        cls, session: _Session, statements: tuple[str, str], rowsets: list[RowSet], batch: Batch[T]
    ) -> None:
        """Write a batch Postgres refused in halves, in order, down to the single documents it
        refuses (a handful of merges per refused document instead of one per document). The
        order is kept: of two documents sharing a unique key, the earlier one (smaller `_id`) is
        written and the later one refused."""
        half = len(rowsets) // 2
        for part in (rowsets[:half], rowsets[half:]) if half else (rowsets,):
            if not part:
                continue
            session.stage(part)
            try:
                batch.applied |= session.merge(statements)
            except psycopg.Error as exc:
                if classify(exc) is not ErrorKind.REJECTED:
                    raise
                if len(part) > 1:
                    cls._isolate(session, statements, part, batch)
                else:
                    cls._refused(session, part[0], exc, batch)

    @staticmethod
    def _refused(session: _Session, rowset: RowSet, exc: psycopg.Error, batch: Batch[T]) -> None:
        """Record why Postgres refused one document; a duplicate key names its holder."""
        key = violated_key(session.mapping, exc)
        if key is None:
            batch.rejected[rowset.mongo_id] = describe(exc)
            return
        with session.raw.cursor() as cursor:
            holder = find_holder(cursor, session.mapping, key, rowset)
        duplicate = DuplicateKeyConflict(session.mapping.collection, rowset.mongo_id, key.fields, holder)
        batch.duplicates[rowset.mongo_id] = duplicate
        batch.rejected[rowset.mongo_id] = describe(duplicate)
