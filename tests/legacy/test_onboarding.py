"""Onboarding an existing deployment: a generated legacy MongoDB (tests/legacy/dataset.py) is
backfilled through the builders the CLI uses, verified, resumed after an interruption, then served
through the API with dual write on, and verified again.

The planted duplicates (a membership stored with string ids and again with ObjectIds; a second
watchlist entry for one user and task) are the only drift allowed: the oldest `_id` of each group
wins, every other document of the group is reported `invalid` by verify. Each flow starts as an
operator does, with the doctor (`dualwrite doctor`): it names exactly the planted duplicates, the id
forms, and what backfill will do, and writes nothing.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from bson import ObjectId
from django.db import connection

from dualwrite.checkpoint import FINISHED, RUNNING, CheckpointStore, Shard
from dualwrite.mapping import ArrayTable, CollectionMapping, EmbeddedTable
from dualwrite.types import ObjectIdRef, Timestamp
from dualwrite.verify import INVALID, KINDS, VerifyReport
from tests.legacy.dataset import PHYSICAL, LegacySummary
from todo.db.mongo_manager import DatabaseManager
from todo.mappings import get_registry
from todo.services import doctor
from todo.wiring import build_backfiller, build_checkpoints, build_verifier

pytestmark = pytest.mark.django_db(transaction=True)

BATCH = 40  # several batches per large collection


# -- helpers -------------------------------------------------------------------------------------
def _rows(sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return list(cursor.fetchall())


def _live_rows(mapping: CollectionMapping) -> int:
    table = mapping.model._meta.db_table
    return int(_rows(f"SELECT count(*) FROM {table} WHERE NOT source_deleted")[0][0])


def _backfill_all(batch_size: int = BATCH) -> dict[str, Any]:
    """What `manage.py dualwrite backfill` does: every mapping, through the CLI's builder."""
    backfiller = build_backfiller(batch_size)
    return {mapping.collection: backfiller.run(mapping) for mapping in get_registry()}


def _verify_all() -> dict[str, VerifyReport]:
    verifier = build_verifier()
    return {mapping.collection: verifier.run(mapping) for mapping in get_registry()}


def _drift_ids(report: VerifyReport, kind: str) -> set[str]:
    return {d.mongo_id for d in report.samples if d.kind == kind}


def doctor_step(legacy: LegacySummary) -> None:
    """What an operator runs first: the doctor reports the planted duplicates (and their winners),
    both id forms, and the backfill plan, and changes nothing in either store."""
    before = {
        m.collection: DatabaseManager.get().get_collection(m.collection).count_documents({})
        for m in get_registry()
    }
    diagnosis = doctor.diagnose()
    assert diagnosis.ok, diagnosis.blocking
    for found in diagnosis.collections:
        losers = legacy.losers(found.collection)
        assert found.documents == legacy.mirrored(found.collection), found.collection
        assert found.duplicate_losers == len(losers), found.as_dict()
        assert found.backfill == {
            "write": legacy.mirrored(found.collection) - len(losers), "skip_invalid": 0,
            "skip_duplicates": len(losers),
        }, found.collection  # fmt: skip
        planted = {g.winner: set(g.losers) for g in legacy.duplicates if g.collection == found.collection}
        reported = {e["winner"]: set(e["losers"]) for d in found.duplicates for e in d.examples}
        assert reported == planted, found.collection
    memberships = next(c for c in diagnosis.collections if c.collection == "user_team_details")
    assert memberships.id_forms["user_id"]["string"] > 0 and memberships.id_forms["user_id"]["objectid"] > 0
    after = {
        m.collection: DatabaseManager.get().get_collection(m.collection).count_documents({})
        for m in get_registry()
    }
    assert after == before
    assert sum(_live_rows(m) for m in get_registry()) == 0  # nothing written to Postgres either


def assert_only_the_losers_drift(legacy: LegacySummary, reports: dict[str, VerifyReport]) -> None:
    """Every document of every collection is mirrored equal, except the planted duplicate losers
    (whatever verify calls them); the winners are mirrored."""
    for mapping in get_registry():
        name = mapping.collection
        report = reports[name]
        losers = legacy.losers(name)
        assert report.documents == legacy.mirrored(name), name
        assert (name, report.drift) == (name, len(losers)), report.as_dict()
        assert {d.mongo_id for d in report.samples} == losers, name


def assert_losers_are_invalid(legacy: LegacySummary, reports: dict[str, VerifyReport]) -> None:
    """The target: verify reports each duplicate loser `invalid` and nothing else. Fails until
    duplicate resolution (branch `doctor`) lands: today verify counts the losers `missing` (the
    backfill's Postgres write of each loser hits the live-unique index and is queued for retry)."""
    for mapping in get_registry():
        name = mapping.collection
        losers = legacy.losers(name)
        expected = dict.fromkeys(KINDS, 0) | {INVALID: len(losers)}
        assert (name, reports[name].counts) == (name, expected), reports[name].as_dict()
        assert _drift_ids(reports[name], INVALID) == losers, name


# -- the generated data --------------------------------------------------------------------------
def _reference_forms(mapping: CollectionMapping, document: dict[str, Any], tally: Counter[str]) -> None:
    def count(value: Any, kind: Any) -> None:
        if isinstance(kind, ObjectIdRef) and value is not None and value not in kind.literals:
            tally["objectid" if isinstance(value, ObjectId) else "string"] += 1
        if isinstance(kind, Timestamp) and isinstance(value, str):
            tally["iso"] += 1

    for f in mapping.fields:
        count(document.get(f.source), f.type)
    for child in mapping.children:
        if isinstance(child, ArrayTable):
            for item in document.get(child.source) or []:
                count(item, child.item_type)
        elif isinstance(child, EmbeddedTable) and document.get(child.source):
            for f in child.fields:
                count(document[child.source].get(f.source), f.type)


def test_the_generated_legacy_database_holds_every_quirk_in_its_stated_counts(legacy: LegacySummary) -> None:
    raw = DatabaseManager.get().db
    assert {n: raw[n].count_documents({}) for n in legacy.documents} == legacy.documents
    assert raw["counters"].find_one({"_id": "taskDisplayId"})["seq"] == legacy.documents["tasks"]
    for mapping in get_registry():
        physical = PHYSICAL.get(mapping.collection, mapping.collection)
        assert mapping.mongo_collection == physical
        # the app's name reaches the physical collection
        assert DatabaseManager.get().get_collection(mapping.collection).count_documents(
            {}
        ) == legacy.mirrored(mapping.collection)
        tally: Counter[str] = Counter()
        for document in raw[physical].find():
            assert isinstance(document["_id"], ObjectId)
            _reference_forms(mapping, document, tally)
        assert tally["string"] == legacy.string_refs.get(physical, 0), physical
        assert tally["objectid"] == legacy.objectid_refs.get(physical, 0), physical
        assert tally["iso"] == legacy.iso_dates.get(physical, 0), physical
    # the same field holds both forms across documents
    forms = {type(d["user_id"]) for d in raw["user_team_details"].find()}
    assert forms == {str, ObjectId}
    # soft deletes under each collection's own flag
    assert raw["tasks"].count_documents({"isDeleted": True}) == legacy.soft_deleted["tasks"]
    assert raw["watchlist"].count_documents({"isActive": False}) == legacy.soft_deleted["watchlist"]
    assert raw["task_details"].count_documents({"is_active": False}) == legacy.soft_deleted["task_details"]
    assert raw["labels"].count_documents({"isDeleted": True}) == legacy.soft_deleted["labels"]
    assert (
        raw["user_team_details"].count_documents({"role_id": "1"})
        == legacy.dropped_keys["user_team_details.role_id"]
    )
    assert (
        raw["audit_logs"].count_documents({"details": {"$exists": True}})
        == legacy.dropped_keys["audit_logs.details"]
    )
    used = raw["team_creation_invite_codes"].find_one({"is_used": True})
    assert isinstance(used["used_by"], str) and isinstance(used["used_at"], str)
    # the planted duplicates: same key, both id forms in the membership groups
    assert len(legacy.duplicates) == 3
    for group in legacy.duplicates:
        documents = list(
            raw[group.physical].find({"_id": {"$in": [ObjectId(i) for i in group.ids]}}).sort("_id")
        )
        assert [str(d["_id"]) for d in documents] == list(group.ids)
        keys = {tuple(str(d[k]) for k in group.key) for d in documents}
        assert len(keys) == 1, group
        assert {type(d[group.key[0]]) for d in documents} == {str, ObjectId}


# -- backfill and verify -------------------------------------------------------------------------
def test_backfill_of_the_legacy_database_equals_mongodb_apart_from_the_duplicate_losers(
    legacy: LegacySummary,
) -> None:
    doctor_step(legacy)
    reports = _backfill_all()
    for mapping in get_registry():
        report = reports[mapping.collection]
        assert report.finished and report.processed == legacy.mirrored(mapping.collection), report.as_dict()
        winners = legacy.mirrored(mapping.collection) - len(legacy.losers(mapping.collection))
        assert _live_rows(mapping) == winners, mapping.collection
    verdict = _verify_all()
    assert_only_the_losers_drift(legacy, verdict)
    assert_losers_are_invalid(legacy, verdict)


# -- interrupted and resumed -----------------------------------------------------------------------
class Interrupted(Exception):
    """The injected failure: the process dies between a committed batch and its checkpoint."""


def test_an_interrupted_backfill_resumes_from_its_checkpoint_and_completes_without_duplicates(
    legacy: LegacySummary, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch, interrupted_at = 20, 60
    target = get_registry().get("task_assignments")  # the physical `task_details`, both id forms
    real_save = CheckpointStore.save

    def failing_save(self: CheckpointStore, checkpoint: Any) -> None:
        if checkpoint.collection == target.collection and checkpoint.processed == interrupted_at:
            raise Interrupted  # the batch of documents 41..60 is committed, its position is not
        real_save(self, checkpoint)

    monkeypatch.setattr(CheckpointStore, "save", failing_save)
    with pytest.raises(Interrupted):
        _backfill_all(batch)
    saved = build_checkpoints().load(target.collection, Shard())
    assert saved is not None and saved.status == RUNNING
    assert saved.processed == interrupted_at - batch
    assert _live_rows(target) == interrupted_at  # committed ahead of the checkpoint
    later = get_registry().get("watchlists")  # after task_assignments: never started
    assert build_checkpoints().load(later.collection, Shard()) is None and _live_rows(later) == 0

    monkeypatch.setattr(CheckpointStore, "save", real_save)
    reports = _backfill_all(batch)
    resumed = reports[target.collection]
    assert resumed.resumed_after == str(saved.last_id)
    assert resumed.processed == legacy.mirrored(target.collection)  # 40 before + the rest now
    for mapping in get_registry():
        name = mapping.collection
        assert reports[name].finished and build_checkpoints().load(name, Shard()).status == FINISHED
        table = mapping.model._meta.db_table
        assert (
            _rows(f"SELECT count(*), count(DISTINCT mongo_id) FROM {table}")[0]
            == (legacy.mirrored(name) - len(legacy.losers(name)),) * 2
        ), name
    labels = sum(len(d["labels"]) for d in DatabaseManager.get().db["tasks"].find())
    assert _rows("SELECT count(*) FROM postgres_task_labels")[0][0] == labels
    deferred = DatabaseManager.get().db["tasks"].count_documents({"deferredDetails": {"$ne": None}})
    assert _rows("SELECT count(*) FROM postgres_deferred_details")[0][0] == deferred
    verdict = _verify_all()
    assert_only_the_losers_drift(legacy, verdict)
    assert_losers_are_invalid(legacy, verdict)


# -- served with dual write ------------------------------------------------------------------------
def _both_forms(value: str) -> dict[str, Any]:
    return {"$in": [value, ObjectId(value)]}


def _row(table: str, columns: str, mongo_id: str) -> tuple[Any, ...] | None:
    found = _rows(f"SELECT {columns} FROM {table} WHERE mongo_id = %s AND NOT source_deleted", [mongo_id])
    return found[0] if found else None


def test_the_onboarded_data_is_served_in_both_id_forms_and_dual_writes_stay_equal(
    legacy: LegacySummary,
) -> None:
    from django.test import Client

    from todo.auth import tokens

    _backfill_all()
    assert_only_the_losers_drift(legacy, _verify_all())
    focus = legacy.focus
    assert focus is not None
    raw = DatabaseManager.get().db  # the physical collections, read apart from the app
    api = Client(HTTP_AUTHORIZATION=f"Bearer {tokens.issue(focus.user_id)}")

    # My teams: memberships stored with 24-hex strings and with ObjectIds are both found, once each.
    memberships = raw["user_team_details"].find({"user_id": _both_forms(focus.user_id), "is_active": True})
    mine = {str(m["team_id"]) for m in memberships}
    live_teams = {str(t["_id"]) for t in raw["teams"].find({"is_deleted": False})}
    response = api.get("/v1/teams", {"limit": 200})
    assert response.status_code == 200, response.json()
    teams = [t["id"] for t in response.json()["teams"]]
    assert {focus.string_team, focus.objectid_team} <= set(teams)
    assert sorted(teams) == sorted(mine & live_teams)  # the duplicated membership lists its team once

    # My tasks: assignments whose assignee_id is a string and an ObjectId are both found.
    assigned = raw["task_details"].find(
        {"assignee_id": _both_forms(focus.user_id), "user_type": "user", "is_active": True}
    )
    # the default list leaves out DONE tasks (none of the generated deferrals is still ahead)
    live_tasks = {str(t["_id"]) for t in raw["tasks"].find({"isDeleted": False, "status": {"$ne": "DONE"}})}
    response = api.get("/v1/tasks", {"limit": 200})
    assert response.status_code == 200, response.json()
    tasks = {t["id"] for t in response.json()["tasks"]}
    assert {*focus.string_assigned_tasks, *focus.objectid_assigned_tasks} <= tasks
    assert tasks == {str(a["task_id"]) for a in assigned} & live_tasks

    # My watchlist: entries with string ids and with ObjectIds.
    response = api.get("/v1/watchlist/tasks", {"limit": 200})
    assert response.status_code == 200, response.json()
    watched = [t["taskId"] for t in response.json()["tasks"]]
    assert {focus.watched_string_task, focus.watched_objectid_task} <= set(watched)
    assert len(watched) == len(set(watched))  # the duplicate entry does not list its task twice
    check = api.get("/v1/watchlist/tasks/check", {"task_id": focus.watched_string_task})
    assert check.status_code == 200 and check.json()["data"]["in_watchlist"] is True

    # Unwatch the task whose legacy entry holds string ids: the oldest entry (the winner) changes.
    group = next(g for g in legacy.duplicates if g.collection == "watchlists")
    response = api.patch(
        f"/v1/watchlist/tasks/{focus.watched_string_task}",
        {"isActive": False},
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["id"] == group.winner
    assert raw["watchlist"].find_one({"_id": ObjectId(group.winner)})["isActive"] is False
    assert _row("postgres_watchlists", "is_active, task_id", group.winner) == (
        False,
        focus.watched_string_task,
    )

    # Watch another task: a new entry in the physical `watchlist` collection, mirrored.
    response = api.post(
        "/v1/watchlist/tasks", {"taskId": focus.unwatched_task}, content_type="application/json"
    )
    assert response.status_code == 201, response.json()
    entry = response.json()["data"]["id"]
    assert raw["watchlist"].count_documents({"_id": ObjectId(entry)}) == 1
    assert _row("postgres_watchlists", "is_active, user_id", entry) == (True, focus.user_id)

    # Rename a legacy task whose createdBy is a 24-hex string (the creator may change it).
    renamed = "Renamed after onboarding"
    task_id = focus.created_task_string_creator
    response = api.patch(f"/v1/tasks/{task_id}", {"title": renamed}, content_type="application/json")
    assert response.status_code == 200, response.json()
    assert raw["tasks"].find_one({"_id": ObjectId(task_id)})["title"] == renamed
    assert _row("postgres_tasks", "title, created_by", task_id) == (renamed, focus.user_id)

    # Create a task: its display id continues the legacy counter.
    seq = raw["counters"].find_one({"_id": "taskDisplayId"})["seq"]
    response = api.post(
        "/v1/tasks", {"title": "First task after onboarding"}, content_type="application/json"
    )
    assert response.status_code == 201, response.json()
    created = response.json()["data"]
    assert created["displayId"] == f"#{seq + 1}"
    assert raw["counters"].find_one({"_id": "taskDisplayId"})["seq"] == seq + 1
    assert _row("postgres_tasks", "display_id", created["id"]) == (f"#{seq + 1}",)

    # The writes went to the physical collections and stay mirrored: equal again, apart from the losers.
    after = {n: raw[n].count_documents({}) for n in legacy.documents}
    grown = {n: after[n] - legacy.documents[n] for n in after if after[n] != legacy.documents[n]}
    assert grown == {"watchlist": 1, "tasks": 1}  # the new entry and the new task, nothing else
    legacy.documents = after
    verdict = _verify_all()
    assert_only_the_losers_drift(legacy, verdict)
    assert_losers_are_invalid(legacy, verdict)
