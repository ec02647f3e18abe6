"""Builds the operations tools (backfill, verify, status, history) from settings: the one place
that wires the generic engine's operations to this app's mapping and MongoDB connection manager."""

from __future__ import annotations

import functools
import logging
from typing import Any

from django.utils import timezone
from pymongo.collection import Collection

from dualwrite.backfill import DEFAULT_BATCH_SIZE, Backfiller
from dualwrite.checkpoint import CHECKPOINT_COLLECTION, CheckpointStore
from dualwrite.history import HISTORY_COLLECTION, HistorySampler, WriteHistory
from dualwrite.mapping import CollectionMapping
from dualwrite.operations import UPDATE
from dualwrite.policy import ErrorKind
from dualwrite.reconcile import Reconciler
from dualwrite.reports import REPORT_COLLECTION, ReportStore
from dualwrite.reverse import ReverseDiff
from dualwrite.sink import PostgresSink
from dualwrite.status import StatusReader
from dualwrite.verify import Verifier
from todo.db.mongo_manager import DatabaseManager
from todo.mappings import get_registry
from todo.models.postgres.operations import ReverseVerifyReport
from todo.services.dual_write_setup import build_queue, build_reverse_mirror

logger = logging.getLogger(__name__)


def _collection(name: str) -> Collection[dict[str, Any]]:
    return DatabaseManager.get().get_collection(name)


def build_checkpoints() -> CheckpointStore:
    return CheckpointStore(lambda: _collection(CHECKPOINT_COLLECTION))


def build_reports() -> ReportStore:
    return ReportStore(lambda: _collection(REPORT_COLLECTION))


def build_history() -> WriteHistory:
    return WriteHistory(lambda: _collection(HISTORY_COLLECTION))


def _record_rejected(mapping: CollectionMapping, mongo_id: str, error: str, kind: ErrorKind) -> None:
    """A document backfill could not write goes to the retry queue, like a failed live write:
    FAILED when the mapping cannot hold it, PENDING (retried by the worker) when Postgres refused it."""
    build_queue().record_failure(mapping.collection, mongo_id, UPDATE, error, kind, counts=True)


def build_backfiller(batch_size: int = DEFAULT_BATCH_SIZE) -> Backfiller:
    return Backfiller(
        source=_collection,
        checkpoints=build_checkpoints(),
        batch_size=batch_size,
        on_reject=_record_rejected,
        reconciler=Reconciler(PostgresSink(), _collection),
    )


def build_verifier() -> Verifier:
    return Verifier(source=_collection, reports=build_reports())


def build_status() -> StatusReader:
    return StatusReader(
        registry=get_registry(),
        source=_collection,
        queue=build_queue(),
        reports=build_reports(),
        checkpoints=build_checkpoints(),
    )


@functools.cache
def history_sampler() -> HistorySampler:
    """This process's sampler of its engine counters into the write history."""
    return HistorySampler(build_history())


def save_reverse_report(diff: ReverseDiff) -> ReverseVerifyReport:
    """Keep a reverse verify's result in Postgres (postgres_only needs no MongoDB for its state)."""
    return ReverseVerifyReport.objects.create(
        collection=diff.collection,
        finished_at=timezone.now(),
        checked=diff.checked,
        missing=len(diff.missing),
        extra=len(diff.extra),
        differing=len(diff.differing),
        repaired=diff.repaired,
        sample_ids=diff.sample_ids,
    )


def reverse_verify(mapping: CollectionMapping, *, repair: bool) -> ReverseDiff:
    """postgres_only: compare Postgres (the truth) with MongoDB, with `repair` queue the drifting
    rows to be written back, and keep the result (`verify --reverse` and the dashboard's jobs)."""
    diff = build_reverse_mirror().verify(mapping, repair=repair)
    save_reverse_report(diff)
    return diff
