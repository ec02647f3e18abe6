"""Onboarding an existing database: doctor reports what backfill will make of legacy-shaped data
(read-only), backfill mirrors the winners of duplicates and rejects the losers without failing,
and verify reports the losers invalid (not missing). The /ops/doctor page is staff only."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from bson import ObjectId
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from pymongo.errors import ServerSelectionTimeoutError

from dualwrite.verify import INVALID, KINDS, MISSING
from todo.db.mongo_manager import DatabaseManager
from todo.mappings import get_registry
from todo.services import doctor
from todo.wiring import build_backfiller, build_queue, build_verifier

pytestmark = pytest.mark.django_db

SECRET = "Secret title"  # a value that must never appear in a report


@pytest.fixture
def legacy(mongo_db: DatabaseManager) -> dict[str, Any]:
    """The existing app's data as it is: no unique indexes, ids in both forms, ISO dates."""
    db = mongo_db.db
    user, team, other_team, task = ObjectId(), ObjectId(), ObjectId(), ObjectId()
    ids = {name: ObjectId() for name in ("m_old", "m_dup", "m_other", "w_old", "w_dup", "w_other")}
    ids |= {f"t{n}": ObjectId() for n in range(5)}
    db["user_team_details"].insert_many([
        # inserted with string ids, a key the model drops (role_id), an ISO-8601 date
        {"_id": ids["m_old"], "user_id": str(user), "team_id": str(team), "is_active": True,
         "role_id": "1", "created_at": "2024-03-01T10:00:00+00:00"},
        # the same membership again, with ObjectIds (as after a later $set)
        {"_id": ids["m_dup"], "user_id": user, "team_id": team, "is_active": True},
        {"_id": ids["m_other"], "user_id": user, "team_id": other_team, "is_active": False},
    ])  # fmt: skip
    db["watchlist"].insert_many([
        {"_id": ids["w_old"], "taskId": str(task), "userId": str(user), "isActive": True},
        {"_id": ids["w_dup"], "taskId": task, "userId": user, "isActive": False},
        {"_id": ids["w_other"], "taskId": ObjectId(), "userId": user, "isActive": True},
    ])  # fmt: skip
    db["tasks"].insert_many([
        {"_id": ids["t0"], "title": SECRET, "priority": 1, "createdBy": str(user), "createdAt": "2024-01-02T03:04:05Z"},
        {"_id": ids["t1"], "title": "b", "priority": 2, "createdBy": user, "labels": [str(ObjectId()), ObjectId()]},
        {"_id": ids["t2"], "title": "c", "createdBy": "system"},
        {"_id": ids["t3"], "title": SECRET, "priority": "urgent", "createdBy": user},
        {"_id": ids["t4"], "title": SECRET, "createdBy": "not-an-id"},
    ])  # fmt: skip
    return {k: str(v) for k, v in ids.items()}


def _mongo_state() -> dict[str, int]:
    db = DatabaseManager.get().db
    return {name: db[name].count_documents({}) for name in sorted(db.list_collection_names())}


def _postgres_rows() -> int:
    total = 0
    with connection.cursor() as cursor:
        for mapping in get_registry():
            cursor.execute(f'SELECT count(*) FROM "{mapping.table}"')
            total += int(cursor.fetchone()[0])
    return total


def _doctor_json() -> dict[str, Any]:
    out = io.StringIO()
    call_command("dualwrite", "doctor", "--json", stdout=out)
    return json.loads(out.getvalue())


def _by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["collection"]: c for c in report["collections"]}


def test_doctor_reports_duplicates_unmappable_documents_and_id_forms_and_writes_nothing(
    legacy: dict[str, str],
) -> None:
    before = (_mongo_state(), _postgres_rows())
    report = _doctor_json()
    assert (_mongo_state(), _postgres_rows()) == before  # read-only: no document, row or collection
    assert report["ok"] is True and report["blocking"] == []
    found = _by_name(report)

    memberships = found["user_team_details"]
    assert (memberships["mongo_collection"], memberships["documents"], memberships["invalid"]) == (
        "user_team_details", 3, 0,
    )  # fmt: skip
    assert memberships["duplicates"] == [
        {
            "fields": ["user_id", "team_id"],
            "groups": 1,
            "documents": 2,
            "losers": 1,
            "examples": [{"winner": legacy["m_old"], "losers": [legacy["m_dup"]]}],
        }
    ]
    assert memberships["id_forms"] == {
        "user_id": {"string": 1, "objectid": 2},
        "team_id": {"string": 1, "objectid": 2},
    }
    assert memberships["backfill"] == {"write": 2, "skip_invalid": 0, "skip_duplicates": 1}

    watchlists = found["watchlists"]
    assert (watchlists["mongo_collection"], watchlists["documents"]) == ("watchlist", 3)
    [duplicates] = watchlists["duplicates"]
    assert (duplicates["fields"], duplicates["groups"], duplicates["documents"]) == (
        ["userId", "taskId"],
        1,
        2,
    )
    assert duplicates["examples"] == [{"winner": legacy["w_old"], "losers": [legacy["w_dup"]]}]
    assert watchlists["id_forms"] == {
        "taskId": {"string": 1, "objectid": 2},
        "userId": {"string": 1, "objectid": 2},
    }
    assert watchlists["backfill"] == {"write": 2, "skip_invalid": 0, "skip_duplicates": 1}

    tasks = found["tasks"]
    assert (tasks["documents"], tasks["invalid"], tasks["duplicates"]) == (5, 2, [])
    assert [(u["field"], u["count"], u["ids"]) for u in tasks["unmappable"]] == [
        ("createdBy", 1, [legacy["t4"]]),
        ("priority", 1, [legacy["t3"]]),
    ]
    assert tasks["unmappable"][0]["reason"] == "expected an ObjectId or a 24-hex string, got a string"
    # "system" is a literal, not an id; labels hold one string and one ObjectId in one document.
    assert tasks["id_forms"]["createdBy"] == {"string": 1, "objectid": 2}
    assert tasks["id_forms"]["labels[]"] == {"string": 1, "objectid": 1}
    assert tasks["backfill"] == {"write": 3, "skip_invalid": 2, "skip_duplicates": 0}
    assert found["users"]["documents"] == 0 and found["users"]["exists"] is False

    text = json.dumps(report)
    for value in (SECRET, "urgent", "not-an-id", "2024-03-01"):
        assert value not in text


def test_backfill_mirrors_the_oldest_of_each_duplicate_and_verify_reports_the_others_invalid(
    legacy: dict[str, str],
) -> None:
    registry = get_registry()
    memberships, watchlists, tasks = (registry.get(n) for n in ("user_team_details", "watchlists", "tasks"))
    # Batches of 2 (the duplicates of a pair land in one batch, which is split on refusal), then
    # one batch of all again: the same outcome, the run never fails.
    for mapping, documents, (written, rejected, duplicates) in (
        (memberships, 3, (2, 1, 1)),
        (watchlists, 3, (2, 1, 1)),
        (tasks, 5, (3, 2, 0)),
    ):
        for size in (2, 1000):
            report = build_backfiller(batch_size=size).run(mapping, restart=True)
            outcome = (report.finished, report.processed, report.written, report.rejected, report.duplicates)
            assert outcome == (True, documents, written, rejected, duplicates), report.as_dict()
    with connection.cursor() as cursor:
        cursor.execute("SELECT mongo_id, extra FROM postgres_user_team_details ORDER BY mongo_id")
        rows = dict(cursor.fetchall())
    assert set(rows) == {legacy["m_old"], legacy["m_other"]}
    assert json.loads(rows[legacy["m_old"]]) == {"role_id": "1"}
    record = build_queue().find_unresolved("user_team_details", legacy["m_dup"])
    assert record is not None and record.status == "FAILED" and record.error_kind == "permanent"
    assert f"duplicate of {legacy['m_old']}" in record.error

    for mapping, loser, fields in (
        (memberships, legacy["m_dup"], ["user_id", "team_id"]),
        (watchlists, legacy["w_dup"], ["userId", "taskId"]),
    ):
        verdict = build_verifier().run(mapping)
        assert verdict.counts == {**dict.fromkeys(KINDS, 0), INVALID: 1}, verdict.as_dict()
        winner = legacy["m_old"] if mapping is memberships else legacy["w_old"]
        assert [d.as_dict() for d in verdict.samples] == [
            {"kind": INVALID, "mongo_id": loser, "fields": fields, "reason": f"duplicate of {winner}"}
        ]
        repaired = build_verifier().run(mapping, repair=True)  # repair leaves the loser alone
        assert repaired.counts[INVALID] == 1 and repaired.counts[MISSING] == 0
    verdict = build_verifier().run(tasks)
    assert verdict.counts == {**dict.fromkeys(KINDS, 0), INVALID: 2}, verdict.as_dict()


def test_doctor_blocks_a_collection_mostly_unmappable_and_fails_in_one_line_without_mongodb(
    mongo_db: DatabaseManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    mongo_db.db["tasks"].insert_many([{"_id": ObjectId(), "title": 7} for _ in range(3)])
    with pytest.raises(CommandError) as blocked:
        call_command("dualwrite", "doctor", stdout=io.StringIO())
    assert blocked.value.returncode == 1 and "3 of 3 documents cannot be mapped" in str(blocked.value)

    def unreachable(*_args: Any) -> Any:
        raise ServerSelectionTimeoutError("no servers")

    monkeypatch.setattr(doctor, "diagnose_collection", unreachable)
    with pytest.raises(CommandError) as failed:
        call_command("dualwrite", "doctor", stdout=io.StringIO())
    assert failed.value.returncode == 2
    assert str(failed.value) == "doctor: MongoDB could not be read: ServerSelectionTimeoutError"


def test_doctor_page_is_staff_only_and_shows_the_report(
    legacy: dict[str, str], client: Client, django_user_model: Any
) -> None:
    for path in ("/ops/doctor", "/ops/doctor.json"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    django_user_model.objects.create_user("plain", password="a-long-password-1")
    client.login(username="plain", password="a-long-password-1")
    assert client.get("/ops/doctor").status_code == 302
    django_user_model.objects.create_superuser("ops", "ops@example.com", "a-long-password-1")
    client.login(username="ops", password="a-long-password-1")
    before = (_mongo_state(), _postgres_rows())
    page = client.get("/ops/doctor").content.decode()
    assert 'id="doctor-verdict"' in page and "backfill can proceed" in page
    assert (
        '<tr data-collection="watchlists"><td><code>watchlists</code></td><td><code>watchlist</code>' in page
    )
    assert f"<code>{legacy['m_old']}</code> ← <code>{legacy['m_dup']}</code>" in page
    assert legacy["t3"] in page and "priority" in page
    assert SECRET not in page and "urgent" not in page and "not-an-id" not in page
    assert 'id="no-unmappable"' not in page and 'id="no-duplicates"' not in page  # findings shown
    assert client.get("/ops/doctor.json").json() == _doctor_json()
    assert (_mongo_state(), _postgres_rows()) == before
    assert 'href="/ops/doctor"' in client.get("/ops/sync").content.decode()  # linked from the dashboard


def test_the_doctor_page_of_a_clean_database_says_there_is_nothing_to_fix(
    ops_db: Any, client: Client, django_user_model: Any
) -> None:
    ops_db.get_collection("watchlists").insert_one({"userId": str(ObjectId()), "taskId": str(ObjectId())})
    django_user_model.objects.create_superuser("ops", "ops@example.com", "a-long-password-1")
    client.login(username="ops", password="a-long-password-1")
    page = client.get("/ops/doctor").content.decode()
    assert 'id="no-unmappable"' in page and 'id="no-duplicates"' in page and "backfill can proceed" in page
