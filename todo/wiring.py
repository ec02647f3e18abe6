"""The one place that wires the generic engine (`dualwrite/`) to this app: its mapping, the MongoDB
connection manager, the settings and the alert hook.

Everything that needs an engine part asks here: the dual-write engine (one per process and phase,
cached: `dual_write_engine()`), its retry queue and worker, the reverse mirror of postgres_only,
and the operations tools (backfill, verify, status, history).

The cached engine is rebuilt when a setting changes (Django's `setting_changed`, which tests'
`settings` fixture sends) and after `reset_engine()`; the phase is part of its key, so that a
runtime move to or from postgres_only gets an engine that is (or is no longer) read-only.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import timezone
from django.utils.module_loading import import_string
from pymongo.collection import Collection

from dualwrite.backfill import DEFAULT_BATCH_SIZE, Backfiller
from dualwrite.checkpoint import CHECKPOINT_COLLECTION, CheckpointStore
from dualwrite.engine import AlertHook, DualWriteEngine
from dualwrite.history import HISTORY_COLLECTION, HistorySampler, WriteHistory
from dualwrite.mapping import CollectionMapping
from dualwrite.operations import UPDATE
from dualwrite.policy import ErrorKind, RetryPolicy
from dualwrite.queue import QUEUE_COLLECTION, RetryQueue
from dualwrite.reconcile import Reconciler
from dualwrite.reports import REPORT_COLLECTION, ReportStore
from dualwrite.reverse import ReverseDiff, ReverseMirror
from dualwrite.sink import PostgresSink
from dualwrite.status import StatusReader
from dualwrite.verify import Verifier
from dualwrite.worker import RetryWorker
from todo.db.mongo_manager import DatabaseManager
from todo.mappings import get_registry
from todo.models.postgres.operations import ReverseVerifyReport
from todo.phases import POSTGRES_ONLY, current_phase
from todo.repositories.counters import DISPLAY_ID_COUNTER, MongoCounterRepository, display_number


def collection(name: str) -> Collection[dict[str, Any]]:
    """A MongoDB collection of the process's connection manager (the engine's `source`)."""
    return DatabaseManager.get().get_collection(name)


# == the write path ===============================================================================
def retry_policy() -> RetryPolicy:
    return RetryPolicy(
        attempts=settings.DUAL_WRITE_RETRY_ATTEMPTS, base_delay=settings.DUAL_WRITE_RETRY_DELAY
    )


def build_queue() -> RetryQueue:
    return RetryQueue(lambda: collection(QUEUE_COLLECTION), retry_policy())


def _alert_hook() -> AlertHook | None:
    path = settings.DUAL_WRITE_ALERT_HOOK
    return None if path is None else import_string(path)


def _live_sink() -> PostgresSink:
    """The sink of in-request writes, bounded by the lock and statement timeouts."""
    return PostgresSink(
        lock_timeout_ms=settings.DUAL_WRITE_LOCK_TIMEOUT_MS,
        statement_timeout_ms=settings.DUAL_WRITE_STATEMENT_TIMEOUT_MS,
    )


def build_engine(*, read_only: bool | None = None) -> DualWriteEngine:
    """A new engine from the settings (read-only when the phase is postgres_only, unless told).
    The app uses the cached `dual_write_engine()`; a new one is for callers that need their own."""
    return DualWriteEngine(
        registry=get_registry(),
        source=collection,
        queue=build_queue(),
        policy=retry_policy(),
        sink=_live_sink(),
        enabled=settings.DUAL_WRITE_ENABLED,
        alert=_alert_hook(),
        read_only=current_phase() == POSTGRES_ONLY if read_only is None else read_only,
    )


_engines: dict[bool, DualWriteEngine] = {}
_engines_lock = threading.Lock()


def dual_write_engine() -> DualWriteEngine:
    """This process's engine for the current phase (built once, see the module docstring)."""
    read_only = current_phase() == POSTGRES_ONLY
    cached = _engines.get(read_only)
    if cached is not None:
        return cached
    with _engines_lock:
        if read_only not in _engines:
            _engines[read_only] = build_engine(read_only=read_only)
        return _engines[read_only]


def reset_engine() -> None:
    """Forget the cached engine: the next `dual_write_engine()` reads the settings anew."""
    with _engines_lock:
        _engines.clear()


@receiver(setting_changed)
def _settings_changed(**_: object) -> None:
    reset_engine()


def build_worker(engine: DualWriteEngine | None = None, name: str | None = None) -> RetryWorker:
    return RetryWorker(
        engine or dual_write_engine(), lease_seconds=settings.DUAL_WRITE_LEASE_SECONDS, name=name
    )


def _lift_display_counter(mapping: CollectionMapping, document: dict[str, Any]) -> None:
    """A task written back to MongoDB lifts MongoDB's display-id counter to its number, so that a
    rollback never hands out a number postgres_only already gave."""
    if mapping.collection == "tasks":
        number = display_number(document.get("displayId"))
        if number is not None:
            MongoCounterRepository().lift(DISPLAY_ID_COUNTER, number)


def build_reverse_mirror() -> ReverseMirror:
    """postgres_only: the writer of Postgres rows back to MongoDB."""
    return ReverseMirror(
        get_registry(),
        collection,
        sink=_live_sink(),
        retry_delay=max(settings.DUAL_WRITE_RETRY_DELAY, 1.0),
        after_push=_lift_display_counter,
    )


# == operations ===================================================================================
def build_checkpoints() -> CheckpointStore:
    return CheckpointStore(lambda: collection(CHECKPOINT_COLLECTION))


def build_reports() -> ReportStore:
    return ReportStore(lambda: collection(REPORT_COLLECTION))


def build_history() -> WriteHistory:
    return WriteHistory(lambda: collection(HISTORY_COLLECTION))


def _record_rejected(mapping: CollectionMapping, mongo_id: str, error: str, kind: ErrorKind) -> None:
    """A document backfill could not write goes to the retry queue, like a failed live write:
    FAILED when the mapping cannot hold it, PENDING (retried by the worker) when Postgres refused it."""
    build_queue().record_failure(mapping.collection, mongo_id, UPDATE, error, kind, counts=True)


def build_backfiller(batch_size: int = DEFAULT_BATCH_SIZE) -> Backfiller:
    return Backfiller(
        source=collection,
        checkpoints=build_checkpoints(),
        batch_size=batch_size,
        on_reject=_record_rejected,
        reconciler=Reconciler(PostgresSink(), collection),
    )


def build_verifier() -> Verifier:
    return Verifier(source=collection, reports=build_reports())


def build_status() -> StatusReader:
    return StatusReader(
        registry=get_registry(),
        source=collection,
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
