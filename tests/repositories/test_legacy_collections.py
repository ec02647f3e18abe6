"""The existing app's database as it is: its collection names (task assignments in `task_details`,
watch entries in `watchlist`) and unique indexes its duplicates would violate."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from bson import ObjectId

from tests.engine.helpers import mirror_differences
from todo.db.mongo_manager import DatabaseManager
from todo.mappings import get_registry
from todo.models.postgres import PostgresTaskAssignment, PostgresWatchlist
from todo.repositories.factory import get_repository
from todo.repositories.postgres_repository import PostgresWatchlistRepository
from todo.wiring import build_backfiller, build_verifier
from todo_project.config import ConfigError, load_config

pytestmark = pytest.mark.django_db(transaction=True)


def test_dual_write_names_read_and_write_the_existing_apps_collections(mongo_db: DatabaseManager) -> None:
    raw = mongo_db.db  # the database as the existing app sees it
    user, task = ObjectId(), ObjectId()
    # Written by the existing app: string ids on insert, no version.
    raw["watchlist"].insert_one(
        {
            "_id": ObjectId(),
            "userId": str(user),
            "taskId": str(task),
            "isActive": True,
            "createdBy": str(user),
        }
    )
    raw["task_details"].insert_one(
        {
            "_id": ObjectId(),
            "task_id": str(task),
            "assignee_id": str(user),
            "user_type": "user",
            "is_active": True,
        }
    )
    assert get_registry().get("watchlists").mongo_collection == "watchlist"
    assert get_registry().get("task_assignments").mongo_collection == "task_details"

    found = get_repository("watchlists").get_all({"userId": str(user)})
    assert [(w.user_id, w.task_id) for w in found] == [(str(user), str(task))]
    assigned = get_repository("task_assignments").get_all({"task_id": task})  # an ObjectId finds a string
    assert len(assigned) == 1 and assigned[0].assignee_id == str(user)

    made = get_repository("watchlists").create(
        {"userId": str(user), "taskId": str(ObjectId()), "isActive": True}
    )
    assert raw["watchlist"].count_documents({}) == 2 and "watchlists" not in raw.list_collection_names()
    assert PostgresWatchlist.objects.filter(mongo_id=made.id).exists()

    for name in ("watchlists", "task_assignments"):
        build_backfiller().run(get_registry().get(name))
        assert build_verifier().run(get_registry().get(name)).equal, name
    assert PostgresWatchlist.objects.count() == 2 and PostgresTaskAssignment.objects.count() == 1
    assert mirror_differences("watchlists", [made.id]) == {}


def test_collection_names_can_be_overridden_and_are_checked() -> None:
    config = load_config({"MONGODB_COLLECTION_NAMES": "watchlists=watchlists, task_assignments=assignments"})
    assert config.mongodb_collection_names == {"watchlists": "watchlists", "task_assignments": "assignments"}
    with pytest.raises(ConfigError, match="MONGODB_COLLECTION_NAMES"):
        load_config({"MONGODB_COLLECTION_NAMES": "watchlists"})


def test_unique_indexes_the_existing_data_violates_are_skipped_with_one_warning(
    mongo_db: DatabaseManager, caplog: pytest.LogCaptureFixture
) -> None:
    raw = mongo_db.db
    user, team = ObjectId(), ObjectId()
    # The same membership twice (the existing app checks uniqueness in code only) and once more.
    raw["user_team_details"].insert_many(
        [
            {"user_id": str(user), "team_id": str(team), "role_id": "1", "is_active": True},
            {"user_id": str(user), "team_id": str(team), "role_id": "1", "is_active": True},
            {"user_id": str(ObjectId()), "team_id": str(team), "is_active": True},
        ]
    )
    with caplog.at_level(logging.WARNING, logger="todo.db.mongo_manager"):
        mongo_db.ensure_indexes()  # does not raise: the service starts
    warnings = [r.getMessage() for r in caplog.records if r.name == "todo.db.mongo_manager"]
    assert warnings == [
        "index user_id_team_id_unique of MongoDB collection user_team_details not created:"
        " 2 document(s) share its keys (run `dualwrite doctor`)"
    ]
    indexes: dict[str, Any] = raw["user_team_details"].index_information()
    assert "user_id_team_id_unique" not in indexes
    assert "userId_taskId_unique" in raw["watchlist"].index_information()  # the others exist


def test_lists_sorted_by_a_date_some_documents_hold_as_a_string_keep_time_order(
    mongo_db: DatabaseManager,
) -> None:
    """MongoDB orders every string before every date; the existing app stored some dates as ISO
    strings. A user's watchlist (newest first, paged) is in time order, as Postgres answers it."""
    raw = mongo_db.db["watchlist"]
    user = ObjectId()
    base = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    for day in range(6):
        moment = base + dt.timedelta(days=day)
        created: Any = moment.isoformat().replace("+00:00", "Z") if day % 2 else moment
        raw.insert_one(
            {"_id": ObjectId(), "userId": str(user) if day % 3 else user, "taskId": str(ObjectId()),
             "isActive": True, "createdAt": created}
        )  # fmt: skip
    raw.insert_one({"_id": ObjectId(), "userId": str(user), "taskId": str(ObjectId()), "isActive": True})
    build_backfiller().run(get_registry().get("watchlists"))
    mongo_repo = get_repository("watchlists")
    postgres_repo = PostgresWatchlistRepository()
    pages = [[w.created_at for w in mongo_repo.get_for_user(str(user), page, 3)] for page in (1, 2, 3)]
    newest_first = [base + dt.timedelta(days=day) for day in range(5, -1, -1)]
    assert pages == [newest_first[:3], newest_first[3:], [None]]  # no date: last, newest first
    for page in (1, 2, 3):
        assert [w.id for w in mongo_repo.get_for_user(str(user), page, 3)] == [
            w.id for w in postgres_repo.get_for_user(str(user), page, 3)
        ]
