"""`manage.py seed`: write the reference data (default labels and roles) idempotently."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from todo.services.seed_service import seed_reference_data


class Command(BaseCommand):
    help = "Create the default labels and roles that do not exist yet (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = seed_reference_data()
        self.stdout.write(f"Seeded {result.labels_created} labels and {result.roles_created} roles")
