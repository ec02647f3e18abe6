"""Dashboard jobs: verify, verify-with-repair and backfill run in a thread of the serving process
against real PostgreSQL; one job per collection at a time, decided by the database."""

from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from bson import ObjectId
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from todo.mappings import get_registry
from todo.models.postgres import PostgresTask
from todo.models.postgres.operations import Job
from todo.services import jobs
from todo.services.jobs import JobRefused, start_jobs
from todo.wiring import build_backfiller, build_reports, build_verifier

from .conftest import insert_tasks

pytestmark = pytest.mark.django_db(transaction=True)

TASKS = get_registry().get("tasks")
PASSWORD = "a-long-password-1"


def wait_for(job_id: int, deadline: float = 30.0) -> Job:
    """Poll the job's row until it is no longer queued or running."""
    stop_at = time.monotonic() + deadline
    while True:
        job = Job.objects.get(id=job_id)
        if not job.active:
            return job
        assert time.monotonic() < stop_at, f"job {job_id} still {job.status} after {deadline} s"
        time.sleep(0.05)


def _sql(sql: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def mirrored(tasks: Any) -> list[str]:
    ids = [str(i) for i in insert_tasks(tasks, 120, seed=5)]
    build_backfiller(batch_size=50).run(TASKS)
    assert build_verifier().run(TASKS).equal
    return ids


@pytest.fixture
def staff(django_user_model: Any) -> Client:
    django_user_model.objects.create_superuser("ops", "ops@example.com", PASSWORD)
    client = Client()
    client.login(username="ops", password=PASSWORD)
    return client


def drift(ids: list[str]) -> None:
    """Three drifting rows: a changed title, a lost row, and a row MongoDB never held."""
    _sql("UPDATE postgres_tasks SET title = 'tampered' WHERE mongo_id = %s", [ids[3]])
    _sql("DELETE FROM postgres_task_labels WHERE task_mongo_id = %s", [ids[7]])
    _sql("DELETE FROM postgres_deferred_details WHERE task_mongo_id = %s", [ids[7]])
    _sql("DELETE FROM postgres_tasks WHERE mongo_id = %s", [ids[7]])
    _sql(
        "INSERT INTO postgres_tasks (mongo_id, source_version, source_deleted, sync_status, priority, status,"
        " is_acknowledged, is_deleted, title) VALUES (%s, 1, false, 'SYNCED', 3, 'TODO', false, false, 'ghost')",
        [str(ObjectId())],
    )


def test_verify_job_of_an_equal_collection_is_done_and_its_report_stored(mirrored: list[str]) -> None:
    before = build_reports().coll.count_documents({"collection": "tasks"})
    outcome = start_jobs(Job.VERIFY, "tasks", "ops")
    assert [j.status for j in outcome.started] == [Job.QUEUED] and outcome.busy == []
    job = wait_for(outcome.started[0].id)
    assert job.status == Job.DONE, job.error
    assert job.report is not None and job.report["equal"] and job.report["documents"] == 120
    assert job.processed == job.total == 120 and job.percent == 100
    assert job.started_at is not None and job.finished_at is not None and job.error == ""
    assert build_reports().coll.count_documents({"collection": "tasks"}) == before + 1
    latest = build_reports().latest("tasks")
    assert latest is not None and latest["equal"] and latest["repair"] is False


def test_drift_is_found_by_verify_and_mended_by_verify_repair(mirrored: list[str]) -> None:
    drift(mirrored)
    found = wait_for(start_jobs(Job.VERIFY, "tasks", "ops").started[0].id)
    assert found.status == Job.DONE and found.report is not None
    assert found.report["counts"] == {
        "missing": 1,
        "extra": 1,
        "different": 1,
        "invalid": 0,
        "needs_backfill": 0,
    }
    assert found.report["fields"] == {"title": 1}
    assert PostgresTask.objects.filter(mongo_id=mirrored[3], title="tampered").exists()  # not mended

    mended = wait_for(start_jobs(Job.VERIFY_REPAIR, "tasks", "ops").started[0].id)
    assert mended.status == Job.DONE, mended.error
    assert mended.report is not None and mended.report["equal"] and mended.report["repaired"] == 3
    assert mended.report["found_before_repair"] == found.report["counts"]
    assert mended.processed == mended.total and mended.percent == 100
    assert build_reports().latest("tasks")["repair"] is True  # the job's report, where the CLI keeps it
    # The data: Postgres holds what MongoDB holds, as an independent verify and the rows show.
    assert build_verifier().run(TASKS).equal
    assert PostgresTask.objects.get(mongo_id=mirrored[3]).title == "task 3"
    assert PostgresTask.objects.filter(mongo_id=mirrored[7], source_deleted=False).exists()
    assert PostgresTask.objects.filter(source_deleted=False).count() == 120


def test_backfill_job_fills_an_empty_mirror(tasks: Any) -> None:
    insert_tasks(tasks, 90, seed=9)  # straight into MongoDB: nothing mirrored
    assert PostgresTask.objects.count() == 0
    job = wait_for(start_jobs(Job.BACKFILL, "tasks", "ops").started[0].id)
    assert job.status == Job.DONE, job.error
    assert job.report is not None and job.report["processed"] == 90 and job.report["written"] == 90
    assert PostgresTask.objects.filter(source_deleted=False).count() == 90
    assert build_verifier().run(TASKS).equal


def test_a_second_start_for_the_collection_is_refused_while_one_is_active(ops_db: Any) -> None:
    now = timezone.now()
    running = Job.objects.create(
        kind=Job.VERIFY,
        collection="tasks",
        status=Job.RUNNING,
        started_by="a",
        created_at=now,
        heartbeat_at=now,
    )
    outcome = start_jobs(Job.BACKFILL, "tasks", "b")
    assert outcome.started == [] and [j.id for j in outcome.busy] == [running.id]
    assert Job.objects.filter(collection="tasks").count() == 1
    Job.objects.filter(id=running.id).update(status=Job.QUEUED)
    assert start_jobs(Job.VERIFY, "tasks", "b").started == []
    assert Job.objects.get(id=running.id).status == Job.QUEUED  # left alone: its heartbeat is fresh


def test_concurrent_starts_yield_exactly_one_job(tasks: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "_launch", lambda ids: None)  # the rows only: no job thread
    insert_tasks(tasks, 5)
    barrier = threading.Barrier(6)

    def start() -> list[int]:
        try:
            barrier.wait()
            return [j.id for j in start_jobs(Job.VERIFY, "tasks", "ops").started]
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = [f.result(timeout=30) for f in [pool.submit(start) for _ in range(6)]]
    started = [job_id for ids in results for job_id in ids]
    assert len(started) == 1
    assert list(Job.objects.filter(collection="tasks").values_list("id", flat=True)) == started


def test_a_stale_running_job_is_abandoned_and_replaced(mirrored: list[str]) -> None:
    long_ago = timezone.now() - jobs.STALE_AFTER - dt.timedelta(seconds=5)
    stale = Job.objects.create(
        kind=Job.VERIFY_REPAIR, collection="tasks", status=Job.RUNNING, started_by="gone",
        created_at=long_ago, started_at=long_ago, heartbeat_at=long_ago, processed=40, total=240,
    )  # fmt: skip
    outcome = start_jobs(Job.VERIFY, "tasks", "ops")
    assert len(outcome.started) == 1 and outcome.busy == []
    abandoned = Job.objects.get(id=stale.id)
    assert abandoned.status == Job.ABANDONED and abandoned.finished_at is not None
    assert "no heartbeat" in abandoned.error
    assert wait_for(outcome.started[0].id).status == Job.DONE


def test_a_job_that_raises_ends_failed_with_its_one_line_error(
    mirrored: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the verifier broke\nsecond line with a document: secret title")

    monkeypatch.setattr(jobs, "build_verifier", broken)
    job = wait_for(start_jobs(Job.VERIFY, "tasks", "ops").started[0].id)
    assert job.status == Job.FAILED and job.finished_at is not None
    assert job.error == "RuntimeError: the verifier broke"
    assert job.report is None
    # The collection is free again: the next job starts.
    monkeypatch.undo()
    assert wait_for(start_jobs(Job.VERIFY, "tasks", "ops").started[0].id).status == Job.DONE


def test_refusals_unknown_kind_collection_and_backfill_in_postgres_only(ops_db: Any, settings: Any) -> None:
    with pytest.raises(JobRefused, match="unknown job kind"):
        start_jobs("drop", "tasks", "ops")
    with pytest.raises(JobRefused, match="unknown collection"):
        start_jobs(Job.VERIFY, "nope", "ops")
    settings.MIGRATION_PHASE = "postgres_only"
    with pytest.raises(JobRefused, match="PostgreSQL is the store of record"):
        start_jobs(Job.BACKFILL, "tasks", "ops")
    settings.MONGODB_RETIRED = True
    with pytest.raises(JobRefused, match="MongoDB is retired"):
        start_jobs(Job.VERIFY, "tasks", "ops")
    assert Job.objects.count() == 0


def test_postgres_only_verify_runs_the_reverse_verify(ops_db: Any, settings: Any) -> None:
    from todo.models.documents import Task
    from todo.repositories.factory import get_repository

    settings.MIGRATION_PHASE = "postgres_only"
    get_repository(Task).create({"title": "written in postgres_only"})  # queued for MongoDB, not drift
    job = wait_for(start_jobs(Job.VERIFY, "tasks", "ops").started[0].id)
    assert job.status == Job.DONE, job.error
    assert job.report is not None and job.report["direction"] == "reverse"
    assert job.report["checked"] == 1 and job.report["equal"]


def test_non_staff_cannot_start_jobs_or_read_them(ops_db: Any, django_user_model: Any) -> None:
    client = Client()
    for response in (
        client.get("/ops/jobs.json"),
        client.post("/ops/jobs", {"kind": "verify", "collection": "tasks"}),
    ):
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    django_user_model.objects.create_user("plain", password=PASSWORD)
    client.login(username="plain", password=PASSWORD)
    assert client.get("/ops/jobs.json").status_code == 302
    assert client.post("/ops/jobs", {"kind": "verify", "collection": "tasks"}).status_code == 302
    assert client.get("/ops/jobs/1").status_code == 302
    assert Job.objects.count() == 0


def test_the_dashboard_form_starts_a_job_then_refuses_a_second(
    mirrored: list[str], staff: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "_launch", lambda ids: None)  # stays queued: the second start is refused
    page = staff.post("/ops/jobs", {"kind": "verify_repair", "collection": "tasks"}, follow=True)
    job = Job.objects.get()
    text = page.content.decode()
    assert f"started verify_repair of tasks (job {job.id})" in text
    assert f'tr data-job-id="{job.id}" data-status="queued"' in text
    again = staff.post("/ops/jobs", {"kind": "verify", "collection": "tasks"}, follow=True).content.decode()
    assert f"refused verify of tasks: job {job.id} (verify_repair) is queued" in again
    body = staff.get("/ops/jobs.json").json()
    assert body["active"] is True
    assert [(j["id"], j["status"], j["kind"]) for j in body["jobs"]] == [(job.id, "queued", "verify_repair")]
    assert staff.get("/ops/jobs").status_code == 405
    bad = staff.post("/ops/jobs", {"kind": "verify", "collection": "nope"}, follow=True).content.decode()
    assert "job refused: unknown collection" in bad


def test_all_collections_start_one_job_each_and_the_report_page(mirrored: list[str], staff: Client) -> None:
    drift(mirrored)
    staff.post("/ops/jobs", {"kind": "verify", "collection": jobs.ALL_COLLECTIONS})
    started = list(Job.objects.order_by("id"))
    assert sorted(j.collection for j in started) == sorted(get_registry().collections)
    finished = [wait_for(j.id) for j in started]
    assert all(j.status == Job.DONE for j in finished), [(j.collection, j.error) for j in finished]
    tasks_job = next(j for j in finished if j.collection == "tasks")
    page = staff.get(f"/ops/jobs/{tasks_job.id}").content.decode()
    assert "drift 3" in page and "<code>title</code> (1)" in page and mirrored[3] in page
    assert "tampered" not in page and "task 3" not in page  # ids and field names, never values
    assert staff.get("/ops/jobs/999999").status_code == 404
