"""Named counters (the tasks' display id "#<n>"), one repository per store: a MongoDB document
`{_id: name, seq}` while MongoDB is the truth, a `dualwrite_counters` row in `postgres_only`
(`get_counter_repository` in factory.py picks the phase's). Neither may hand out a number the other
already gave: entering a phase lifts the new store's counter to the other's
(todo.services.phase_service), and in postgres_only the reverse mirror lifts MongoDB's counter to
every display id it writes back."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Any

from django.db import connection, transaction
from pymongo import ReturnDocument

from todo.db.mongo_manager import DatabaseManager
from todo.repositories.errors import RepositoryError

COUNTERS_COLLECTION = "counters"
DISPLAY_ID_COUNTER = "taskDisplayId"
DISPLAY_ID = re.compile(r"^#(\d{1,18})$")


class CounterError(RepositoryError):
    """MongoDB answered a counter's upsert with no document (it always returns one for
    `upsert=True, return_document=AFTER`: a driver or server fault)."""


def display_number(display_id: object) -> int | None:
    """7 for "#7"; None for anything else."""
    found = DISPLAY_ID.match(display_id) if isinstance(display_id, str) else None
    return int(found.group(1)) if found else None


class CounterRepository(ABC):
    """The named counters of one store."""

    @abstractmethod
    def next_value(self, name: str) -> int:
        """The next number of counter `name` (atomic across processes)."""

    @abstractmethod
    def value(self, name: str) -> int:
        """The last number handed out (0 when the counter was never used)."""

    @abstractmethod
    def lift(self, name: str, at_least: int) -> None:
        """The counter is at least `at_least` afterwards (never lowered)."""


class MongoCounterRepository(CounterRepository):
    @property
    def coll(self) -> Any:
        return DatabaseManager.get().get_collection(COUNTERS_COLLECTION)

    def next_value(self, name: str) -> int:
        found = self.coll.find_one_and_update(
            {"_id": name}, {"$inc": {"seq": 1}}, upsert=True, return_document=ReturnDocument.AFTER
        )
        if found is None:
            raise CounterError(f"the upsert of counter {name!r} returned no document")
        return int(found["seq"])

    def value(self, name: str) -> int:
        found = self.coll.find_one({"_id": name})
        return int(found["seq"]) if found else 0

    def lift(self, name: str, at_least: int) -> None:
        self.coll.update_one({"_id": name}, {"$max": {"seq": at_least}}, upsert=True)


class PostgresCounterRepository(CounterRepository):
    def next_value(self, name: str) -> int:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE dualwrite_counters SET value = value + 1 WHERE name = %s RETURNING value", [name]
            )
            row = cursor.fetchone()
            if row is None:  # first use: start above every display id Postgres holds
                cursor.execute(
                    "INSERT INTO dualwrite_counters (name, value) VALUES (%s, %s + 1)"
                    " ON CONFLICT (name) DO UPDATE SET value = dualwrite_counters.value + 1 RETURNING value",
                    [name, self.highest_display_number()],
                )
                row = cursor.fetchone()
            return int(row[0])

    def value(self, name: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT value FROM dualwrite_counters WHERE name = %s", [name])
            row = cursor.fetchone()
            return int(row[0]) if row else 0

    def lift(self, name: str, at_least: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO dualwrite_counters (name, value) VALUES (%s, %s)"
                " ON CONFLICT (name) DO UPDATE SET value = GREATEST(dualwrite_counters.value, EXCLUDED.value)",
                [name, at_least],
            )

    @staticmethod
    def highest_display_number() -> int:
        """The highest "#<n>" of the tasks Postgres holds (0 when none)."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(max(substring(display_id from 2)::bigint), 0) FROM postgres_tasks"
                " WHERE display_id ~ '^#[0-9]{1,18}$'"
            )
            return int(cursor.fetchone()[0])
