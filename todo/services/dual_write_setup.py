"""Builds the dual-write engine, retry queue and worker from settings (the one place that wires
the generic engine to this app's mapping, MongoDB connection manager and alert hook)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string
from pymongo.collection import Collection

from dualwrite.engine import AlertHook, DualWriteEngine
from dualwrite.mapping import CollectionMapping
from dualwrite.policy import RetryPolicy
from dualwrite.queue import QUEUE_COLLECTION, RetryQueue
from dualwrite.reverse import ReverseMirror
from dualwrite.sink import PostgresSink
from dualwrite.worker import RetryWorker
from todo.db.mongo_manager import DatabaseManager
from todo.mappings import get_registry
from todo.phases import POSTGRES_ONLY, current_phase
from todo.repositories.counters import DISPLAY_ID_COUNTER, MongoCounterRepository, display_number


def _collection(name: str) -> Collection[dict[str, Any]]:
    return DatabaseManager.get().get_collection(name)


def retry_policy() -> RetryPolicy:
    return RetryPolicy(
        attempts=settings.DUAL_WRITE_RETRY_ATTEMPTS, base_delay=settings.DUAL_WRITE_RETRY_DELAY
    )


def build_queue() -> RetryQueue:
    return RetryQueue(lambda: _collection(QUEUE_COLLECTION), retry_policy())


def _alert_hook() -> AlertHook | None:
    path = settings.DUAL_WRITE_ALERT_HOOK
    return None if path is None else import_string(path)


def build_engine() -> DualWriteEngine:
    return DualWriteEngine(
        registry=get_registry(),
        source=_collection,
        queue=build_queue(),
        policy=retry_policy(),
        sink=PostgresSink(
            lock_timeout_ms=settings.DUAL_WRITE_LOCK_TIMEOUT_MS,
            statement_timeout_ms=settings.DUAL_WRITE_STATEMENT_TIMEOUT_MS,
        ),
        enabled=settings.DUAL_WRITE_ENABLED,
        alert=_alert_hook(),
        read_only=current_phase() == POSTGRES_ONLY,
    )


def build_worker(engine: DualWriteEngine | None = None, name: str | None = None) -> RetryWorker:
    return RetryWorker(engine or build_engine(), lease_seconds=settings.DUAL_WRITE_LEASE_SECONDS, name=name)


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
        _collection,
        sink=PostgresSink(
            lock_timeout_ms=settings.DUAL_WRITE_LOCK_TIMEOUT_MS,
            statement_timeout_ms=settings.DUAL_WRITE_STATEMENT_TIMEOUT_MS,
        ),
        retry_delay=max(settings.DUAL_WRITE_RETRY_DELAY, 1.0),
        after_push=_lift_display_counter,
    )
