"""Scenario 8: adopting the existing app's database, as an operator does it, every step its own
process over the wire: a legacy database (its collection names, both id forms, ISO-string dates,
duplicates that a unique index would refuse) is in MongoDB; `prepare` skips the two unique
indexes its duplicates violate, with a warning each, and the web process starts;
`dualwrite doctor` names the duplicates and exits 0; `dualwrite backfill` mirrors it; `dualwrite
verify` finds it equal apart from the duplicate losers, reported invalid; the API serves the
legacy documents in both id forms."""

from __future__ import annotations

import json

import pytest
import requests
from bson import ObjectId

from tests.crossprocess.conftest import mongo
from tests.crossprocess.processes import Deployment
from tests.legacy.dataset import generate

pytestmark = pytest.mark.crossprocess


def test_an_existing_database_is_diagnosed_backfilled_verified_and_served(deployment: Deployment) -> None:
    db = mongo(deployment)
    legacy = generate(db, seed=7, users=20)  # about 370 documents
    assert legacy.focus is not None and legacy.duplicates

    # The planted duplicates differ in id form, which a unique index tells apart; one more, in
    # the same form, is what makes MongoDB refuse the index.
    original = db["user_team_details"].find_one({"user_id": {"$type": "string"}, "is_active": True})
    copy = {**original, "_id": ObjectId()}
    db["user_team_details"].insert_one(copy)
    losers = {name: len(legacy.losers(name)) for name in {g.collection for g in legacy.duplicates}}
    losers["user_team_details"] = losers.get("user_team_details", 0) + 1

    prepared = deployment.run("prepare")  # migrate, phase, indexes, seed: as before gunicorn
    assert prepared.returncode == 0, prepared.stderr[-2000:]
    skipped = [line for line in prepared.stderr.splitlines() if "not created" in line]
    assert len(skipped) == 1 and "user_team_details" in skipped[0], prepared.stderr[-2000:]
    deployment.prepared = True
    web = deployment.start_web("web")  # serves although that unique index is missing

    diagnosed = deployment.run("dualwrite", "doctor", "--json")
    assert diagnosed.returncode == 0, diagnosed.stderr[-2000:]
    report = json.loads(diagnosed.stdout)
    reported = {c["collection"]: c["backfill"]["skip_duplicates"] for c in report["collections"]}
    assert {k: v for k, v in reported.items() if v} == losers

    backfill = deployment.run("dualwrite", "backfill", timeout=600)
    assert backfill.returncode == 0, backfill.stderr[-2000:]
    verified = deployment.run("dualwrite", "verify", "--json", timeout=600)
    body = json.loads(verified.stdout)
    drift = {c["collection"]: c["counts"] for c in body["collections"] if not c["equal"]}
    assert drift == {
        name: {
            "missing": 0,
            "extra": 0,
            "different": 0,
            "invalid": losers[name],
            "needs_backfill": 0,
        }
        for name in {g.collection for g in legacy.duplicates}
    }, drift

    focus = legacy.focus
    email = db["users"].find_one({"_id": ObjectId(focus.user_id)})["email_id"]
    token = deployment.issue_token(email)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    teams = session.get(f"{web.base_url}/v1/teams", timeout=30)
    assert teams.status_code == 200, teams.text
    listed = {t["id"] for t in teams.json()["teams"]}
    assert {focus.string_team, focus.objectid_team} <= listed  # memberships in both id forms
