"""One row Postgres refuses (a unique google_id already held by another row) among concurrent
writes through the real HTTP API: a duplicate by a domain-unique key, so that one write is recorded
FAILED at once (a permanent rejection naming the holder, `dualwrite.uniqueness`), every other
write proceeds and matches, and once the cause is gone a retry mends it."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId
from django.core.management import call_command

from tests.faults.conftest import FaultSize, drain, drift, lost_writes, pending_records
from tests.faults.harness import Fleet, sign_in
from todo.db.mongo_manager import DatabaseManager
from todo.models.postgres import PostgresUser

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

DOOMED = "doomed@example.com"


def test_a_row_postgres_rejects_is_recorded_failed_while_all_others_proceed(
    service: str, size: FaultSize, settings: Any
) -> None:
    settings.DUAL_WRITE_RETRY_ATTEMPTS = 2
    # A stray Postgres row already holds the google_id the local sign-in gives this new user.
    stray = str(ObjectId())
    PostgresUser.objects.create(mongo_id=stray, google_id=f"local:{DOOMED}")
    emails = [f"client{i}@example.com" for i in range(size.clients - 1)] + [DOOMED]
    fleet = Fleet(service, [sign_in(service, e) for e in emails], operations=size.operations, seed=5)
    fleet.run()
    print(fleet.summary("constraint violation"))
    assert fleet.failures() == []  # the sign-in and every write of the doomed user succeeded too

    doomed = DatabaseManager.get().get_collection("users").find_one({"email_id": DOOMED})
    doomed_id = str(doomed["_id"])
    [record] = pending_records()
    assert (record["collection"], record["mongo_id"]) == ("users", doomed_id)
    assert record["status"] == "FAILED" and record["attempts"] == 1
    assert f"duplicate of {stray} (same google_id)" in record["error"]

    drain()  # nothing to retry: a permanent rejection; everything else was mirrored in-request
    [record] = pending_records()
    assert record["status"] == "FAILED" and record["attempts"] == 1
    print(f"[constraint violation] the one record: {record['status']} after {record['attempts']}"
          f" attempts, error={record['error'][:90]!r}")  # fmt: skip
    # That user is invalid (a duplicate of the stray row by google_id), and the stray row is extra
    # (a live row without a document); nothing else.
    assert drift() == {"users": {"invalid": 1, "extra": 1}}
    assert lost_writes(fleet) == {}  # the doomed user's own tasks included

    PostgresUser.objects.filter(google_id=f"local:{DOOMED}").exclude(mongo_id=doomed_id).delete()
    call_command("dualwrite", "retry", "--id", doomed_id, "--in", "users")
    assert pending_records() == []
    assert drift() == {}
