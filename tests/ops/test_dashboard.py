"""The sync dashboard (staff only) and the read-only admin pages of the mirror tables."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId
from django.test import Client

from dualwrite.policy import ErrorKind
from todo.mappings import get_registry
from todo.services.dual_write_service import DualWriteService
from todo.wiring import build_queue, build_verifier

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client: Client, django_user_model: Any) -> Client:
    django_user_model.objects.create_superuser("ops", "ops@example.com", "a-long-password-1")
    client.login(username="ops", password="a-long-password-1")
    return client


def outage_failure(ops_db: Any, title: str = "written during an outage") -> str:
    """A document MongoDB holds whose mirror write was recorded as failed (as during an outage)."""
    mongo_id = ObjectId()
    ops_db.get_collection("tasks").insert_one({"_id": mongo_id, "title": title, "_v": 1})
    queue = build_queue()
    queue.record_failure(
        "tasks", str(mongo_id), "create", "OperationalError: connection refused", ErrorKind.TRANSIENT
    )
    record = queue.find_unresolved("tasks", str(mongo_id))
    assert record is not None
    queue.coll.update_one({"_id": record.id}, {"$set": {"status": "FAILED", "attempts": 3}})
    return str(mongo_id)


def test_dashboard_needs_a_staff_login(ops_db: Any, client: Client, django_user_model: Any) -> None:
    response = client.get("/ops/sync")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    django_user_model.objects.create_user("plain", password="a-long-password-1")
    client.login(username="plain", password="a-long-password-1")
    assert client.get("/ops/sync").status_code == 302


def test_dashboard_shows_status_failures_history_and_verify(ops_db: Any, staff: Client) -> None:
    DualWriteService().create_document("tasks", {"title": "landed"}, str(ObjectId()))
    failing = outage_failure(ops_db)
    build_verifier().run(get_registry().get("tasks"))
    page = staff.get("/ops/sync").content.decode()
    assert 'data-collection="tasks"' in page
    assert f'data-mongo-id="{failing}"' in page and "OperationalError: connection refused" in page
    assert 'id="rate-chart"' in page and 'class="bar"' in page
    assert "drift 1" in page  # the verify found the document that failed to mirror
    assert "written during an outage" not in page  # document contents never shown


def test_retry_button_resolves_the_record(ops_db: Any, staff: Client) -> None:
    failing = outage_failure(ops_db)
    response = staff.post("/ops/sync/retry", {"collection": "tasks", "mongo_id": failing}, follow=True)
    page = response.content.decode()
    assert f"tasks {failing}: applied" in page
    assert build_queue().find_unresolved("tasks", failing) is None
    assert 'id="no-failures"' in page


def test_retry_all_and_a_bad_request(ops_db: Any, staff: Client) -> None:
    ids = [outage_failure(ops_db) for _ in range(3)]
    page = staff.post("/ops/sync/retry-all", follow=True).content.decode()
    assert "retried 3: 3 applied" in page
    assert all(build_queue().find_unresolved("tasks", i) is None for i in ids)
    bad = staff.post("/ops/sync/retry", {"collection": "nope", "mongo_id": str(ObjectId())}, follow=True)
    assert "retry refused: unknown collection" in bad.content.decode()
    bad = staff.post("/ops/sync/retry", {"collection": "tasks", "mongo_id": "x"}, follow=True)
    assert "retry refused: mongo_id must be a 24-hex ObjectId" in bad.content.decode()
    assert staff.get("/ops/sync/retry").status_code == 405


def test_admin_lists_mirror_rows_read_only(ops_db: Any, staff: Client) -> None:
    task_id = str(ObjectId())
    DualWriteService().create_document("tasks", {"title": "browse me", "labels": [ObjectId()]}, task_id)
    listing = staff.get("/admin/todo/postgrestask/")
    assert listing.status_code == 200 and task_id in listing.content.decode()
    assert staff.get(f"/admin/todo/postgrestask/?q={task_id}").status_code == 200
    assert staff.get("/admin/todo/postgrestasklabel/").status_code == 200
    assert staff.get("/admin/todo/postgrestask/add/").status_code == 403
    from todo.models.postgres import PostgresTask

    pk = PostgresTask.objects.get(mongo_id=task_id).pk
    detail = staff.get(f"/admin/todo/postgrestask/{pk}/change/")
    assert detail.status_code == 200 and "browse me" in detail.content.decode()
    assert staff.post(f"/admin/todo/postgrestask/{pk}/delete/", {"post": "yes"}).status_code == 403
    assert PostgresTask.objects.filter(mongo_id=task_id).exists()
