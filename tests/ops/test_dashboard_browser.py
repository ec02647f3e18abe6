"""The sync dashboard in a real headless Chromium: staff login, the page, a click on Retry, and
the record resolving. Screenshots go to .data/screenshots/ (git-ignored)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from todo.mappings import get_registry
from todo.services.dual_write_service import DualWriteService
from todo.services.dual_write_setup import build_queue
from todo.services.operations_setup import build_verifier, history_sampler

from .test_dashboard import outage_failure

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
