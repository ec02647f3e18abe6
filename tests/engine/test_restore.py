"""The embedded defaults keep their data: the in-process MongoDB stand-in, lost with its process, is
rebuilt from the kept Postgres mirror (`todo.services.stand_in`), and a graceful stop drains the
retry queue first (`dualwrite.drain`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from bson import ObjectId
from django.db import connection

from dualwrite.drain import drain
from dualwrite.mapping import PENDING_MARK_FIELD
from dualwrite.restore import RestoreRefused
from dualwrite.transform import canonical_document
from tests.conftest import wait_for_postgres
from tests.engine.helpers import mirror_differences
from todo.db.mongo_manager import DatabaseManager
from todo.mappings import get_registry
from todo.repositories.counters import DISPLAY_ID_COUNTER
from todo.repositories.factory import get_counter_repository
from todo.services import stand_in
from todo.wiring import build_verifier, build_worker

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.stand_in_only(reason="rebuilds the in-process MongoDB from the mirror"),
]


def _snapshot() -> dict[str, dict[str, tuple[Any, Any, dict[str, Any]]]]:
    """{collection: {id: (version, generation, canonical document)}} of what MongoDB holds."""
    manager = DatabaseManager.get()
    out: dict[str, dict[str, tuple[Any, Any, dict[str, Any]]]] = {}
    for mapping in get_registry():
        out[mapping.collection] = {
            str(d["_id"]): (d.get("_v"), d.get("_gen"), canonical_document(mapping, d))
            for d in manager.get_collection(mapping.collection).find({})
        }
    return out


def _lose_the_stand_in(mongo_db: DatabaseManager) -> None:
    """What a restart does to the in-process MongoDB: everything is gone."""
    mongo_db.client.drop_database(mongo_db.db_name)


def _write_a_bit_of_everything(service: Any) -> dict[str, list[str]]:
    users = [str(ObjectId()) for _ in range(3)]
    for index, user_id in enumerate(users):
        assert service.create_document(
            collection_name="users",
            data={"google_id": f"g{index}", "email_id": f"u{index}@example.com", "name": f"U{index}",
                  "token_version": index},  # an undeclared key: kept in the row's `extra`
            mongo_id=user_id,
        )  # fmt: skip
    labels = [ObjectId(), ObjectId()]
    tasks = [str(ObjectId()) for _ in range(6)]
    for index, task_id in enumerate(tasks):
        assert service.create_document(
            collection_name="tasks",
            data={"title": f"task {index}", "displayId": f"#{index + 1}", "labels": labels[: index % 3],
                  "createdBy": users[0], "priority": 1 + index % 3},
            mongo_id=task_id,
        )  # fmt: skip
    for task_id in tasks[:3]:  # later versions
        assert service.update_document(collection_name="tasks", mongo_id=task_id, data={"title": "edited"})
        assert service.update_document(collection_name="tasks", mongo_id=task_id, data={"status": "DONE"})
    assert service.update_document(
        collection_name="tasks",
        mongo_id=tasks[3],
        data={"deferredDetails": {"deferredAt": "2030-01-01T00:00:00Z", "deferredTill": "2030-02-01T00:00:00Z",
                                  "deferredBy": ObjectId(users[1])}},
    )  # fmt: skip
    deleted = tasks[4:]
    for task_id in deleted:  # tombstones: not documents
        assert service.delete_document(collection_name="tasks", mongo_id=task_id)
    team = str(ObjectId())
    assert service.create_document(
        collection_name="teams", data={"name": "Platform", "invite_code": "ABC123", "created_by": users[0]},
        mongo_id=team,
    )  # fmt: skip
    return {"users": users, "tasks": tasks, "deleted": deleted, "teams": [team]}


def test_the_rebuilt_stand_in_holds_every_live_document_at_its_version_and_verifies_equal(
    dual_write, mongo_db: DatabaseManager
) -> None:
    written = _write_a_bit_of_everything(dual_write)
    before = _snapshot()
    assert len(before["tasks"]) == 4
    _lose_the_stand_in(mongo_db)

    report = stand_in.rebuild_from_mirror()

    assert (
        report.documents["tasks"] == 4 and report.documents["users"] == 3 and report.documents["teams"] == 1
    )
    after = _snapshot()
    assert after == before  # same ids, versions, generations and contents; no deleted task back
    for task_id in written["deleted"]:
        assert task_id not in after["tasks"]
    tasks = mongo_db.get_collection("tasks")
    assert tasks.count_documents({PENDING_MARK_FIELD: {"$exists": True}}) == 0
    user = mongo_db.get_collection("users").find_one({"_id": ObjectId(written["users"][2])})
    assert user is not None and user["token_version"] == 2
    verifier = build_verifier()
    for mapping in get_registry():
        assert verifier.run(mapping).equal, mapping.collection
    # Later writes continue the documents' lives: the next version, mirrored as usual.
    edited = written["tasks"][0]
    assert dual_write.update_document(collection_name="tasks", mongo_id=edited, data={"title": "again"})
    assert tasks.find_one({"_id": ObjectId(edited)})["_v"] == before["tasks"][edited][0] + 1
    assert mirror_differences("tasks", written["tasks"]) == {}
    assert dual_write.get_sync_status("tasks", edited) == "SYNCED"


def test_a_rebuild_never_writes_into_a_stand_in_that_holds_documents(dual_write, mongo_db) -> None:
    _write_a_bit_of_everything(dual_write)
    count = mongo_db.get_collection("tasks").count_documents({})
    with pytest.raises(RestoreRefused, match="tasks"):
        stand_in.rebuild_from_mirror()
    assert mongo_db.get_collection("tasks").count_documents({}) == count


def test_the_display_id_counter_continues_above_the_mirror_and_the_kept_value(dual_write, mongo_db) -> None:
    for number in (3, 7):
        assert dual_write.create_document(
            collection_name="tasks", data={"title": "t", "displayId": f"#{number}"}, mongo_id=str(ObjectId())
        )
    _lose_the_stand_in(mongo_db)
    stand_in.rebuild_from_mirror()
    assert get_counter_repository().next_value(DISPLAY_ID_COUNTER) == 8

    # A stop keeps the counter (a task with #9..#11 may have been deleted since); the next start
    # continues above it, not above the highest display id left.
    for _ in range(3):
        get_counter_repository().next_value(DISPLAY_ID_COUNTER)
    assert stand_in.keep_counters() == 11
    _lose_the_stand_in(mongo_db)
    stand_in.rebuild_from_mirror()
    assert get_counter_repository().next_value(DISPLAY_ID_COUNTER) == 12


def test_row_statuses_of_a_lost_retry_queue_read_synced_after_the_rebuild(dual_write, mongo_db) -> None:
    task_id = str(ObjectId())
    assert dual_write.create_document(collection_name="tasks", data={"title": "t"}, mongo_id=task_id)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE postgres_tasks SET sync_status = 'FAILED', sync_error = 'x' WHERE mongo_id = %s",
            [task_id],
        )
    _lose_the_stand_in(mongo_db)
    stand_in.rebuild_from_mirror()
    with connection.cursor() as cursor:
        cursor.execute("SELECT sync_status, sync_error FROM postgres_tasks WHERE mongo_id = %s", [task_id])
        assert cursor.fetchone() == ("SYNCED", None)
    assert dual_write.get_sync_status("tasks", task_id) == "SYNCED"


def test_the_drain_mirrors_every_queued_write_whatever_its_back_off(
    dual_write, embedded_postgres, settings
) -> None:
    settings.DUAL_WRITE_RETRY_DELAY = 3600  # queued records are not due for an hour
    ids = [str(ObjectId()) for _ in range(30)]
    embedded_postgres.stop()
    try:
        for task_id in ids:
            assert (
                dual_write.create_document(collection_name="tasks", data={"title": "q"}, mongo_id=task_id)
                is False
            )
        assert dual_write.delete_document(collection_name="tasks", mongo_id=ids[0]) is False
    finally:
        embedded_postgres.start()
    wait_for_postgres()
    assert dual_write.get_sync_metrics()["backlog"]["pending"] == 30

    outcome = drain(build_worker(), 20.0)

    assert (outcome.applied, outcome.left, outcome.timed_out) == (30, 0, False)
    assert mirror_differences("tasks", ids) == {}


def test_the_drain_ends_within_its_time_and_counts_what_is_left(
    dual_write, embedded_postgres, settings
) -> None:
    settings.DUAL_WRITE_RETRY_DELAY = 0
    ids = [str(ObjectId()) for _ in range(5)]
    embedded_postgres.stop()
    try:
        for task_id in ids:
            assert (
                dual_write.create_document(collection_name="tasks", data={"title": "q"}, mongo_id=task_id)
                is False
            )
        started = time.monotonic()
        outcome = drain(build_worker(), 2.0)
        took = time.monotonic() - started
    finally:
        embedded_postgres.start()
    assert outcome.applied == 0 and outcome.pending == 5 and outcome.left == 5
    assert outcome.timed_out
    assert took < 2.0 + 6.0, took  # the bound, plus one round's unreachable-Postgres wait (pool timeout)


@pytest.fixture
def users_refused() -> Iterator[str]:
    """Postgres refuses a user whose google_id is the value returned (a CHECK the models lack)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE postgres_users ADD CONSTRAINT test_drain_refused CHECK (google_id IS DISTINCT FROM 'nope')"
        )
    yield "nope"
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE postgres_users DROP CONSTRAINT IF EXISTS test_drain_refused")


def test_the_drain_sweeps_writes_caught_before_their_mirror_and_counts_refused_ones(
    dual_write, mongo_db, users_refused: str
) -> None:
    caught = str(ObjectId())
    # A write whose writer stopped between the MongoDB write and the mirror write: a fresh mark.
    mongo_db.get_collection("tasks").insert_one(
        {
            "_id": ObjectId(caught),
            "title": "caught",
            "_v": 1,
            "_gen": ObjectId(),
            PENDING_MARK_FIELD: ObjectId(),
        }
    )
    refused = str(ObjectId())
    assert not dual_write.create_document(
        collection_name="users", data={"google_id": users_refused}, mongo_id=refused
    )

    outcome = drain(build_worker(), 10.0)

    assert mirror_differences("tasks", [caught]) == {}
    assert outcome.applied == 1 and outcome.unmirrored == 0
    assert (outcome.pending + outcome.failed) == 1  # the refused user: counted, never shown


def test_the_drain_keeps_trying_a_write_held_up_by_a_lock_until_the_lock_goes(dual_write, settings) -> None:
    """A table lock longer than the write's attempts: the drain tries again until its time is up,
    so the write lands once the lock is released (2 s here, well within the drain's 15 s)."""
    settings.DUAL_WRITE_RETRY_DELAY = 0
    locked, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        with psycopg.connect(**connection.get_connection_params()) as conn:
            conn.execute("LOCK TABLE postgres_tasks IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(30)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(10)
        task_id = str(ObjectId())
        assert (
            dual_write.create_document(collection_name="tasks", data={"title": "t"}, mongo_id=task_id)
            is False
        )
        threading.Timer(2.0, release.set).start()
        outcome = drain(build_worker(), 15.0)
    finally:
        release.set()
        holder.join(30)
    assert (outcome.applied, outcome.left, outcome.timed_out) == (1, 0, False)
    assert mirror_differences("tasks", [task_id]) == {}
