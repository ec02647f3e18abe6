"""Backfill and verify throughput, and backfill memory, printed as a table (one run).

    .venv/bin/python bench/backfill_bench.py            # 200,000 tasks; memory at 50,000 and 500,000
    .venv/bin/python bench/backfill_bench.py --quick    # 20,000 tasks; memory at 5,000 and 50,000

The in-process MongoDB stand-in (mongomock) copies and sorts whole collections in Python, so the
task documents come from a generator and enter the backfill right after where the MongoDB cursor
would hand them over (`Backfiller.load`: transform, batches, COPY into staging, guarded merge,
checkpoint after each batch). The raw COPY baseline writes the same rows, transformed beforehand
and not timed, into the same tables (binary COPY, main table and both child tables). Verify reads
every row back in mongo_id order and compares it with the regenerated documents
(`Verifier.compare`). One row also goes through the stand-in, for scale. Memory is the peak RSS of
a fresh process per size (each with its own embedded PostgreSQL). Results: bench/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402

django.setup()

from todo.db.startup import start_database  # noqa: E402

start_database()  # django.setup() starts no database server

import psutil  # noqa: E402
from bson import ObjectId  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from dualwrite.backfill import DEFAULT_BATCH_SIZE, Backfiller  # noqa: E402
from dualwrite.checkpoint import CheckpointStore, Shard  # noqa: E402
from dualwrite.scan import scan_live_rows  # noqa: E402
from dualwrite.transform import RowSet, document_to_rows  # noqa: E402
from dualwrite.verify import Verifier  # noqa: E402
from todo.db.mongo_manager import DatabaseManager  # noqa: E402
from todo.mappings import get_registry  # noqa: E402

TASKS = get_registry().get("tasks")
RESULTS = ROOT / "bench" / "results"
BASE = int(dt.datetime(2025, 1, 1, tzinfo=dt.UTC).timestamp())
LABELS = [ObjectId(f"{BASE:08x}{i:016x}") for i in range(8)]
USERS = [ObjectId(f"{BASE:08x}{1000 + i:016x}") for i in range(20)]


def task(number: int) -> dict[str, Any]:
    """Task `number`, the same every time (the verify pass regenerates what backfill wrote)."""
    created = dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=number)
    creator = USERS[number % len(USERS)]
    document: dict[str, Any] = {
        "_id": ObjectId(f"{BASE + number // 1000:08x}{number:016x}"),
        "_v": 1 + number % 3,
        "displayId": f"#{number}",
        "title": f"Task number {number}: write the quarterly report",
        "description": None if number % 3 else "Gather the figures, draft, review with the team.",
        "priority": 1 + number % 3,
        "status": ("TODO", "IN_PROGRESS", "BLOCKED", "DONE")[number % 4],
        "labels": LABELS[number % 5 : number % 5 + number % 4],
        "isDeleted": False,
        "isAcknowledged": number % 2 == 0,
        "createdAt": created,
        "updatedAt": created,
        "createdBy": creator,
        "updatedBy": creator,
        "dueAt": None if number % 5 else created + dt.timedelta(days=7),
    }
    if number % 4 == 0:
        document["deferredDetails"] = {"deferredAt": created, "deferredTill": created, "deferredBy": creator}
    return document


def tasks(count: int) -> Iterator[dict[str, Any]]:
    return (task(n) for n in range(count))


def reset_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE postgres_tasks, postgres_task_labels, postgres_deferred_details")
        cursor.execute("VACUUM ANALYZE postgres_tasks")


def backfiller(batch_size: int = DEFAULT_BATCH_SIZE) -> Backfiller:
    checkpoints = CheckpointStore(lambda: DatabaseManager.get().get_collection("bench_checkpoints"))
    return Backfiller(
        source=DatabaseManager.get().get_collection, checkpoints=checkpoints, batch_size=batch_size
    )


def run_backfill(count: int, batch_size: int, on_batch: Any = None) -> dict[str, Any]:
    filler = backfiller(batch_size)
    checkpoint = filler.checkpoints.start("tasks", Shard())
    started = time.perf_counter()
    report = filler.load(TASKS, tasks(count), checkpoint=checkpoint, progress=on_batch)
    seconds = time.perf_counter() - started
    assert report.written == count, report
    return {"documents": count, "seconds": seconds, "rate": count / seconds}


def run_raw_copy(count: int) -> dict[str, Any]:
    rowsets: list[RowSet] = [document_to_rows(TASKS, d) for d in tasks(count)]  # not timed
    reset_tables()
    main_columns = ["mongo_id", "source_version", "source_deleted", "sync_status", "last_sync_at"]
    main_columns += [f.column for f in TASKS.fields] + [TASKS.extra_column]
    now = dt.datetime.now(dt.UTC)
    connection.ensure_connection()
    raw = connection.connection
    started = time.perf_counter()
    with raw.cursor() as cursor:
        with cursor.copy(
            f"COPY postgres_tasks ({', '.join(main_columns)}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["text", "int8", "bool", "text", "timestamptz", "text", "text", "text", "int4", "text",
                            "bool", "bool", "timestamptz", "timestamptz", "timestamptz", "timestamptz", "text",
                            "text", "jsonb"])  # fmt: skip
            for rs in rowsets:
                copy.write_row([rs.mongo_id, rs.version, False, "SYNCED", now, *(rs.row[f.column] for f in TASKS.fields), None])  # fmt: skip
        with cursor.copy("COPY postgres_task_labels (task_mongo_id, label_mongo_id, position) FROM STDIN (FORMAT BINARY)") as copy:  # fmt: skip
            copy.set_types(["text", "text", "int4"])
            for rs in rowsets:
                for row in rs.children["postgres_task_labels"]:
                    copy.write_row([row["task_mongo_id"], row["label_mongo_id"], row["position"]])
        with cursor.copy("COPY postgres_deferred_details (task_mongo_id, deferred_at, deferred_till, deferred_by) FROM STDIN (FORMAT BINARY)") as copy:  # fmt: skip
            copy.set_types(["text", "timestamptz", "timestamptz", "text"])
            for rs in rowsets:
                for row in rs.children["postgres_deferred_details"]:
                    copy.write_row([row["task_mongo_id"], row["deferred_at"], row["deferred_till"], row["deferred_by"]])  # fmt: skip
    seconds = time.perf_counter() - started
    return {"documents": count, "seconds": seconds, "rate": count / seconds}


def run_verify(count: int) -> dict[str, Any]:
    verifier = Verifier(source=DatabaseManager.get().get_collection)
    started = time.perf_counter()
    report = verifier.compare(TASKS, tasks(count), scan_live_rows(TASKS))
    seconds = time.perf_counter() - started
    assert report.equal and report.documents == count, report.as_dict()
    return {"documents": count, "seconds": seconds, "rate": count / seconds}


def run_through_stand_in(count: int) -> dict[str, Any]:
    coll = DatabaseManager.get().get_collection("tasks")
    coll.drop()
    coll.insert_many(tasks(count))
    reset_tables()
    filler = backfiller()
    started = time.perf_counter()
    report = filler.run(TASKS, restart=True)
    seconds = time.perf_counter() - started
    assert report.written == count
    coll.drop()
    return {"documents": count, "seconds": seconds, "rate": count / seconds}


def rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def memory_child(count: int, batch_size: int) -> None:
    """In a fresh process: backfill `count` documents and print the RSS before and the highest
    RSS seen after any batch, as JSON."""
    call_command("migrate", verbosity=0)
    before = rss_mb()
    peak = [before]

    def sample(done: int, total: int | None) -> None:
        peak[0] = max(peak[0], rss_mb())

    result = run_backfill(count, batch_size, sample)
    print(json.dumps({**result, "rss_before_mb": before, "peak_rss_mb": max(peak[0], rss_mb())}))


def measure_memory(count: int, batch_size: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--memory-child", str(count), "--batch-size", str(batch_size)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--memory-child", type=int)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.batch_size)
        return
    size, small, large, stand_in = (
        (20_000, 5_000, 50_000, 5_000) if args.quick else (200_000, 50_000, 500_000, 20_000)
    )
    call_command("migrate", verbosity=0)
    print(f"benchmark: {size:,} task documents, batch size {args.batch_size}", flush=True)
    copy = run_raw_copy(size)
    print(f"raw COPY done: {copy['rate']:,.0f} docs/s", flush=True)
    reset_tables()
    backfill = run_backfill(size, args.batch_size)
    print(f"backfill done: {backfill['rate']:,.0f} docs/s", flush=True)
    verify = run_verify(size)
    print(f"verify done: {verify['rate']:,.0f} docs/s", flush=True)
    through = run_through_stand_in(stand_in)
    print(f"backfill through the stand-in done: {through['rate']:,.0f} docs/s", flush=True)
    mem_small = measure_memory(small, args.batch_size)
    mem_large = measure_memory(large, args.batch_size)
    ratio_copy = backfill["rate"] / copy["rate"]
    ratio_verify = verify["rate"] / backfill["rate"]
    ratio_memory = mem_large["peak_rss_mb"] / mem_small["peak_rss_mb"]
    rows = [
        ("raw COPY of pre-transformed rows (binary, 3 tables)", f"{size:,}", f"{copy['seconds']:.1f} s", f"{copy['rate']:,.0f} docs/s", ""),
        ("backfill (generator → transform → COPY staging → guarded merge)", f"{size:,}", f"{backfill['seconds']:.1f} s", f"{backfill['rate']:,.0f} docs/s", f"{ratio_copy:.0%} of raw COPY (target ≥ 50%)"),
        ("verify (generator ⋈ rows in mongo_id order, canonical compare)", f"{size:,}", f"{verify['seconds']:.1f} s", f"{verify['rate']:,.0f} docs/s", f"{ratio_verify:.0%} of backfill (target ≥ 50%)"),
        ("backfill through the MongoDB stand-in (mongomock cursor)", f"{stand_in:,}", f"{through['seconds']:.1f} s", f"{through['rate']:,.0f} docs/s", "for scale only: mongomock copies and sorts in Python"),
        ("backfill peak RSS", f"{small:,}", f"{mem_small['seconds']:.1f} s", f"{mem_small['peak_rss_mb']:.0f} MB", f"RSS before the backfill: {mem_small['rss_before_mb']:.0f} MB"),
        ("backfill peak RSS", f"{large:,}", f"{mem_large['seconds']:.1f} s", f"{mem_large['peak_rss_mb']:.0f} MB", f"{ratio_memory:.2f} x the {small:,} run (target <= 1.2 x)"),
    ]  # fmt: skip
    print()
    print("| measurement | documents | time | result | against target |")
    print("|---|---:|---:|---:|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    figures = {"copy": copy, "backfill": backfill, "verify": verify, "stand_in": through}
    figures |= {"memory_small": mem_small, "memory_large": mem_large}
    (RESULTS / f"backfill-{stamp}.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
