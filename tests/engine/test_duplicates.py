"""The duplicate rule on the live write path: a document whose domain-unique key (after the two id
forms are canonicalised) a live row already holds is not mirrored; the MongoDB write stands, the
call does not raise, and the refusal is a permanent, reported rejection naming the holder."""

from __future__ import annotations

import logging

import pytest
from bson import ObjectId

from dualwrite.queue import QUEUE_COLLECTION
from dualwrite.verify import INVALID, MISSING
from tests.engine.helpers import row
from todo.db.mongo_manager import DatabaseManager
from todo.mappings import get_registry
from todo.repositories.mongo_repository import UserTeamDetailsRepository
from todo.wiring import build_backfiller, build_verifier, build_worker

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_live_duplicate_membership_is_written_to_mongodb_and_reported_not_mirrored(
    dual_write, caplog
) -> None:
    user, team = ObjectId(), ObjectId()
    memberships = DatabaseManager.get().get_collection("user_team_details")
    # The existing app's membership: string ids, as its inserts store them; mirrored by backfill.
    legacy = ObjectId()
    memberships.insert_one({"_id": legacy, "user_id": str(user), "team_id": str(team), "is_active": True})
    mapping = get_registry().get("user_team_details")
    assert build_backfiller().run(mapping).written == 1

    with caplog.at_level(logging.ERROR):
        made = UserTeamDetailsRepository().create(
            {"user_id": str(user), "team_id": str(team), "is_active": True}
        )
    assert memberships.count_documents({}) == 2  # the MongoDB write stands
    assert row("user_team_details", made.id) is None  # not mirrored
    assert row("user_team_details", str(legacy)) is not None

    queue = DatabaseManager.get().get_collection(QUEUE_COLLECTION)
    record = queue.find_one({"mongo_id": made.id})
    assert record["status"] == "FAILED" and record["error_kind"] == "permanent" and record["attempts"] == 1
    assert f"duplicate of {legacy} (same user_id, team_id)" in record["error"]
    assert str(user) not in record["error"] and str(team) not in record["error"]
    critical = [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]
    assert any(made.id in message and "duplicate of" in message for message in critical)
    # Permanent: the worker does not retry it.
    assert build_worker(dual_write.engine).run_once().processed == 0

    report = build_verifier().run(mapping)
    assert report.counts[INVALID] == 1 and report.counts[MISSING] == 0, report.as_dict()
    [drift] = report.samples
    assert drift.as_dict() == {
        "kind": INVALID,
        "mongo_id": made.id,
        "fields": ["user_id", "team_id"],
        "reason": f"duplicate of {legacy}",
    }


def test_when_the_holder_is_deleted_the_duplicate_is_mirrored_by_repair(dual_write) -> None:
    user, team = ObjectId(), ObjectId()
    engine = dual_write.engine
    first, second = str(ObjectId()), str(ObjectId())
    assert engine.create("user_team_details", first, {"user_id": user, "team_id": team}).mirrored
    assert not engine.create(
        "user_team_details", second, {"user_id": str(user), "team_id": str(team)}
    ).mirrored
    assert engine.delete("user_team_details", first).mirrored
    mapping = get_registry().get("user_team_details")
    report = build_verifier().run(mapping)
    assert report.counts[MISSING] == 1 and report.counts[INVALID] == 0  # the key is free again
    repaired = build_verifier().run(mapping, repair=True)
    assert repaired.equal, repaired.as_dict()
    assert row("user_team_details", second) is not None
