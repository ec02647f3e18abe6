"""Runtime flags (the phase and each collection's read source), cut-over readiness, and the audit
trail: changed from the CLI and the dashboard, followed by every process without a restart."""

from __future__ import annotations

import json
import os
import threading
import time
from io import StringIO
from typing import Any

import pytest
from bson import ObjectId
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection
from django.test import Client

from tests.ops.conftest import insert_tasks
from todo import runtime_flags
from todo.mappings import get_registry
from todo.models.postgres import PostgresTask
from todo.models.postgres.operations import FlagChange, PhaseRecord, ReadSourceFlag, ShadowRead
from todo.phases import PhaseNotReady, current_phase
from todo.repositories.factory import get_repository
from todo.repositories.mongo_repository import MongoRepository
from todo.repositories.routing import RoutedRepository
from todo.runtime_flags import ReadRoute
from todo.services import flag_service, phase_service, readiness
from todo.services.background import BackgroundWorker
from todo.services.dual_write_service import DualWriteService
from todo.wiring import build_reverse_mirror, build_verifier

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff(client: Client, django_user_model: Any) -> Client:
    django_user_model.objects.create_superuser("ops", "ops@example.com", "a-long-password-1")
    client.login(username="ops", password="a-long-password-1")
    return client


def mirrored_tasks(count: int) -> list[str]:
    service = DualWriteService()
    ids = [str(ObjectId()) for _ in range(count)]
    for n, mongo_id in enumerate(ids):
        service.create_document("tasks", {"title": f"task {n}", "displayId": f"#{n + 1}"}, mongo_id)
    return ids


def verify_all() -> None:
    verifier = build_verifier()
    for mapping in get_registry():
        assert verifier.run(mapping).equal, mapping.collection


def shadow_read(ids: list[str]) -> None:
    repo = get_repository("tasks")
    assert isinstance(repo, RoutedRepository) and repo.source == "shadow"
    for mongo_id in ids:
        assert repo.get_by_id(mongo_id) is not None


# == the phase ==================================================================================
def test_environment_is_the_default_until_a_flag_is_set(ops_db: Any, settings: Any) -> None:
    settings.MIGRATION_PHASE = "dual_write"
    assert current_phase() == "dual_write"
    phase_service.enter()  # a start records it
    out = StringIO()
    call_command("dualwrite", "phase", "--set", "read_migration", stdout=out)
    assert "entered read_migration" in out.getvalue()
    assert current_phase() == "read_migration"  # no restart: the next question sees it
    assert settings.MIGRATION_PHASE == "dual_write"  # the environment did not change
    change = FlagChange.objects.get(flag="phase")
    assert (change.old, change.new, change.forced) == ("dual_write", "read_migration", False)
    assert change.actor.startswith("cli:")
    phase_service.enter()  # a restart with the same environment keeps the runtime value
    assert current_phase() == "read_migration"


def test_a_start_with_a_new_environment_value_is_a_newer_request(ops_db: Any, settings: Any) -> None:
    settings.MIGRATION_PHASE = "dual_write"
    phase_service.enter()
    phase_service.change_phase("read_migration", actor="staff:ops")
    settings.MIGRATION_PHASE = "read_migration"  # the environment catches up: nothing changes
    phase_service.enter()
    assert current_phase() == "read_migration"
    assert FlagChange.objects.filter(flag="phase").count() == 1
    settings.MIGRATION_PHASE = "dual_write"  # a restart asking for dual_write again
    assert current_phase() == "dual_write"  # the environment's request is newer than the row's
    phase_service.enter()
    assert current_phase() == "dual_write"
    last = FlagChange.objects.filter(flag="phase").latest("id")
    assert (last.actor, last.old, last.new) == ("environment", "read_migration", "dual_write")


def test_changed_environment_at_start_is_recorded(ops_db: Any, settings: Any) -> None:
    settings.MIGRATION_PHASE = "dual_write"
    phase_service.enter()
    phase_service.change_phase("read_migration", actor="staff:ops")
    settings.MIGRATION_PHASE = "postgres_only"  # a restart asking for another phase
    with pytest.raises(PhaseNotReady, match="no verify report"):
        phase_service.enter()
    settings.MIGRATION_PHASE = "dual_write"
    assert current_phase() == "read_migration"  # the refused request changed nothing


def test_postgres_only_at_runtime_is_refused_until_ready_and_forcing_is_audited(
    ops_db: Any, settings: Any
) -> None:
    settings.DUAL_WRITE_RETRY_DELAY = 0
    phase_service.enter()
    mirrored_tasks(3)
    with pytest.raises(PhaseNotReady, match="tasks: no verify report"):
        phase_service.change_phase("postgres_only", actor="staff:ops")
    assert current_phase() == "dual_write"
    verify_all()
    change = phase_service.change_phase("postgres_only", actor="staff:ops")
    assert change.ready and current_phase() == "postgres_only"
    # Back to dual_write: Postgres's writes must be in MongoDB first (reverse verify missing).
    with pytest.raises(PhaseNotReady, match="no verify --reverse report"):
        phase_service.change_phase("dual_write", actor="staff:ops")
    forced = phase_service.change_phase("dual_write", actor="staff:ops", force=True)
    assert forced.reasons and current_phase() == "dual_write"
    audit = FlagChange.objects.filter(flag="phase").order_by("id")
    assert [(a.old, a.new, a.forced) for a in audit] == [
        ("dual_write", "postgres_only", False),
        ("postgres_only", "dual_write", True),
    ]
    assert "no verify --reverse report" in audit[1].reasons


def test_cli_refuses_an_unknown_phase_in_one_line(ops_db: Any) -> None:
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("dualwrite", "phase", "--set", "mongo_only", stdout=StringIO())


# == read sources and readiness ===================================================================
def test_reads_move_to_postgres_only_through_shadow_and_a_verify(ops_db: Any, settings: Any) -> None:
    settings.READINESS_SHADOW_READS = 5
    settings.DUAL_WRITE_RETRY_DELAY = 0
    phase_service.enter()
    phase_service.change_phase("read_migration", actor="staff:ops")
    ids = mirrored_tasks(5)
    tasks = get_registry().get("tasks").collection
    with pytest.raises(PhaseNotReady) as refused:
        flag_service.set_read_route(tasks, ReadRoute("postgres"), actor="staff:ops")
    assert "no verify report" in str(refused.value) and "0 of 5 shadow reads" in str(refused.value)
    assert isinstance(get_repository("tasks"), MongoRepository)

    flag_service.set_read_route("tasks", ReadRoute("shadow"), actor="staff:ops")  # always allowed
    shadow_read(ids[:3])
    build_verifier().run(get_registry().get("tasks"))
    report = readiness.build_report(["tasks"]).get("tasks")
    assert (
        not report.ready
        and report.checks["shadow"].detail == "3 of 5 shadow reads compared so far (set its reads to shadow)"
    )
    shadow_read(ids[3:])
    report = readiness.build_report(["tasks"]).get("tasks")
    assert report.ready, report.as_dict()

    flag_service.set_read_route("tasks", ReadRoute("postgres"), actor="staff:ops")
    repo = get_repository("tasks")
    assert isinstance(repo, RoutedRepository) and repo.source == "postgres"
    assert {t.id for t in repo.get_by_ids(ids)} == set(ids)
    trail = [(c.flag, c.old, c.new) for c in FlagChange.objects.order_by("id")]
    assert trail[-2:] == [("reads:tasks", "mongo", "shadow"), ("reads:tasks", "shadow", "postgres")]
    # The way back is always open.
    flag_service.set_read_route("tasks", ReadRoute("mongo"), actor="staff:ops")
    assert isinstance(get_repository("tasks"), MongoRepository)


def test_a_shadow_mismatch_blocks_the_move_and_is_named(ops_db: Any, settings: Any) -> None:
    settings.READINESS_SHADOW_READS = 3
    phase_service.enter()
    phase_service.change_phase("read_migration", actor="staff:ops")
    ids = mirrored_tasks(3)
    flag_service.set_read_route("tasks", ReadRoute("shadow"), actor="staff:ops")
    with connection.cursor() as cursor:  # Postgres drifts behind the engine's back
        cursor.execute(
            "UPDATE postgres_tasks SET title = 'changed in postgres' WHERE mongo_id = %s", [ids[0]]
        )
    shadow_read(ids)
    assert list(
        ShadowRead.objects.filter(collection="tasks").exclude(fields=[]).values_list("fields", flat=True)
    ) == [["title"]]
    build_verifier().run(get_registry().get("tasks"), repair=True)
    report = readiness.build_report(["tasks"]).get("tasks")
    assert report.checks["verify"].ok  # repaired …
    assert report.checks["shadow"].detail == "1 of the last 3 shadow reads differed"  # … but seen
    with pytest.raises(PhaseNotReady, match="1 of the last 3 shadow reads differed"):
        flag_service.set_read_route("tasks", ReadRoute("postgres"), actor="staff:ops")
    forced = flag_service.set_read_route("tasks", ReadRoute("postgres", 10), actor="staff:ops", force=True)
    assert forced is not None and forced.forced and "differed" in forced.reasons
    shadow_read_after = ReadSourceFlag.objects.get(collection="tasks")
    assert (shadow_read_after.source, shadow_read_after.percent) == ("postgres", 10)


def test_a_share_of_reads_goes_to_the_source(ops_db: Any, settings: Any) -> None:
    phase_service.enter()
    phase_service.change_phase("read_migration", actor="staff:ops")
    flag_service.set_read_route("tasks", ReadRoute("shadow", 30), actor="staff:ops")
    picked = [isinstance(get_repository("tasks"), RoutedRepository) for _ in range(2000)]
    assert 0.25 < sum(picked) / len(picked) < 0.35
    assert str(runtime_flags.read_route("tasks")) == "shadow 30%"


def test_read_sources_from_the_environment_until_set(ops_db: Any, settings: Any) -> None:
    settings.MIGRATION_PHASE = "read_migration"
    settings.DUAL_WRITE_READ_SOURCE = {"tasks": "shadow"}
    phase_service.enter()
    assert runtime_flags.read_route("tasks") == ReadRoute("shadow")
    flag_service.set_read_route("tasks", ReadRoute("mongo"), actor="staff:ops")
    assert runtime_flags.read_route("tasks") == ReadRoute("mongo")
    settings.DUAL_WRITE_READ_SOURCE = {"tasks": "postgres"}  # a new environment value: newer
    assert runtime_flags.read_route("tasks") == ReadRoute("postgres")


def test_readiness_command_exit_codes_and_json(ops_db: Any, settings: Any) -> None:
    settings.READINESS_SHADOW_READS = 0
    phase_service.enter()
    mirrored_tasks(2)
    out = StringIO()
    with pytest.raises(CommandError, match=r"not ready: .*tasks"):
        call_command("dualwrite", "readiness", "--json", stdout=out)
    body = json.loads(out.getvalue())
    tasks = next(c for c in body["collections"] if c["collection"] == "tasks")
    assert tasks["ready"] is False and tasks["checks"]["verify"]["ok"] is False
    verify_all()
    out = StringIO()
    call_command("dualwrite", "readiness", stdout=out)  # exit 0
    assert "tasks: READY" in out.getvalue()


def test_backlog_blocks_readiness(ops_db: Any, settings: Any) -> None:
    settings.READINESS_SHADOW_READS = 0
    phase_service.enter()
    insert_tasks(ops_db.get_collection("tasks"), 2)  # not mirrored: a verify finds them missing
    service = DualWriteService()
    service.engine.queue.record_failure("tasks", str(ObjectId()), "create", "OperationalError", "transient")
    report = readiness.build_report(["tasks"]).get("tasks")
    assert report.checks["backlog"].detail == "1 mirror write(s) queued, 0 pending mark(s)"
    assert not report.checks["verify"].ok


# == every process follows ========================================================================
def test_a_change_made_elsewhere_is_followed_within_the_refresh_period(ops_db: Any, settings: Any) -> None:
    """Another process's change is a committed row; this process sees it within the period, and
    no request waits for the refresh (it runs in the background)."""
    settings.RUNTIME_FLAGS_REFRESH_SECONDS = 0.3
    phase_service.enter()
    assert current_phase() == "dual_write"
    PhaseRecord.objects.filter(key="current").update(phase="read_migration")  # as another process
    deadline = time.monotonic() + 5
    while current_phase() != "read_migration":
        assert time.monotonic() < deadline, "the change was not followed"
        time.sleep(0.05)
    settings.RUNTIME_FLAGS_REFRESH_SECONDS = 3600
    while runtime_flags._cache.refreshing:  # let a refresh in flight end before the teardown
        time.sleep(0.01)


def test_background_worker_follows_the_phase(ops_db: Any, settings: Any) -> None:
    """Moved to postgres_only at runtime, the running worker writes Postgres rows back to MongoDB."""
    settings.DUAL_WRITE_RETRY_DELAY = 0
    phase_service.enter()
    mirrored_tasks(1)
    verify_all()
    worker = BackgroundWorker()
    stop = worker.start(poll_interval=0.05)
    try:
        phase_service.change_phase("postgres_only", actor="staff:ops")
        made = get_repository("tasks").create({"title": "written in postgres_only"})
        mongo = ops_db.get_collection("tasks")
        deadline = time.monotonic() + 10
        while mongo.find_one({"_id": ObjectId(made.id)}) is None:
            assert time.monotonic() < deadline, "not written back"
            time.sleep(0.05)
    finally:
        stop.set()
        assert worker.thread is not None
        worker.thread.join(10)
    assert mongo.find_one({"_id": ObjectId(made.id)})["title"] == "written in postgres_only"


# == the dashboard ==============================================================================
def test_dashboard_controls_need_staff(ops_db: Any, client: Client, django_user_model: Any) -> None:
    django_user_model.objects.create_user("plain", password="a-long-password-1")
    client.login(username="plain", password="a-long-password-1")
    response = client.post("/ops/sync/phase", {"phase": "read_migration"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client.post("/ops/sync/reads", {"collection": "tasks", "source": "shadow"}).status_code == 302
    assert not FlagChange.objects.exists() and current_phase() == "dual_write"


def test_dashboard_flips_reads_and_shows_readiness_and_trail(
    ops_db: Any, staff: Client, settings: Any
) -> None:
    settings.READINESS_SHADOW_READS = 2
    phase_service.enter()
    response = staff.post("/ops/sync/phase", {"phase": "read_migration"}, follow=True)
    assert "phase: dual_write → read_migration" in response.content.decode()
    response = staff.post(
        "/ops/sync/reads", {"collection": "tasks", "source": "postgres", "percent": "100"}, follow=True
    )
    page = response.content.decode()
    assert "reads not moved: cannot move tasks&#x27;s reads to postgres" in page
    response = staff.post(
        "/ops/sync/reads", {"collection": "tasks", "source": "shadow", "percent": "50"}, follow=True
    )
    page = response.content.decode()
    assert "tasks reads: mongo → shadow 50%" in page
    assert 'id="readiness"' in page and "shadow 50%" in page
    assert "staff:ops" in page and "reads:tasks" in page
    bad = staff.post(
        "/ops/sync/reads", {"collection": "tasks", "source": "shadow", "percent": "0"}, follow=True
    )
    assert "percent must be from 1 to 100" in bad.content.decode()
    assert runtime_flags.read_route("tasks") == ReadRoute("shadow", 50)


def test_concurrent_phase_changes_leave_one_phase_and_a_consistent_trail(ops_db: Any) -> None:
    phase_service.enter()
    errors: list[Exception] = []

    def flip(target: str) -> None:
        try:
            phase_service.change_phase(target, actor=f"staff:{target}")
        except (PhaseNotReady, DatabaseError) as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=flip, args=(t,)) for t in ("read_migration", "read_migration", "dual_write")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    final = PhaseRecord.objects.get(key="current").phase
    trail = list(FlagChange.objects.filter(flag="phase").order_by("id"))
    assert trail, "at least one change was made"
    chain = ["dual_write"] + [c.new for c in trail]
    assert [c.old for c in trail] == chain[:-1] and chain[-1] == final  # one change at a time


def test_a_mirror_write_queued_around_the_move_to_postgres_only_still_lands(
    ops_db: Any, settings: Any
) -> None:
    """A process that had not yet seen the move wrote MongoDB and its mirror write failed: the
    worker of postgres_only still drains it into Postgres (and the version guard keeps rows that
    postgres_only changed since)."""
    settings.DUAL_WRITE_RETRY_DELAY = 0
    phase_service.enter()
    mirrored_tasks(1)
    verify_all()
    phase_service.change_phase("postgres_only", actor="staff:ops")
    late = ObjectId()
    ops_db.get_collection("tasks").insert_one({"_id": late, "title": "written by a late process", "_v": 1})
    DualWriteService().engine.queue.record_failure(
        "tasks", str(late), "create", "OperationalError", "transient"
    )
    worker = BackgroundWorker(maintenance=None)
    deadline = time.monotonic() + 10
    while not PostgresTask.objects.filter(mongo_id=str(late)).exists():
        assert time.monotonic() < deadline, "the queued mirror write never landed"
        worker.run_once()
    assert PostgresTask.objects.get(mongo_id=str(late)).title == "written by a late process"


def test_a_postgres_write_queued_around_the_move_back_still_reaches_mongodb(
    ops_db: Any, settings: Any
) -> None:
    """Back from postgres_only while a Postgres write still waits in the reverse outbox (as when a
    process wrote it just before seeing the move; here the move is forced past that backlog): the
    worker of dual_write still writes it back."""
    settings.DUAL_WRITE_RETRY_DELAY = 0
    phase_service.enter()
    mirrored_tasks(1)
    verify_all()
    phase_service.change_phase("postgres_only", actor="staff:ops")
    late = get_repository("tasks").create({"title": "written just before the move back"})
    mirror = build_reverse_mirror()
    assert mirror.backlog() == {"tasks": 1}
    moved = phase_service.change_phase("dual_write", actor="staff:ops", force=True)
    assert any("not yet written back" in reason for reason in moved.reasons)
    worker = BackgroundWorker(maintenance=None)
    deadline = time.monotonic() + 10
    mongo = ops_db.get_collection("tasks")
    while mongo.find_one({"_id": ObjectId(late.id)}) is None:
        assert time.monotonic() < deadline, "the queued write back never reached MongoDB"
        worker.run_once()
    assert mongo.find_one({"_id": ObjectId(late.id)})["title"] == "written just before the move back"
    assert mirror.backlog() == {}


def test_a_forked_child_reads_the_flags_afresh(ops_db: Any) -> None:
    """A web server that loads the app before forking: the child must not inherit a refresh
    thread that does not exist in it (it would never refresh again), nor a held lock."""
    phase_service.enter()
    assert current_phase() == "dual_write"
    runtime_flags._cache.refreshing = True  # as if the parent forked while its refresh ran
    runtime_flags._cache.lock.acquire()
    try:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: no Django database use, only the cache's state
            os.close(read)
            cache = runtime_flags._cache
            fresh = not cache.loaded and not cache.refreshing and cache.lock.acquire(timeout=1)
            os.write(write, b"1" if fresh else b"0")
            os._exit(0)
        os.close(write)
        answer = os.read(read, 1)
        os.waitpid(pid, 0)
    finally:
        runtime_flags._cache.lock.release()
        runtime_flags._cache.refreshing = False
    assert answer == b"1"
