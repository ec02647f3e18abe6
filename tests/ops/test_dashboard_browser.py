"""The sync dashboard in a real headless Chromium: staff login, the page, a click on Retry, and
the record resolving; a verify-with-repair job started from the page, its live progress and report. Screenshots go to .data/screenshots/ (git-ignored)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from todo.mappings import get_registry
from todo.models.postgres.operations import Job
from todo.services import jobs
from todo.services.dual_write_service import DualWriteService
from todo.wiring import build_backfiller, build_queue, build_verifier, history_sampler

from .conftest import insert_tasks
from .test_dashboard import outage_failure
from .test_jobs import drift

SCREENSHOTS = Path(__file__).resolve().parents[2] / ".data" / "screenshots"

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_dashboard_in_chromium_retry_click_resolves_the_record(
    ops_db: Any, live_server: Any, django_user_model: Any, chromium_page: Any
) -> None:
    django_user_model.objects.create_superuser("ops", "ops@example.com", "a-long-password-1")
    history_sampler().flush()  # the chart counts the writes from here on
    service = DualWriteService()
    for number in range(12):
        service.create_document("tasks", {"title": f"task {number}", "labels": [ObjectId()]}, str(ObjectId()))
    failing = outage_failure(ops_db)
    build_verifier().run(get_registry().get("tasks"))

    page = chromium_page
    page.goto(f"{live_server.url}/ops/sync")
    assert "/admin/login/" in page.url  # staff only
    page.fill("#id_username", "ops")
    page.fill("#id_password", "a-long-password-1")
    page.click("input[type=submit]")
    page.wait_for_selector("#collections")
    assert page.url.endswith("/ops/sync")
    row = page.locator(f'tr[data-mongo-id="{failing}"]')
    assert row.count() == 1 and "FAILED" in row.inner_text()
    assert page.locator("#rate-chart rect.bar").count() == 60
    assert page.locator("#total-failed").inner_text() == "1"
    assert int(page.locator("#writes-last-hour").inner_text()) >= 12
    assert page.locator("#latency-chart circle.dot").count() >= 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    before = SCREENSHOTS / "dashboard.png"
    page.screenshot(path=str(before), full_page=True)
    assert before.stat().st_size > 10_000

    row.locator("button.retry").click()
    page.wait_for_selector("#messages")
    assert f"tasks {failing}: applied" in page.locator("#messages").inner_text()
    assert page.locator(f'tr[data-mongo-id="{failing}"]').count() == 0
    assert page.locator("#no-failures").is_visible()
    assert page.locator("#total-failed").inner_text() == "0"
    page.screenshot(path=str(SCREENSHOTS / "dashboard-after-retry.png"), full_page=True)
    assert build_queue().find_unresolved("tasks", failing) is None


def test_verify_repair_job_from_the_page_shows_live_progress_and_its_report(
    tasks: Any, live_server: Any, django_user_model: Any, chromium_page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    django_user_model.objects.create_superuser("ops", "ops@example.com", "a-long-password-1")
    ids = [str(i) for i in insert_tasks(tasks, 150, seed=11)]
    build_backfiller(batch_size=100).run(get_registry().get("tasks"))
    drift(ids)  # three drifting rows
    # The job waits at a gate until the page shows it running: then its progress must arrive by
    # the page's poller, not by a reload.
    gate = threading.Event()
    real_build_verifier = jobs.build_verifier

    def gated_verifier() -> Any:
        verifier = real_build_verifier()
        run = verifier.run

        def run_after_gate(*args: Any, **kwargs: Any) -> Any:
            assert gate.wait(30), "the test never opened the gate"
            return run(*args, **kwargs)

        verifier.run = run_after_gate
        return verifier

    monkeypatch.setattr(jobs, "build_verifier", gated_verifier)

    page = chromium_page
    page.goto(f"{live_server.url}/admin/login/?next=/ops/sync")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "a-long-password-1")
    page.click("input[type=submit]")
    page.wait_for_selector("#jobs")
    page.select_option("#job-collection", "tasks")
    page.select_option("#job-kind", "verify_repair")
    page.click("#start-job")
    page.wait_for_selector("#messages")
    job = Job.objects.get()
    assert f"started verify_repair of tasks (job {job.id})" in page.locator("#messages").inner_text()
    row = page.locator(f'#jobs tr[data-job-id="{job.id}"]')
    assert row.locator(".job-status").inner_text() in ("queued", "running")
    page.evaluate("window.notReloaded = true")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#jobs").screenshot(path=str(SCREENSHOTS / "jobs-running.png"))

    gate.set()
    page.wait_for_function(
        f"""document.querySelector('#jobs tr[data-job-id="{job.id}"] .job-status').textContent === 'done'"""
    )
    assert page.evaluate("window.notReloaded") is True  # the poller updated the row in place
    assert row.locator(".percent").inner_text() == "100 %"
    assert row.locator(".progress").get_attribute("aria-valuenow") == "100"
    assert row.locator(".job-summary").inner_text() == "equal after repair of 3"
    page.screenshot(path=str(SCREENSHOTS / "jobs-done.png"), full_page=True)

    row.locator("a.job-link").click()
    page.wait_for_selector("#job-report")
    assert page.url.endswith(f"/ops/jobs/{job.id}")
    assert page.locator("#job-verdict").inner_text() == "equal after repair of 3"
    assert page.locator(".job-status").inner_text() == "done"
    report_text = page.locator("#job").inner_text()
    assert "mended" in report_text and "tampered" not in report_text
    page.screenshot(path=str(SCREENSHOTS / "job-report.png"), full_page=True)
    assert build_verifier().run(get_registry().get("tasks")).equal  # the data, not only the page
