from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

import pytest
from bson import ObjectId

from todo.db.mongo_manager import DatabaseManager

LABELS = [ObjectId() for _ in range(8)]
USERS = [ObjectId() for _ in range(5)]


def task_document(rng: random.Random, number: int, oid: ObjectId | None = None) -> dict[str, Any]:
    """A task as the app stores it, with a few legacy forms mixed in (string ids, ISO dates)."""
    created = dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=number)
    creator = rng.choice(USERS)
    document: dict[str, Any] = {
        "_id": oid or ObjectId(),
        "_v": rng.randint(1, 5),
        "displayId": f"#{number}",
        "title": f"task {number}",
        "description": None if number % 3 else f"details of {number}",
        "priority": rng.choice([1, 2, 3]),
        "status": rng.choice(["TODO", "IN_PROGRESS", "BLOCKED", "DONE"]),
        "labels": rng.sample(LABELS, rng.randint(0, 3)),
        "isDeleted": False,
        "isAcknowledged": rng.random() < 0.5,
        "createdAt": created if number % 7 else created.isoformat(),
        "updatedAt": created,
        "createdBy": creator if number % 5 else str(creator),
        "updatedBy": creator,
    }
    if number % 4 == 0:
        document["deferredDetails"] = {"deferredAt": created, "deferredTill": created, "deferredBy": creator}
    return document


@pytest.fixture
def ops_db(mongo_db: DatabaseManager, settings) -> Iterator[DatabaseManager]:
    """An empty MongoDB with the declared indexes; retries are due at once."""
    settings.DUAL_WRITE_RETRY_DELAY = 0
    mongo_db.ensure_indexes()
    yield mongo_db


@pytest.fixture
def tasks(ops_db: DatabaseManager) -> Any:
    return ops_db.get_collection("tasks")


def insert_tasks(collection: Any, count: int, seed: int = 1, *, spread: bool = False) -> list[ObjectId]:
    """`count` tasks; with `spread`, their ids are one second apart (documents created over time;
    ids made in one burst may straddle a second and leave part of the id range empty)."""
    rng = random.Random(seed)
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    documents = [
        task_document(rng, n, ObjectId.from_datetime(start + dt.timedelta(seconds=n)) if spread else None)
        for n in range(count)
    ]
    collection.insert_many(documents)
    return [d["_id"] for d in documents]
