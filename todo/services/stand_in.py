"""Keeping the embedded defaults' data across restarts (MongoDB = the in-process stand-in).

The stand-in lives in the service's process; the Postgres mirror is kept in DATA_DIR. So:
- at start (`manage.py prepare`, before anything reads or writes MongoDB, before `serve` takes a
  request) the empty stand-in is rebuilt from the mirror (`dualwrite.restore`); the counters that
  are not mirrored are recomputed: the display-id counter continues above the highest `displayId`
  of the mirror and above the value kept at the last graceful stop; row statuses left PENDING or
  FAILED by a retry queue that died with the last process read SYNCED again (the rebuilt document
  is the row).
- at a graceful stop (`serve`, after the retry queue's drain) the display-id counter is kept in
  Postgres, so that a number of a task deleted since is not handed out again after the restart.
"""

from __future__ import annotations

import logging

from django.db import connection

from dualwrite.mirror_sql import quote
from dualwrite.restore import RestoreReport, restore_documents
from todo.db.mongo_manager import DatabaseManager
from todo.mappings import get_registry
from todo.models.postgres.base import SyncStatus
from todo.repositories.counters import DISPLAY_ID_COUNTER, MongoCounterRepository, PostgresCounterRepository

logger = logging.getLogger(__name__)


def rebuild_from_mirror() -> RestoreReport:
    """Fill the empty stand-in from the mirror (RestoreRefused when it holds documents already)."""
    report = restore_documents(get_registry(), DatabaseManager.get().get_collection)
    postgres = PostgresCounterRepository()
    floor = max(postgres.highest_display_number(), postgres.value(DISPLAY_ID_COUNTER))
    if floor:
        MongoCounterRepository().lift(DISPLAY_ID_COUNTER, floor)
    settled = _settle_row_statuses()
    if settled:
        logger.info(
            "stand-in rebuilt: %d row status(es) PENDING/FAILED of a lost retry queue now SYNCED", settled
        )
    return report


def _settle_row_statuses() -> int:
    """Live rows marked PENDING or FAILED by the last process's retry queue (lost with it): the
    rebuilt document is the row, so they are in sync."""
    settled = 0
    with connection.cursor() as cursor:
        for mapping in get_registry():
            cursor.execute(
                f"UPDATE {quote(mapping.table)} SET sync_status = %s, sync_error = NULL"
                " WHERE NOT source_deleted AND sync_status IN (%s, %s)",
                [SyncStatus.SYNCED, SyncStatus.PENDING, SyncStatus.FAILED],
            )
            settled += cursor.rowcount
    return settled


def keep_counters() -> int:
    """At a graceful stop: keep the stand-in's display-id counter in Postgres (never lowered);
    returns the value kept."""
    value = MongoCounterRepository().value(DISPLAY_ID_COUNTER)
    if value:
        PostgresCounterRepository().lift(DISPLAY_ID_COUNTER, value)
    return value
