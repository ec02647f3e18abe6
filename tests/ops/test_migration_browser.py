"""The dashboard's migration controls in a real headless Chromium: change the phase, try to move a
collection's reads to Postgres (refused with the reasons), go through shadow, run a verify with
repair as a job from the page and watch it finish, see readiness turn green, move the reads, and
find every change in the audit trail. Screenshots go to
.data/screenshots/ (git-ignored)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from django.db import connection

from todo import runtime_flags
from todo.mappings import get_registry
from todo.models.postgres.operations import FlagChange, Job
from todo.phases import current_phase
from todo.repositories.factory import get_repository
from todo.runtime_flags import ReadRoute
from todo.services.dual_write_service import DualWriteService
from todo.wiring import build_verifier

SCREENSHOTS = Path(__file__).resolve().parents[2] / ".data" / "screenshots"

pytestmark = [pytest.mark.django_db(transaction=True)]


def sign_in(page: Any, url: str) -> None:
    page.goto(f"{url}/ops/sync")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "a-long-password-1")
    page.click("input[type=submit]")
    page.wait_for_selector("#readiness")


def move_reads(page: Any, collection: str, source: str, percent: int = 100) -> str:
    form = page.locator(f'#readiness tr[data-collection="{collection}"] form.reads-form')
    form.locator("select[name=source]").select_option(source)
    form.locator("input[name=percent]").fill(str(percent))
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#messages")
    return page.locator("#messages").inner_text()


def test_migration_controls_in_chromium(
    ops_db: Any, live_server: Any, django_user_model: Any, chromium_page: Any, settings: Any
) -> None:
    settings.READINESS_SHADOW_READS = 4
    django_user_model.objects.create_superuser("ops", "ops@example.com", "a-long-password-1")
    service = DualWriteService()
    ids = [str(ObjectId()) for _ in range(4)]
    for number, mongo_id in enumerate(ids):
        service.create_document("tasks", {"title": f"task {number}"}, mongo_id)
    page = chromium_page
    sign_in(page, live_server.url)
    assert page.locator("#current-phase").inner_text() == "dual_write"
    tasks_row = page.locator('#readiness tr[data-collection="tasks"]')
    assert "not ready" in tasks_row.locator("td.ready").inner_text()
    assert "no verify report" in tasks_row.locator("td.check-verify").inner_text()

    page.locator("#phase-select").select_option("read_migration")
    page.click("#phase-submit")
    page.wait_for_selector("#messages")
    assert "dual_write → read_migration" in page.locator("#messages").inner_text()
    assert page.locator("#current-phase").inner_text() == "read_migration"
    assert current_phase() == "read_migration"

    refused = move_reads(page, "tasks", "postgres")
    assert "reads not moved" in refused and "no verify report" in refused and "0 of 4 shadow reads" in refused
    assert runtime_flags.read_route("tasks") == ReadRoute("mongo")

    moved = move_reads(page, "tasks", "shadow")
    assert "tasks reads: mongo → shadow" in moved
    assert page.locator('#readiness tr[data-collection="tasks"] td.route').inner_text() == "shadow"
    for mongo_id in ids:  # the web client reading meanwhile: every read compared
        assert get_repository("tasks").get_by_id(mongo_id) is not None
    # A row drifts behind the engine's back; the verify with repair runs from the page, as a job.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM postgres_tasks WHERE mongo_id = %s", [ids[1]])
    page.goto(f"{live_server.url}/ops/sync")
    page.select_option("#job-collection", "tasks")
    page.select_option("#job-kind", "verify_repair")
    page.click("#start-job")
    page.wait_for_selector("#messages")
    job = Job.objects.get()
    page.wait_for_function(
        f"""document.querySelector('#jobs tr[data-job-id="{job.id}"] .job-status').textContent === 'done'""",
        timeout=30_000,
    )
    assert (
        page.locator(f'#jobs tr[data-job-id="{job.id}"] .job-summary').inner_text()
        == "equal after repair of 1"
    )
    page.goto(f"{live_server.url}/ops/sync")
    tasks_row = page.locator('#readiness tr[data-collection="tasks"]')
    assert tasks_row.locator("td.ready").inner_text() == "ready", tasks_row.inner_text()
    assert "the last 4 shadow reads were equal" in tasks_row.locator("td.check-shadow").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "migration-ready.png"), full_page=True)

    moved = move_reads(page, "tasks", "postgres", 50)
    assert "tasks reads: shadow → postgres 50%" in moved
    assert runtime_flags.read_route("tasks") == ReadRoute("postgres", 50)
    trail = page.locator("#flag-changes tbody tr")
    assert trail.count() == 3
    assert "staff:ops" in trail.first.inner_text() and "postgres 50%" in trail.first.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "migration-moved.png"), full_page=True)
    assert [c.new for c in FlagChange.objects.order_by("id")] == ["read_migration", "shadow", "postgres 50%"]
    assert build_verifier().run(get_registry().get("tasks")).equal  # the data, not only the page
