"""`manage.py prepare`: everything the service needs before it serves, once per deployment (not
per web process): migrate Postgres, rebuild the in-process MongoDB stand-in from the mirror (when
it is used), enter the configured migration phase (refused with one line
when the data is not ready), create MongoDB's indexes, seed the default labels and roles.
`manage.py serve` runs it itself; with gunicorn, run it before starting the web processes."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from pymongo.errors import PyMongoError

from todo.db.mongo_manager import DatabaseManager
from todo.phases import mongodb_in_process, mongodb_is_truth, mongodb_retired
from todo.services import phase_service, stand_in


class Command(BaseCommand):
    help = "Migrate, enter the migration phase, create MongoDB indexes and seed reference data."

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        if mongodb_in_process():
            self._rebuild_stand_in()
        change = phase_service.enter()  # PhaseNotReady: one line, exit 2 (manage.py)
        if change.changes:
            self.stdout.write(f"Migration phase: entered {change.target} (was {change.recorded or 'none'})")
        self._ensure_mongodb_indexes()
        call_command("seed", stdout=self.stdout)  # the default labels and roles, idempotently

    def _rebuild_stand_in(self) -> None:
        """The in-process stand-in starts empty: rebuild it from the kept Postgres mirror first
        (before the phase, the indexes and the seed read or write MongoDB)."""
        report = stand_in.rebuild_from_mirror()
        collections = ", ".join(f"{name} {count}" for name, count in report.documents.items() if count)
        self.stdout.write(
            f"MongoDB stand-in: rebuilt from the PostgreSQL mirror, {report.total} documents"
            f" in {report.seconds:.1f} s" + (f" ({collections})" if collections else "")
        )

    def _ensure_mongodb_indexes(self) -> None:
        """MongoDB's indexes; in postgres_only a MongoDB that does not answer stops nothing (its
        writes back wait in Postgres)."""
        if mongodb_retired():
            return
        try:
            DatabaseManager.get().ensure_indexes()
        except PyMongoError as exc:
            if mongodb_is_truth():
                raise
            self.stdout.write(
                f"MongoDB: unreachable ({type(exc).__name__}); writes back to it wait in Postgres"
            )
