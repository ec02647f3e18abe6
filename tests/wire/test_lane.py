"""The wire lane's own checks (run in the stand-in lane, each with a wire server of its own): the
DatabaseManager builds a real pymongo client for a URI, the tests' clean-up (drop_database) works
over the wire, and the lane's runner treats "no tests collected" as a failure."""

from __future__ import annotations

import pytest
from bson import ObjectId
from pymongo import MongoClient

from tests.wire import run_lane
from tests.wire.harness import WIRE_PYTHON, wire_server
from todo.db.mongo_manager import DatabaseManager

pytestmark = pytest.mark.skipif(
    not WIRE_PYTHON.exists(), reason="no wire server side environment: run `make .venv-wire/.ready`"
)


def test_the_manager_talks_to_the_wire_server_with_a_real_client_and_drop_empties_it() -> None:
    with wire_server() as uri:
        manager = DatabaseManager(uri, "wire_lane_check")
        try:
            assert not manager.in_process and type(manager.client) is MongoClient
            manager.ping()
            manager.ensure_indexes()
            tasks = manager.get_collection("tasks")
            tasks.insert_many([{"_id": ObjectId(), "displayId": f"#{i}"} for i in range(3)])
            assert tasks.count_documents({}) == 3
            assert "displayId" in tasks.index_information()  # the name IndexSpec gives it
            # What the mongo_db fixture does between tests.
            manager.client.drop_database(manager.db_name)
            assert tasks.count_documents({}) == 0
            assert manager.db_name not in manager.client.list_database_names()
        finally:
            manager.close()


def test_the_runner_counts_no_tests_collected_as_a_failure() -> None:
    assert run_lane.main(["tests/wire/test_lane.py", "--", "-q", "-k", "no_test_has_this_name"]) == 1
