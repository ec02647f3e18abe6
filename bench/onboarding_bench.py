"""Onboarding an existing deployment: backfill and verify of a generated legacy database (every
collection, the legacy quirks of tests/legacy/dataset.py), printed as a table (one run).

    .venv/bin/python bench/onboarding_bench.py                 # about 100,000 documents
    .venv/bin/python bench/onboarding_bench.py --documents 20000

The legacy database is written into the in-process MongoDB stand-in (mongomock) under the existing
app's physical collection names. Then, in the same run:

- baseline 1: reading every collection from the stand-in alone (the backfill's query: `_id` range,
  sorted by `_id`, in batches), no transform, no Postgres: the stand-in's share;
- baseline 2: the mapping's transform alone (`document_to_rows`) over the same documents;
- the backfill of every collection through the builder the CLI uses (`build_backfiller`: cursor,
  transform, COPY into staging, guarded merge, checkpoint per batch, planted duplicates refused by
  Postgres and queued);
- verify of every collection (`build_verifier`).

Memory is the process's peak RSS (`resource.getrusage`), which includes the generated documents
held by the stand-in; the RSS before the backfill is printed beside it. The machine's load average
is printed at the start and the end: figures from a loaded machine are not comparable.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
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
from django.core.management import call_command  # noqa: E402
from pymongo import ASCENDING  # noqa: E402

from dualwrite.backfill import DEFAULT_BATCH_SIZE  # noqa: E402
from dualwrite.checkpoint import MIN_OBJECT_ID  # noqa: E402
from dualwrite.transform import document_to_rows  # noqa: E402
from tests.legacy.dataset import generate, users_for  # noqa: E402
from todo.db.mongo_manager import DatabaseManager  # noqa: E402
from todo.mappings import get_registry  # noqa: E402
from todo.wiring import build_backfiller, build_verifier  # noqa: E402


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min, {os.cpu_count()} CPUs)"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def _cursor(name: str, batch_size: int) -> Any:
    coll = DatabaseManager.get().get_collection(name)
    return coll.find({"_id": {"$gte": MIN_OBJECT_ID}}).sort("_id", ASCENDING).batch_size(batch_size)


def read_alone(batch_size: int) -> dict[str, float]:
    """Seconds per collection to read every document from the stand-in, nothing else."""
    seconds = {}
    for mapping in get_registry():
        started = time.perf_counter()
        for _document in _cursor(mapping.collection, batch_size):
            pass
        seconds[mapping.collection] = time.perf_counter() - started
    return seconds


def transform_alone(batch_size: int) -> dict[str, float]:
    """Seconds per collection in `document_to_rows` alone (the reading is not timed)."""
    seconds = {}
    for mapping in get_registry():
        spent = 0.0
        for document in _cursor(mapping.collection, batch_size):
            started = time.perf_counter()
            document_to_rows(mapping, document)
            spent += time.perf_counter() - started
        seconds[mapping.collection] = spent
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"load average at start: {load_average()}", flush=True)
    call_command("migrate", verbosity=0)
    manager = DatabaseManager.get()
    manager.client.drop_database(manager.db_name)
    started = time.perf_counter()
    summary = generate(manager.db, seed=args.seed, users=users_for(args.documents))
    manager.ensure_indexes()
    print(
        f"generated {summary.total:,} legacy documents in {time.perf_counter() - started:.1f} s", flush=True
    )
    registry = list(get_registry())
    counts = {m.collection: summary.mirrored(m.collection) for m in registry}
    mirrored = sum(counts.values())

    reads = read_alone(args.batch_size)
    print(f"stand-in read alone done: {sum(reads.values()):.1f} s", flush=True)
    transforms = transform_alone(args.batch_size)
    print(f"transform alone done: {sum(transforms.values()):.1f} s", flush=True)

    rss_before = rss_mb()
    backfiller = build_backfiller(args.batch_size)
    backfill: dict[str, Any] = {}
    started = time.perf_counter()
    for mapping in registry:
        report = backfiller.run(mapping)
        assert report.finished and report.processed == counts[mapping.collection], report.as_dict()
        backfill[mapping.collection] = report
    backfill_seconds = time.perf_counter() - started
    peak_after_backfill = peak_rss_mb()
    print(f"backfill done: {mirrored / backfill_seconds:,.0f} docs/s", flush=True)

    verifier = build_verifier()
    verify: dict[str, Any] = {}
    started = time.perf_counter()
    for mapping in registry:
        verify[mapping.collection] = verifier.run(mapping)
    verify_seconds = time.perf_counter() - started
    print(f"verify done: {mirrored / verify_seconds:,.0f} docs/s", flush=True)
    drift = {name: r.drift for name, r in verify.items() if r.drift}
    losers = {
        m.collection: len(summary.losers(m.collection)) for m in registry if summary.losers(m.collection)
    }

    print()
    print(
        f"{mirrored:,} mirrored documents in {len(registry)} collections (+ {summary.documents['counters']} counter),"
        f" batch size {args.batch_size}, seed {args.seed}"
    )
    print(
        "| collection | documents | stand-in read | transform | backfill | backfill docs/s | rejected | verify docs/s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for mapping in registry:
        name, n = mapping.collection, counts[mapping.collection]
        b, v = backfill[name], verify[name]
        print(
            f"| {name} | {n:,} | {reads[name]:.2f} s | {transforms[name]:.2f} s | {b.seconds:.2f} s"
            f" | {n / b.seconds if b.seconds else 0:,.0f} | {b.rejected} | {n / v.seconds if v.seconds else 0:,.0f} |"
        )
    read_total, transform_total = sum(reads.values()), sum(transforms.values())
    print(
        f"| **all** | {mirrored:,} | {read_total:.1f} s | {transform_total:.1f} s | {backfill_seconds:.1f} s"
        f" | {mirrored / backfill_seconds:,.0f} | {sum(b.rejected for b in backfill.values())}"
        f" | {mirrored / verify_seconds:,.0f} |"
    )
    print()
    print(
        f"stand-in read alone: {read_total:.1f} s = {read_total / backfill_seconds:.0%} of the backfill's time"
        f" ({mirrored / read_total:,.0f} docs/s); transform alone: {transform_total / backfill_seconds:.0%};"
        f" the rest (Postgres COPY + merge, checkpoints, the stand-in's count/extent queries):"
        f" {max(backfill_seconds - read_total - transform_total, 0.0):.1f} s"
    )
    print(
        f"verify: {verify_seconds:.1f} s = {mirrored / verify_seconds:,.0f} docs/s; drift {drift or 'none'}"
    )
    print(
        f"planted duplicate losers: {losers} (not mirrored by the duplicate rule; verify reports them invalid)"
    )
    print(f"memory: RSS before the backfill {rss_before:.0f} MB (the stand-in holds the data);")
    print(
        f"        peak RSS after the backfill {peak_after_backfill:.0f} MB, after verify {peak_rss_mb():.0f} MB"
    )
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
