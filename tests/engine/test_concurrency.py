"""Concurrent writers: Postgres ends equal to MongoDB's final state whatever order the mirror
writes land in."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest
from bson import ObjectId
from django.db import connections

from dualwrite.sink import PostgresSink
from tests.engine.helpers import mirror_differences
from todo.services.dual_write_service import DualWriteService
from todo.wiring import build_engine

pytestmark = pytest.mark.django_db(transaction=True)

THREADS, UPDATES, DOCUMENTS = 8, 200, 20


class ShufflingSink(PostgresSink):
    """Delays each Postgres write by a random moment, so that writes made in one order against
    MongoDB reach Postgres in another."""

    def upsert(self, mapping: Any, rowsets: Any) -> set[str]:
        time.sleep(random.uniform(0, 0.03))
        return super().upsert(mapping, rowsets)


def test_8_threads_x_200_updates_on_20_documents_end_equal(dual_write) -> None:
    ids = [str(ObjectId()) for _ in range(DOCUMENTS)]
    for mongo_id in ids:
        dual_write.create_document(
            collection_name="tasks", data={"title": "start", "labels": []}, mongo_id=mongo_id
        )
    engine = build_engine()
    engine.sink = ShufflingSink()
    service = DualWriteService(engine)
    errors: list[BaseException] = []
    landed: list[bool] = []

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for i in range(UPDATES):
                fields = {
                    "title": f"t{seed}-{i}",
                    "priority": rng.choice([1, 2, 3]),
                    "labels": [ObjectId() for _ in range(rng.randint(0, 2))],
                }
                landed.append(
                    service.update_document(collection_name="tasks", mongo_id=rng.choice(ids), data=fields)
                )
        except Exception as exc:  # noqa: BLE001 - handed to the main thread, which fails the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(landed) == THREADS * UPDATES and all(landed)
    assert mirror_differences("tasks", ids) == {}
