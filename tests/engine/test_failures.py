"""Failed mirror writes are recorded durably, retried by the worker from MongoDB, and never lost."""

from __future__ import annotations

import datetime as dt
import logging
import random
import time

import pytest
from bson import ObjectId
from django.core.management import CommandError, call_command
from django.db import connection

from dualwrite.policy import ErrorKind, RetryPolicy
from dualwrite.queue import QUEUE_COLLECTION
from tests.conftest import wait_for_postgres
from tests.engine import alert_sink
from tests.engine.helpers import mirror_differences, mongo_ids, postgres_round_trips, row
from todo.db.mongo_manager import DatabaseManager
from todo.models.postgres import PostgresUser
from todo.wiring import build_worker

pytestmark = pytest.mark.django_db(transaction=True)


def _drain(worker, deadline: float = 30.0) -> None:
    """Run the worker until nothing is due (or fail after `deadline` seconds)."""
    stop_at = time.monotonic() + deadline
    while time.monotonic() < stop_at:
        report = worker.run_once()
        if report.processed == 0 and report.postponed == 0:
            return
        if report.postponed:
            time.sleep(0.3)
    pytest.fail("the worker did not drain the queue in time")


def _taken_google_id(google_id: str) -> str:
    """A live Postgres row holding a google_id: a valid MongoDB user with the same one is a
    duplicate by the domain-unique key (unique google_id); returns the holder's id."""
    holder = str(ObjectId())
    PostgresUser.objects.create(mongo_id=holder, google_id=google_id)
    return holder


REFUSED = "refused-by-check"


@pytest.fixture
def check_refusing_users():
    """A CHECK constraint the models do not declare (e.g. a DBA's): Postgres refuses a user whose
    google_id is REFUSED. Not a domain-unique key, so a refusal that may resolve later (retried).
    `drop()` removes the cause."""

    def drop() -> None:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE postgres_users DROP CONSTRAINT IF EXISTS test_refused_google_id")

    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE postgres_users ADD CONSTRAINT test_refused_google_id"
            " CHECK (google_id IS DISTINCT FROM %s)",
            [REFUSED],
        )
    yield drop
    drop()


def test_outage_500_mixed_writes_are_recorded_then_drained_to_equality(dual_write, embedded_postgres) -> None:
    rng = random.Random(7)
    created: list[str] = []
    embedded_postgres.stop()
    try:
        results = []
        for i in range(500):
            if i < 200 or not created:
                task_id = str(ObjectId())
                created.append(task_id)
                results.append(
                    dual_write.create_document(
                        collection_name="tasks",
                        data={"title": f"t{i}", "labels": [ObjectId()]},
                        mongo_id=task_id,
                    )
                )
            elif i < 400:
                results.append(
                    dual_write.update_document(
                        collection_name="tasks",
                        mongo_id=rng.choice(created),
                        data={"title": f"u{i}", "priority": rng.choice([1, 2, 3])},
                    )
                )
            else:
                results.append(
                    dual_write.delete_document(collection_name="tasks", mongo_id=rng.choice(created))
                )
        assert results == [False] * 500  # every call returned; none reached Postgres
        backlog = dual_write.get_sync_metrics()["backlog"]
        assert backlog["pending"] == len(set(created))  # one record per document
        assert {f["status"] for f in dual_write.get_sync_failures(limit=1000)} == {"PENDING"}
        assert dual_write.get_sync_status("tasks", created[0]) == "PENDING"
    finally:
        embedded_postgres.start()
    _drain(build_worker())
    assert mirror_differences("tasks", created) == {}
    assert dual_write.get_sync_metrics()["backlog"]["pending"] == 0
    assert dual_write.get_sync_status("tasks", created[0]) == "SYNCED"


def test_failures_survive_a_restart_and_a_fresh_worker_applies_them(dual_write, embedded_postgres) -> None:
    from todo.services.enhanced_dual_write_service import EnhancedDualWriteService

    ids = [str(ObjectId()) for _ in range(20)]
    embedded_postgres.stop()
    try:
        for task_id in ids:
            assert (
                dual_write.create_document(
                    collection_name="tasks", data={"title": "queued"}, mongo_id=task_id
                )
                is False
            )
    finally:
        embedded_postgres.start()
    # "Restart": forget the first service and its MongoDB client; build everything anew. Only
    # the two stores are shared (the in-process stand-in keeps its data for the process).
    del dual_write
    DatabaseManager.reset()
    fresh = EnhancedDualWriteService()
    assert len(fresh.get_sync_failures()) == 20
    _drain(build_worker(fresh.engine, name="second-worker"))
    assert mirror_differences("tasks", ids) == {}
    assert fresh.get_sync_failures() == []


def test_rejected_row_is_retried_then_failed_with_critical_log_and_alert(
    dual_write, settings, caplog, check_refusing_users
) -> None:
    from todo.services.dual_write_service import DualWriteService

    settings.DUAL_WRITE_RETRY_ATTEMPTS = 2
    settings.DUAL_WRITE_ALERT_HOOK = "tests.engine.alert_sink.record"
    alert_sink.EVENTS.clear()
    service = DualWriteService()
    user_id = str(ObjectId())
    with caplog.at_level(logging.ERROR):
        assert (
            service.create_document(
                collection_name="users", data={"google_id": REFUSED, "name": "Secret Name"}, mongo_id=user_id
            )
            is False
        )
        assert service.get_sync_status("users", user_id) == "PENDING"
        worker = build_worker(service.engine)
        worker.run_once()
        worker.run_once()
    [failure] = service.get_sync_failures()
    assert (failure["collection"], failure["mongo_id"], failure["operation"]) == ("users", user_id, "create")
    assert failure["status"] == "FAILED" and failure["attempts"] == 2
    assert "CheckViolation" in failure["error"]
    assert service.get_sync_status("users", user_id) == "FAILED"
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(critical) == 1 and user_id in critical[0].getMessage()
    assert alert_sink.EVENTS == [
        {
            "collection": "users",
            "mongo_id": user_id,
            "operation": "create",
            "error": failure["error"],
            "attempts": 2,
            "status": "FAILED",
        }
    ]
    # Never document contents in logs.
    assert all("Secret Name" not in r.getMessage() for r in caplog.records)
    # A FAILED record is not retried by the worker any more...
    assert worker.run_once().processed == 0
    # ...but a manual retry re-applies it once the cause is gone.
    check_refusing_users()
    assert service.retry_failed_sync("users", user_id) is True
    assert service.get_sync_failures() == []
    assert mirror_differences("users", [user_id]) == {}


def test_document_the_mapping_rejects_is_failed_at_once_and_never_retried(dual_write, mongo_db) -> None:
    task_id = ObjectId()
    mongo_db.get_collection("tasks").insert_one({"_id": task_id, "title": "x", "status": "ARCHIVED", "_v": 1})
    assert dual_write.mirror_document("tasks", str(task_id), "create") is False
    [failure] = dual_write.get_sync_failures()
    assert failure["status"] == "FAILED"
    assert "field 'status'" in failure["error"] and "unknown value" in failure["error"]
    assert build_worker(dual_write.engine).run_once().processed == 0


def test_batch_with_one_rejected_document_fails_only_that_one(dual_write) -> None:
    _taken_google_id("taken")
    ids = [str(ObjectId()) for _ in range(5)]
    operations = [
        {
            "collection_name": "users",
            "data": {"google_id": "taken" if i == 2 else f"g{i}", "name": f"u{i}"},
            "mongo_id": mongo_id,
            "operation": "create",
        }
        for i, mongo_id in enumerate(ids)
    ]
    assert dual_write.batch_operations(operations) is False
    statuses = [r.status for r in dual_write.last_batch_results]
    # A duplicate by a domain-unique key (google_id): a permanent rejection, FAILED at once.
    assert statuses == ["SYNCED", "SYNCED", "FAILED", "SYNCED", "SYNCED"]
    assert "duplicate of" in dual_write.last_batch_results[2].error
    assert mirror_differences("users", ids[:2] + ids[3:]) == {}
    assert row("users", ids[2]) is None
    assert [f["mongo_id"] for f in dual_write.get_sync_failures()] == [ids[2]]


def test_batch_with_an_unmappable_document_rejects_only_that_one(dual_write, mongo_db) -> None:
    ids = [str(ObjectId()) for _ in range(3)]
    operations = [
        {
            "collection_name": "tasks",
            "data": {"title": 7 if i == 1 else f"t{i}"},
            "mongo_id": mongo_id,
            "operation": "create",
        }
        for i, mongo_id in enumerate(ids)
    ]
    assert dual_write.batch_operations(operations) is False
    assert [r.status for r in dual_write.last_batch_results] == ["SYNCED", "REJECTED", "SYNCED"]
    assert "field 'title'" in dual_write.last_batch_results[1].error
    assert mongo_db.get_collection("tasks").count_documents({}) == 2  # the rejected one was not written
    assert mirror_differences("tasks", ids) == {}


def test_batch_writes_each_collection_in_one_round_trip(dual_write) -> None:
    operations = [
        {
            "collection_name": "tasks",
            "data": {"title": f"t{i}", "labels": [ObjectId(), ObjectId()]},
            "mongo_id": str(ObjectId()),
            "operation": "create",
        }
        for i in range(50)
    ]
    with postgres_round_trips(connection) as sent:
        assert dual_write.batch_operations(operations) is True
    assert [m for m in sent if not m.startswith("Parse")] == ["Sync"]
    assert mirror_differences("tasks", [op["mongo_id"] for op in operations]) == {}


def test_single_writes_are_one_round_trip_each_and_reuse_their_plans(dual_write) -> None:
    """Create, update and delete each reach Postgres in one round trip; their statements are
    prepared once per connection, so later writes of the same shape send no Parse at all."""

    def writes(mongo_id: str) -> None:
        dual_write.create_document(
            collection_name="tasks", data={"title": "x", "labels": [ObjectId()]}, mongo_id=mongo_id
        )
        dual_write.update_document(collection_name="tasks", mongo_id=mongo_id, data={"title": "y"})
        dual_write.delete_document(collection_name="tasks", mongo_id=mongo_id)

    first_id, second_id = str(ObjectId()), str(ObjectId())
    with postgres_round_trips(connection) as first:
        writes(first_id)
    with postgres_round_trips(connection) as second:
        writes(second_id)
    assert [m for m in first if not m.startswith("Parse")] == ["Sync"] * 3
    assert second == ["Sync"] * 3  # no statement parsed again: the plans are the prepared ones
    assert mirror_differences("tasks", [first_id, second_id]) == {}
    assert row("tasks", second_id)["source_deleted"] is True


def test_leases_keep_two_workers_off_one_record_and_expire_after_a_crash(
    dual_write, embedded_postgres
) -> None:
    task_id = str(ObjectId())
    embedded_postgres.stop()
    try:
        dual_write.create_document(collection_name="tasks", data={"title": "leased"}, mongo_id=task_id)
    finally:
        embedded_postgres.start()
    queue = dual_write.engine.queue
    crashed = queue.claim_due("crashed-worker", lease_seconds=0.5)  # claims, then "dies"
    assert crashed is not None and crashed.mongo_id == task_id
    other = build_worker(dual_write.engine, name="other")
    assert other.run_once().processed == 0  # leased by the crashed worker
    time.sleep(0.6)
    _drain(other)
    assert dual_write.get_sync_failures() == []
    assert mirror_differences("tasks", [task_id]) == {}
    # The crashed worker wakes up: its lease is gone, so it cannot touch the record.
    assert queue.resolve(crashed, "crashed-worker") is False


def test_a_newer_failure_is_not_resolved_by_a_worker_holding_the_older_one(
    dual_write, embedded_postgres
) -> None:
    task_id = str(ObjectId())
    embedded_postgres.stop()
    try:
        dual_write.create_document(collection_name="tasks", data={"title": "v1"}, mongo_id=task_id)
        queue = dual_write.engine.queue
        claimed = queue.claim_due("w1", lease_seconds=30)
        # While w1 holds the record, another write fails and reopens it.
        dual_write.update_document(collection_name="tasks", mongo_id=task_id, data={"title": "v2"})
    finally:
        embedded_postgres.start()
    assert queue.resolve(claimed, "w1") is False
    assert [f["mongo_id"] for f in dual_write.get_sync_failures()] == [task_id]
    _drain(build_worker(dual_write.engine))
    assert row("tasks", task_id)["title"] == "v2"


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    policy = RetryPolicy(attempts=5, base_delay=5.0, jitter=0.25)
    for attempt, nominal in [(1, 5.0), (2, 10.0), (3, 20.0), (4, 40.0)]:
        samples = [policy.delay(attempt) for _ in range(200)]
        assert all(nominal * 0.75 <= s <= nominal * 1.25 for s in samples)
        assert len(set(samples)) > 1  # jittered


def test_worker_schedules_the_next_attempt_by_the_policy(dual_write, settings, check_refusing_users) -> None:
    from todo.services.dual_write_service import DualWriteService

    settings.DUAL_WRITE_RETRY_DELAY = 60
    settings.DUAL_WRITE_RETRY_ATTEMPTS = 5
    service = DualWriteService()
    user_id = str(ObjectId())
    service.create_document(collection_name="users", data={"google_id": REFUSED}, mongo_id=user_id)
    coll = DatabaseManager.get().get_collection(QUEUE_COLLECTION)
    coll.update_one({"mongo_id": user_id}, {"$set": {"next_attempt_at": dt.datetime.now(dt.UTC)}})
    assert build_worker(service.engine).run_once().failed == 1
    record = coll.find_one({"mongo_id": user_id})
    wait = (record["next_attempt_at"] - record["last_attempt_at"]).total_seconds()
    # Attempts accumulate per document: the live write's rejection, then the worker's.
    assert record["attempts"] == 2 and 0.75 * 240 <= wait <= 1.25 * 240  # base x 2^2


def test_cleanup_purges_only_old_resolved_records(dual_write, embedded_postgres) -> None:
    embedded_postgres.stop()
    try:
        for _ in range(3):
            dual_write.create_document(collection_name="tasks", data={"title": "x"}, mongo_id=str(ObjectId()))
    finally:
        embedded_postgres.start()
    _drain(build_worker(dual_write.engine))
    coll = DatabaseManager.get().get_collection(QUEUE_COLLECTION)
    old = coll.find_one({"status": "RESOLVED"})
    coll.update_one(
        {"_id": old["_id"]}, {"$set": {"resolved_at": dt.datetime.now(dt.UTC) - dt.timedelta(days=31)}}
    )
    call_command("dualwrite", "cleanup", "--older-than", "30d")
    assert coll.count_documents({"status": "RESOLVED"}) == 2
    assert coll.find_one({"_id": old["_id"]}) is None


def test_retry_command_reapplies_by_id_collection_and_all(dual_write, embedded_postgres) -> None:
    ids = [str(ObjectId()) for _ in range(3)]
    embedded_postgres.stop()
    try:
        for task_id in ids:
            dual_write.create_document(collection_name="tasks", data={"title": "x"}, mongo_id=task_id)
    finally:
        embedded_postgres.start()
    wait_for_postgres()
    call_command("dualwrite", "retry", "--id", ids[0], "--in", "tasks")
    assert mirror_differences("tasks", ids[:1]) == {}
    assert len(dual_write.get_sync_failures()) == 2
    call_command("dualwrite", "retry", "--collection", "tasks")
    call_command("dualwrite", "retry", "--all")
    assert mirror_differences("tasks", ids) == {} and dual_write.get_sync_failures() == []
    assert sorted(mongo_ids("tasks")) == sorted(ids)


def test_retry_all_counts_a_record_it_cannot_retry_as_still_failing(dual_write, capsys) -> None:
    """A record of a collection no longer mapped is refused (logged), the others are retried,
    and the command says how many are left and fails."""
    task_id, stray_id = str(ObjectId()), str(ObjectId())
    dual_write.create_document(collection_name="tasks", data={"title": "x"}, mongo_id=task_id)
    queue = dual_write.engine.queue
    queue.record_failure("tasks", task_id, "update", "forced", ErrorKind.REJECTED)
    queue.record_failure("retired_things", stray_id, "update", "forced", ErrorKind.REJECTED)
    with pytest.raises(CommandError, match="1 document\\(s\\) still failing"):
        call_command("dualwrite", "retry", "--all")
    assert "retried 2: 1 applied, 1 still failing" in capsys.readouterr().out
    assert queue.find_unresolved("tasks", task_id) is None
    assert queue.find_unresolved("retired_things", stray_id) is not None
