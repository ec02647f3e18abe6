"""The migration phases, and what the current one implies (a runtime flag: todo.runtime_flags)."""

from __future__ import annotations

from django.conf import settings

from todo import runtime_flags

DUAL_WRITE, READ_MIGRATION, POSTGRES_ONLY = "dual_write", "read_migration", "postgres_only"
PHASES = (DUAL_WRITE, READ_MIGRATION, POSTGRES_ONLY)


class PhaseNotReady(Exception):
    """The data is not ready for the configured phase (todo.services.phase_service); one line."""


def current_phase() -> str:
    """The phase this process serves in now (stored flag, else MIGRATION_PHASE)."""
    return runtime_flags.phase()


def mongodb_is_truth() -> bool:
    """MongoDB is the store of record (dual_write, read_migration)."""
    return current_phase() != POSTGRES_ONLY


def mongodb_retired() -> bool:
    """postgres_only with MongoDB gone: nothing may connect to it."""
    return current_phase() == POSTGRES_ONLY and bool(settings.MONGODB_RETIRED)


def reverse_mirroring() -> bool:
    """postgres_only with MongoDB still there: every Postgres write is written back to it."""
    return current_phase() == POSTGRES_ONLY and not settings.MONGODB_RETIRED


def mongodb_in_process() -> bool:
    """MongoDB is the in-process stand-in (MONGODB_URI unset, not retired): its data lives inside
    the running service, so other processes cannot see it."""
    return settings.MONGODB_URI is None and not settings.MONGODB_RETIRED
