"""The migration path walked forward and back: tasks go 1 → 2 → 3 with live writes in every phase
(create, update, delete, re-create of the same id), then 3 → 2 → 1, and at the end both stores
hold exactly every acknowledged write. Phase 3 also runs with MongoDB down (its writes back wait
in Postgres and go out when it returns), and the phase guard refuses to leave postgres_only while
writes are not yet back in MongoDB."""

from __future__ import annotations

import time
from typing import Any

import pytest
from bson import ObjectId
from django.test import Client
from pymongo.errors import AutoReconnect

from tests.api.conftest import bearer
from tests.engine.helpers import mirror_differences
from todo.db.mongo_manager import DatabaseManager
from todo.mappings import get_registry
from todo.models.documents import Task, User
from todo.models.postgres import PostgresTask
from todo.phases import PhaseNotReady
from todo.repositories.factory import get_repository
from todo.services import phase_service
from todo.wiring import build_reverse_mirror, build_verifier, build_worker, save_reverse_report

pytestmark = pytest.mark.django_db(transaction=True)

DUE = "2099-06-01T10:00:00.000Z"


class Ledger:
    """Every acknowledged write: id → the title the task must have, or None when deleted."""

    def __init__(self) -> None:
        self.titles: dict[str, str | None] = {}
        self.writes: dict[str, int] = {}

    def count(self, kind: str) -> None:
        self.writes[kind] = self.writes.get(kind, 0) + 1

    def holds(self) -> dict[str, str | None]:
        return dict(self.titles)


def enter(settings: Any, phase: str, **read_sources: str) -> None:
    settings.MIGRATION_PHASE = phase
    settings.DUAL_WRITE_READ_SOURCE = read_sources
    phase_service.enter()


def drain_forward() -> None:
    build_worker().run_once(limit=10_000, sweep=True)


def verify_all_forward() -> None:
    """What an operator runs before postgres_only: a verify of every collection, no drift."""
    verifier = build_verifier()
    for mapping in get_registry():
        report = verifier.run(mapping)
        assert report.equal, (mapping.collection, report.as_dict())


def verify_all_reverse() -> None:
    mirror = build_reverse_mirror()
    for mapping in get_registry():
        diff = mirror.verify(mapping)
        save_reverse_report(diff)
        assert diff.drift == 0, (mapping.collection, diff)


def mongo_titles() -> dict[str, str]:
    return {str(d["_id"]): d["title"] for d in DatabaseManager.get().get_collection("tasks").find({})}


def postgres_titles() -> dict[str, str]:
    return dict(PostgresTask.objects.filter(source_deleted=False).values_list("mongo_id", "title"))


def api_create(api: Client, me: User, title: str, ledger: Ledger) -> str:
    body = {"title": title, "description": "", "priority": "LOW", "status": "TODO", "dueAt": DUE,
            "labels": [], "assignee_id": me.id, "user_type": "user", "timezone": "UTC"}  # fmt: skip
    response = api.post("/v1/tasks", body, content_type="application/json")
    assert response.status_code == 201, response.content
    task_id = response.json()["data"]["id"]
    ledger.titles[task_id] = title
    ledger.count("create")
    return task_id


def api_rename(api: Client, task_id: str, title: str, ledger: Ledger) -> None:
    response = api.patch(f"/v1/tasks/{task_id}/update", {"title": title}, content_type="application/json")
    assert response.status_code == 200, response.content
    ledger.titles[task_id] = title
    ledger.count("update")


def api_delete(api: Client, task_id: str, ledger: Ledger) -> None:
    assert api.delete(f"/v1/tasks/{task_id}").status_code == 204
    ledger.titles[task_id] = None
    ledger.count("delete")


def recreate(task_id: str, title: str, ledger: Ledger) -> None:
    """A new life of a deleted id (as an import or a restore writes it)."""
    repo = get_repository(Task)
    repo = getattr(repo, "mongo", repo)  # read_migration routes reads; writes go to MongoDB
    repo._insert({"_id": ObjectId(task_id), "title": title, "displayId": None, "isDeleted": False})
    ledger.titles[task_id] = title
    ledger.count("re-create")


def phase_writes(api: Client, me: User, ledger: Ledger, tag: str, victim: str, revived: str) -> str:
    """Create, update, delete and re-create, as users (and a restore) do in every phase."""
    made = api_create(api, me, f"made in {tag}", ledger)
    api_rename(api, made, f"made in {tag}, renamed", ledger)
    api_delete(api, victim, ledger)
    recreate(revived, f"{revived[-4:]} back in {tag}", ledger)
    return made


def live(ledger: Ledger) -> dict[str, str]:
    """What the task collection must hold: the titles of the live (not soft-deleted) ids."""
    return {i: t for i, t in ledger.holds().items() if t is not None}


def soft_live(titles: dict[str, str], ledger: Ledger) -> dict[str, str]:
    """The API deletes softly (isDeleted): both stores keep the document; compare the ledger's ids."""
    return {i: titles[i] for i in ledger.titles if i in titles and ledger.titles[i] is not None}


def test_forward_to_postgres_only_and_back_loses_nothing(
    mongo_db: Any, settings: Any, make_user: Any
) -> None:
    started = time.monotonic()
    settings.DUAL_WRITE_RETRY_DELAY = 0
    ledger = Ledger()
    me = make_user("Ada")
    api = Client(**bearer(me))
    enter(settings, "dual_write")

    # Phase 1: dual_write.
    first = [api_create(api, me, f"task {n}", ledger) for n in range(4)]
    gone = first[3]
    get_repository(Task).delete(gone)  # a hard delete: the id's life ends
    ledger.titles[gone] = None
    made1 = phase_writes(api, me, ledger, "phase 1", victim=first[0], revived=gone)
    drain_forward()

    # Phase 2: read_migration, tasks read from Postgres.
    enter(settings, "read_migration", tasks="postgres")
    get_repository(Task).delete(first[1])
    ledger.titles[first[1]] = None
    made2 = phase_writes(api, me, ledger, "phase 2", victim=made1, revived=first[1])
    listed = {t["id"]: t["title"] for t in api.get("/v1/tasks?limit=200").json()["tasks"]}
    assert listed[made2] == "made in phase 2, renamed"

    # Towards postgres_only: refused until an operator has verified every collection.
    settings.MIGRATION_PHASE = "postgres_only"
    with pytest.raises(PhaseNotReady, match="no verify report"):
        phase_service.enter()
    drain_forward()
    verify_all_forward()
    enter(settings, "postgres_only")

    # Phase 3: postgres_only; MongoDB takes no request's write, the reverse mirror writes back.
    get_repository(Task).delete(first[2])
    ledger.titles[first[2]] = None
    made3 = phase_writes(api, me, ledger, "phase 3", victim=made2, revived=first[2])
    mirror = build_reverse_mirror()
    assert mirror.backlog()  # queued in Postgres, in the writes' own transactions
    assert mirror.drain().failed == 0 and mirror.backlog() == {}

    # Phase 3 with MongoDB down: every request still succeeds; the writes back wait in Postgres.
    real_get_collection = DatabaseManager.get_collection

    def down(self: DatabaseManager, name: str) -> Any:
        raise AutoReconnect("MongoDB is down (test)")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseManager, "get_collection", down)
        during_outage = api_create(api, me, "made while MongoDB was down", ledger)
        api_rename(api, made3, "renamed while MongoDB was down", ledger)
        assert api.get("/v1/tasks?limit=200").status_code == 200
        report = mirror.push_due()
        assert report.pushed == 0 and report.failed >= 1
        waiting = mirror.backlog()
        assert waiting.get("tasks", 0) >= 2
        # Leaving postgres_only now would lose those writes: refused, with the reason.
        settings.MIGRATION_PHASE = "read_migration"
        with pytest.raises(PhaseNotReady, match="not yet written back to MongoDB"):
            phase_service.enter()
        settings.MIGRATION_PHASE = "postgres_only"
    assert DatabaseManager.get_collection is real_get_collection
    # MongoDB is back: the postponed writes go out after their back-off.
    settings.DUAL_WRITE_RETRY_DELAY = 0
    deadline = time.monotonic() + 10
    while mirror.backlog() and time.monotonic() < deadline:
        mirror.push_due()
        time.sleep(0.2)
    assert mirror.backlog() == {}
    outage_backlog = sum(waiting.values())
    assert mongo_titles()[during_outage] == "made while MongoDB was down"
    verify_all_reverse()

    # Back to phase 2: MongoDB is the truth again and already holds everything.
    enter(settings, "read_migration", tasks="postgres")
    assert soft_live(mongo_titles(), ledger) == live(ledger)
    api_rename(api, during_outage, "renamed after the rollback", ledger)
    made4 = api_create(api, me, "made after the rollback", ledger)
    drain_forward()

    # Back to phase 1.
    enter(settings, "dual_write")
    api_rename(api, made4, "made after the rollback, renamed", ledger)
    api_rename(api, made3, "phase 3 task renamed in phase 1", ledger)
    drain_forward()

    # Both stores hold exactly every acknowledged write, and verify finds no drift.
    assert soft_live(mongo_titles(), ledger) == live(ledger)
    assert soft_live(postgres_titles(), ledger) == live(ledger)
    hard_deleted = [i for i, t in ledger.titles.items() if t is None and i not in mongo_titles()]
    assert all(i not in postgres_titles() for i in hard_deleted)
    assert mirror_differences("tasks", list(ledger.titles)) == {}
    verify_all_forward()
    # Display ids stayed unique across the phases (each store continued the other's counter).
    shown = [d.get("displayId") for d in DatabaseManager.get().get_collection("tasks").find({})]
    numbered = [s for s in shown if s]
    assert len(numbered) == len(set(numbered))
    print(
        f"rollback walk: {sum(ledger.writes.values())} acknowledged writes {ledger.writes} over"
        f" 1→2→3→2→1; {outage_backlog} rows waited in Postgres while MongoDB was down;"
        f" {len(live(ledger))} live tasks equal in both stores, drift 0 both ways;"
        f" {time.monotonic() - started:.1f} s"
    )


def test_display_ids_stay_unique_over_two_round_trips(mongo_db: Any, settings: Any, make_user: Any) -> None:
    """Each store of record continues above the other's numbers, also on a second visit."""
    settings.DUAL_WRITE_RETRY_DELAY = 0
    ledger = Ledger()
    me = make_user("Ada")
    api = Client(**bearer(me))
    shown: list[str] = []

    def create(title: str) -> None:
        task_id = api_create(api, me, title, ledger)
        shown.append(api.get(f"/v1/tasks/{task_id}").json()["data"]["displayId"])

    enter(settings, "dual_write")
    for round_trip in range(2):
        create(f"mongodb {round_trip} a")
        create(f"mongodb {round_trip} b")
        drain_forward()
        verify_all_forward()
        enter(settings, "postgres_only")
        create(f"postgres {round_trip}")
        build_reverse_mirror().drain()
        verify_all_reverse()
        enter(settings, "dual_write")
    create("mongodb last")
    assert shown == [f"#{n}" for n in range(1, 8)]
