"""Benchmark of the dual-write engine's Postgres writes (issue: dual-write engine).

Run: `.venv/bin/python bench/dual_write_bench.py` (starts its own throw-away embedded PostgreSQL
through the test settings; MongoDB is the in-process stand-in). Prints one table:

(a) p50/p99 of the engine's Postgres write statement for create, update and delete;
(b) 3,000 task documents with two labels each: the engine's batch write vs a naive per-document
    path (ORM get_or_create/save per document in its own transaction, junction rows one by one),
    both against the same PostgreSQL in the same run; plus batch_operations end to end;
(c) Postgres round trips (statements) per single-document write.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.test_settings")

import django

django.setup()

from bson import ObjectId  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from dualwrite import metrics  # noqa: E402
from dualwrite.operations import UPDATE  # noqa: E402
from dualwrite.transform import document_to_rows  # noqa: E402
from todo.mappings import get_registry  # noqa: E402
from todo.models.postgres import PostgresTask, PostgresTaskLabel  # noqa: E402
from todo.services.enhanced_dual_write_service import EnhancedDualWriteService  # noqa: E402

SINGLE_WRITES = 1000
BATCH_DOCS = 3000


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _latencies_of(action: Any) -> list[float]:
    """Engine Postgres write latencies (seconds) recorded while `action` runs."""
    metrics.LATENCIES = metrics.LatencySample(size=100_000)
    action()
    return list(metrics.LATENCIES._values)


def _task(i: int) -> dict[str, Any]:
    return {"title": f"task {i}", "priority": 1 + i % 3, "status": "TODO", "labels": [ObjectId(), ObjectId()]}


def single_writes(service: EnhancedDualWriteService) -> dict[str, list[float]]:
    ids = [str(ObjectId()) for _ in range(SINGLE_WRITES)]
    out = {}
    out["create"] = _latencies_of(
        lambda: [
            service.create_document(collection_name="tasks", data=_task(i), mongo_id=m)
            for i, m in enumerate(ids)
        ]
    )
    out["update"] = _latencies_of(
        lambda: [
            service.update_document(collection_name="tasks", mongo_id=m, data={"status": "DONE"}) for m in ids
        ]
    )
    out["delete"] = _latencies_of(
        lambda: [service.delete_document(collection_name="tasks", mongo_id=m) for m in ids]
    )
    return out


def naive_path(documents: list[dict[str, Any]]) -> float:
    """Per document: its own transaction, ORM get_or_create + save, junction rows one by one."""
    started = time.perf_counter()
    for doc in documents:
        with transaction.atomic():
            task, _ = PostgresTask.objects.get_or_create(mongo_id=str(doc["_id"]))
            task.title, task.priority, task.status = doc["title"], doc["priority"], doc["status"]
            task.source_version = doc["_v"]
            task.save()
            for label in doc["labels"]:
                PostgresTaskLabel.objects.get_or_create(
                    task=task, label_mongo_id=str(label), defaults={"position": 0}
                )
    return time.perf_counter() - started


def engine_batch(service: EnhancedDualWriteService, documents: list[dict[str, Any]]) -> float:
    """The engine's Postgres part of a batch: map, then one guarded statement per chunk."""
    mapping = get_registry().get("tasks")
    started = time.perf_counter()
    results = list(service.engine._mirror_many(mapping, [(i, UPDATE, d) for i, d in enumerate(documents)]))
    elapsed = time.perf_counter() - started
    assert all(r.mirrored for _, r in results)
    return elapsed


def batch_end_to_end(service: EnhancedDualWriteService) -> float:
    operations = [
        {"collection_name": "tasks", "data": _task(i), "mongo_id": str(ObjectId()), "operation": "create"}
        for i in range(BATCH_DOCS)
    ]
    started = time.perf_counter()
    assert service.batch_operations(operations)
    return time.perf_counter() - started


def round_trips(service: EnhancedDualWriteService) -> dict[str, int]:
    mongo_id = str(ObjectId())
    calls = {
        "create": lambda: service.create_document(collection_name="tasks", data=_task(0), mongo_id=mongo_id),
        "update": lambda: service.update_document(
            collection_name="tasks", mongo_id=mongo_id, data={"title": "x"}
        ),
        "delete": lambda: service.delete_document(collection_name="tasks", mongo_id=mongo_id),
    }
    counts = {}
    connection.ensure_connection()
    for name, call in calls.items():
        with CaptureQueriesContext(connection) as queries:
            call()
        counts[name] = len(queries.captured_queries)
    return counts


def main() -> None:
    call_command("migrate", verbosity=0)
    service = EnhancedDualWriteService()
    connection.ensure_connection()  # keep one connection for the run (as a request thread does)

    singles = single_writes(service)
    docs = [{"_id": ObjectId(), "_v": 1, **_task(i)} for i in range(BATCH_DOCS)]
    for doc in docs:  # validate the documents once, outside both timings
        document_to_rows(get_registry().get("tasks"), doc)
    naive = naive_path(docs)
    batch_docs = [{**d, "_id": ObjectId()} for d in docs]
    batch = engine_batch(service, batch_docs)
    end_to_end = batch_end_to_end(service)
    trips = round_trips(service)

    print()
    print("| measure | value |")
    print("|---|---|")
    for op, values in singles.items():
        print(
            f"| (a) {op}: engine Postgres write p50 / p99 (n={len(values)}) "
            f"| {_percentile(values, 0.5):.2f} ms / {_percentile(values, 0.99):.2f} ms |"
        )
    naive_rate, batch_rate = BATCH_DOCS / naive, BATCH_DOCS / batch
    print(f"| (b) naive ORM path, {BATCH_DOCS} tasks x 2 labels | {naive:.2f} s = {naive_rate:,.0f} docs/s |")
    print(f"| (b) engine batch write, same documents | {batch:.3f} s = {batch_rate:,.0f} docs/s |")
    print(f"| (b) speed-up of the engine batch over the naive path | {batch_rate / naive_rate:.1f}x |")
    print(
        f"| (b) batch_operations end to end incl. the in-process MongoDB stand-in | {end_to_end:.2f} s = "
        f"{BATCH_DOCS / end_to_end:,.0f} docs/s |"
    )
    for op, n in trips.items():
        print(f"| (c) Postgres round trips per single {op} | {n} |")
    print(
        f"\nmedian single-write latency overall: {statistics.median([v for values in singles.values() for v in values]) * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
