"""Benchmark of the dual-write engine's Postgres writes against a per-statement ORM mirror.

Run: `.venv/bin/python bench/dual_write_bench.py [--runs 3] [--docs 1000] [--batch 3000]`. It starts
its own throw-away embedded PostgreSQL (the test settings) with `pg_stat_statements` loaded, so
that server time is read from the server itself; MongoDB is the in-process stand-in. Each run
measures, side by side on the same server and the same documents (tasks with two labels):

(a) single writes, MongoDB excluded: the engine's mirror of one stored document (mapping and
    Postgres write) vs a per-document ORM mirror of the same document (its own transaction, a
    locking read, the row, the label rows one by one: 6-7 statements), in docs/s and in Postgres
    server time per write (planning + execution, from pg_stat_statements);
(b) a batch of task creates: the engine's guarded batch upsert vs a plain COPY of the same rows
    into the same tables (no guard, no conflict handling), plus `batch_operations` end to end with
    the MongoDB stand-in's share separated;
(c) Postgres round trips per single write (from libpq's protocol trace).

The table prints the median of the runs and the machine's load average at the start and the end:
compare ratios, which hold across machines and load, rather than absolute figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.test_settings")

import django

django.setup()

from todo.db.startup import start_database  # noqa: E402

start_database()  # django.setup() starts no database server

import psycopg  # noqa: E402
from bson import ObjectId  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from psycopg.pq import Trace  # noqa: E402

from dualwrite.mapping import GENERATION_FIELD, VERSION_FIELD  # noqa: E402
from dualwrite.operations import CREATE, DELETE, UPDATE  # noqa: E402
from dualwrite.sink import PostgresSink  # noqa: E402
from dualwrite.transform import document_to_rows  # noqa: E402
from todo.db.embedded_postgres import LISTEN_HOST, SUPERUSER, current_embedded_postgres  # noqa: E402
from todo.mappings import get_registry  # noqa: E402
from todo.models.postgres import PostgresTask, PostgresTaskLabel  # noqa: E402
from todo.services.enhanced_dual_write_service import EnhancedDualWriteService  # noqa: E402

TASKS = get_registry().get("tasks")


# -- the server: pg_stat_statements for server time ------------------------------------------------
class ServerTime:
    """Postgres server time (planning + execution) of the benchmark's own statements."""

    def __init__(self) -> None:
        embedded = current_embedded_postgres()
        if embedded is None:
            raise SystemExit("error: the benchmark needs the embedded PostgreSQL (leave POSTGRES_HOST unset)")
        db = settings.DATABASES["default"]
        self.conninfo = f"host={LISTEN_HOST} port={db['PORT']} user={SUPERUSER} dbname={db['NAME']}"
        self.password = embedded._superuser_password()
        with psycopg.connect(self.conninfo, password=self.password, autocommit=True) as admin:
            admin.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
            admin.execute("ALTER SYSTEM SET pg_stat_statements.track_planning = on")
        connection.close()
        connection.close_pool()
        embedded.stop()
        embedded.start()
        with psycopg.connect(self.conninfo, password=self.password, autocommit=True) as admin:
            admin.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        self.user = db["USER"]

    def reset(self) -> None:
        with psycopg.connect(self.conninfo, password=self.password, autocommit=True) as admin:
            admin.execute("SELECT pg_stat_statements_reset()")

    def total_ms(self) -> float:
        """Server milliseconds spent on the application user's statements since the reset."""
        with psycopg.connect(self.conninfo, password=self.password, autocommit=True) as admin:
            row = admin.execute(
                "SELECT coalesce(sum(total_plan_time + total_exec_time), 0) FROM pg_stat_statements s"
                " JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = %s",
                [self.user],
            ).fetchone()
        return float(row[0]) if row else 0.0


# -- documents -------------------------------------------------------------------------------------
def _task(i: int) -> dict[str, Any]:
    return {"title": f"task {i}", "priority": 1 + i % 3, "status": "TODO", "labels": [ObjectId(), ObjectId()]}


def stored_documents(count: int) -> list[dict[str, Any]]:
    """Task documents as MongoDB stores them after a create (version 1, a generation)."""
    return [
        {"_id": ObjectId(), VERSION_FIELD: 1, GENERATION_FIELD: ObjectId(), **_task(i)} for i in range(count)
    ]


def updated(document: dict[str, Any]) -> dict[str, Any]:
    return {**document, "status": "DONE", "labels": document["labels"][:1], VERSION_FIELD: 2}


# -- (a) single writes: the engine's mirror vs a per-statement ORM mirror ---------------------------
class Engine:
    def __init__(self, service: EnhancedDualWriteService) -> None:
        self.engine = service.engine

    def write(self, operation: str, document: dict[str, Any]) -> None:
        assert self.engine._mirror_document(TASKS, operation, document).mirrored

    def delete(self, document: dict[str, Any]) -> None:
        assert self.engine._mirror_delete(TASKS, str(document["_id"]), document).mirrored


class PerStatementOrm:
    """The same mirror written the usual ORM way: a transaction per document, the row locked and
    compared, the row saved, the junction rows rewritten one by one."""

    def write(self, operation: str, document: dict[str, Any]) -> None:
        mongo_id, version = str(document["_id"]), document[VERSION_FIELD]
        with transaction.atomic():
            task = PostgresTask.objects.select_for_update().filter(mongo_id=mongo_id).first()
            if task is not None and task.source_version >= version:
                return
            task = task or PostgresTask(mongo_id=mongo_id)
            task.title, task.priority, task.status = (
                document["title"],
                document["priority"],
                document["status"],
            )
            task.source_version, task.source_generation = version, str(document[GENERATION_FIELD])
            task.source_deleted, task.sync_status = False, "SYNCED"
            task.save()
            PostgresTaskLabel.objects.filter(task_id=mongo_id).delete()
            for position, label in enumerate(document["labels"]):
                PostgresTaskLabel.objects.create(
                    task_id=mongo_id, label_mongo_id=str(label), position=position
                )

    def delete(self, document: dict[str, Any]) -> None:
        mongo_id = str(document["_id"])
        with transaction.atomic():
            task = PostgresTask.objects.select_for_update().filter(mongo_id=mongo_id).first()
            if task is None:
                return
            task.source_deleted, task.source_version = True, document[VERSION_FIELD] + 1
            task.save(update_fields=["source_deleted", "source_version"])
            PostgresTaskLabel.objects.filter(task_id=mongo_id).delete()


def single_writes(path: Any, server: ServerTime, count: int) -> dict[str, tuple[float, float]]:
    """{operation: (docs/s, server ms per write)} for `count` creates, then updates, then deletes."""
    documents = stored_documents(count)
    changed = [updated(d) for d in documents]
    phases: dict[str, Callable[[dict[str, Any]], None]] = {
        "create": lambda d: path.write(CREATE, d),
        "update": lambda d: path.write(UPDATE, d),
        "delete": path.delete,
    }
    inputs = {"create": documents, "update": changed, "delete": changed}
    out = {}
    for name, write in phases.items():
        server.reset()
        started = time.perf_counter()
        for document in inputs[name]:
            write(document)
        elapsed = time.perf_counter() - started
        out[name] = (count / elapsed, server.total_ms() / count)
    return out


# -- (b) batch: the engine's guarded upsert vs COPY --------------------------------------------------
def engine_batch(documents: list[dict[str, Any]]) -> tuple[float, float]:
    """(seconds mapping the documents, seconds writing the rows) of one guarded batch upsert."""
    started = time.perf_counter()
    rowsets = [document_to_rows(TASKS, d) for d in documents]
    mapped = time.perf_counter()
    applied = PostgresSink().upsert(TASKS, rowsets)
    written = time.perf_counter()
    assert len(applied) == len(documents)
    return mapped - started, written - mapped


def copy_batch(documents: list[dict[str, Any]]) -> float:
    """Seconds of a plain COPY of the same rows (main rows, then label rows) in one transaction."""
    rowsets = [document_to_rows(TASKS, {**d, "_id": ObjectId()}) for d in documents]
    columns = ["mongo_id", "source_generation", "source_version", "source_deleted", "sync_status",
               *(f.column for f in TASKS.fields), "extra", "last_sync_at"]  # fmt: skip
    label_table = TASKS.children[0]
    label_columns = [label_table.parent_column, label_table.item_column, label_table.position_column]
    now = timezone.now()
    main_rows = [
        (
            rs.mongo_id,
            rs.generation,
            rs.version,
            False,
            "SYNCED",
            *(rs.row[c] for c in columns[5:-2]),
            None,
            now,
        )
        for rs in rowsets
    ]
    child_rows = [
        tuple(row[c] for c in label_columns) for rs in rowsets for row in rs.children[label_table.table]
    ]
    connection.ensure_connection()
    raw = connection.connection
    started = time.perf_counter()
    with transaction.atomic(), raw.cursor() as cursor:
        names = ", ".join(f'"{c}"' for c in columns)
        with cursor.copy(f'COPY "{TASKS.table}" ({names}) FROM STDIN') as copy:
            for row in main_rows:
                copy.write_row(row)
        with cursor.copy(f'COPY "{label_table.table}" ({", ".join(label_columns)}) FROM STDIN') as copy:
            for row in child_rows:
                copy.write_row(row)
    return time.perf_counter() - started


def batch_end_to_end(service: EnhancedDualWriteService, count: int) -> tuple[float, float]:
    """(seconds of batch_operations, seconds of its engine Postgres writes) for `count` creates."""
    from dualwrite import metrics

    metrics.LATENCIES = metrics.LatencySample(size=100_000)
    operations = [
        {"collection_name": "tasks", "data": _task(i), "mongo_id": str(ObjectId()), "operation": "create"}
        for i in range(count)
    ]
    started = time.perf_counter()
    assert service.batch_operations(operations)
    elapsed = time.perf_counter() - started
    return elapsed, sum(metrics.LATENCIES._values)


# -- (c) round trips -------------------------------------------------------------------------------
def round_trips(service: EnhancedDualWriteService) -> dict[str, int]:
    mongo_id = str(ObjectId())
    calls = {
        "create": lambda: service.create_document(collection_name="tasks", data=_task(0), mongo_id=mongo_id),
        "update": lambda: service.update_document(
            collection_name="tasks", mongo_id=mongo_id, data={"title": "x"}
        ),
        DELETE: lambda: service.delete_document(collection_name="tasks", mongo_id=mongo_id),
    }
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    counts = {}
    for name, call in calls.items():
        with tempfile.TemporaryFile("w+") as trace:
            pgconn.trace(trace.fileno())
            pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
            call()
            pgconn.untrace()
            trace.seek(0)
            messages = [line.rstrip("\n").split("\t") for line in trace]
            counts[name] = sum(
                1 for m in messages if m[0] == "F" and len(m) > 2 and m[2] in ("Query", "Sync")
            )
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs; the table prints their medians")
    parser.add_argument("--docs", type=int, default=1000, help="documents per single-write phase")
    parser.add_argument("--batch", type=int, default=3000, help="task creates per batch")
    args = parser.parse_args()
    load_start = os.getloadavg()
    server = ServerTime()
    call_command("migrate", verbosity=0)
    service = EnhancedDualWriteService()
    connection.ensure_connection()  # one connection for the run, as a request thread has
    runs: list[dict[str, float]] = []
    for run in range(args.runs):
        figures: dict[str, float] = {}
        for label, path in (("engine", Engine(service)), ("orm", PerStatementOrm())):
            for op, (rate, server_ms) in single_writes(path, server, args.docs).items():
                figures[f"{label} {op} docs/s"] = rate
                figures[f"{label} {op} server ms"] = server_ms
        documents = stored_documents(args.batch)
        figures["batch map s"], figures["batch write s"] = engine_batch(documents)
        figures["copy s"] = copy_batch(documents)
        figures["e2e s"], figures["e2e postgres s"] = batch_end_to_end(service, args.batch)
        runs.append(figures)
        print(f"run {run + 1}/{args.runs} done (load {os.getloadavg()[0]:.2f})", file=sys.stderr)
    trips = round_trips(service)
    median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    load_end = os.getloadavg()
    _print(median, trips, args, load_start, load_end)


def _print(m: dict[str, float], trips: dict[str, int], args: Any, load_start: Any, load_end: Any) -> None:
    print(f"\nmachine: {os.cpu_count()} cores; load average (1/5/15 min) at start {load_start[0]:.2f} "
          f"{load_start[1]:.2f} {load_start[2]:.2f}, at end {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")  # fmt: skip
    print(
        f"median of {args.runs} runs; {args.docs} tasks x 2 labels per single-write phase, {args.batch} per batch\n"
    )
    print("| measure | engine | per-statement ORM | ratio |")
    print("|---|---:|---:|---:|")
    for op in ("create", "update", "delete"):
        ours, orm = m[f"engine {op} docs/s"], m[f"orm {op} docs/s"]
        print(
            f"| (a) single {op}, docs/s (MongoDB excluded) | {ours:,.0f} | {orm:,.0f} | {ours / orm:.1f}x |"
        )
    for op in ("create", "update", "delete"):
        ours, orm = m[f"engine {op} server ms"], m[f"orm {op} server ms"]
        print(f"| (a) Postgres server time per {op} (plan + execute) | {ours:.3f} ms | {orm:.3f} ms "
              f"| {ours / orm:.2f} of it |")  # fmt: skip
    n = args.batch
    write_rate, copy_rate = n / m["batch write s"], n / m["copy s"]
    print(f"| (b) batch of {n} creates, Postgres write (guarded upsert) vs plain COPY, docs/s "
          f"| {write_rate:,.0f} | COPY {copy_rate:,.0f} | {write_rate / copy_rate:.0%} of COPY |")  # fmt: skip
    print(f"| (b) the batch's mapping (documents → rows), docs/s | {n / m['batch map s']:,.0f} | | |")
    e2e, pg = m["e2e s"], m["e2e postgres s"]
    print(f"| (b) batch_operations end to end, docs/s | {n / e2e:,.0f} | | Postgres {pg / e2e:.0%}, "
          f"MongoDB stand-in and the rest {1 - pg / e2e:.0%} of the time |")  # fmt: skip
    for op, count in trips.items():
        print(f"| (c) Postgres round trips per single {op} | {count} | | |")


if __name__ == "__main__":
    main()
