"""One contract, two implementations: every test runs against the MongoDB repositories (writes
mirrored to Postgres) and against the Postgres repositories (Postgres as the store of record)."""

from __future__ import annotations

import datetime as dt

import pytest
from bson import ObjectId

from dualwrite.errors import InvalidMongoIdError
from todo.models import documents as domain_models
from todo.repositories.errors import DuplicateKey, RepositoryError
from todo.repositories.queries import ASC, DESC, In

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def _at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_create_then_get_by_id_returns_the_full_object(repo) -> None:
    tasks = repo("tasks")
    labels = [str(ObjectId()), str(ObjectId())]
    created = tasks.create(
        {
            "title": "Ship it",
            "priority": 1,
            "labels": labels,
            "dueAt": _at(60),
            "deferredDetails": {"deferredAt": _at(1), "deferredTill": _at(30), "deferredBy": str(ObjectId())},
            "createdBy": "system",
        }
    )
    assert isinstance(created, domain_models.Task)
    assert (created.title, created.priority, created.status, created.labels) == ("Ship it", 1, "TODO", labels)
    assert created.deferred_details.deferred_till == _at(30)
    assert tasks.get_by_id(created.id) == created
    assert tasks.get_by_id(str(ObjectId())) is None


def test_update_sets_fields_and_keeps_the_rest(repo) -> None:
    users = repo("users")
    user = users.create({"name": "Ada", "email_id": "ada@example.com", "google_id": "g-ada"})
    updated = users.update(user.id, {"name": "Ada L."})
    assert updated == user.model_copy(update={"name": "Ada L."})
    assert users.get_by_id(user.id) == updated
    assert users.update(str(ObjectId()), {"name": "nobody"}) is None


def test_delete_hides_the_document_everywhere(repo) -> None:
    labels = repo("labels")
    keep, gone = labels.create({"name": "Keep"}), labels.create({"name": "Gone"})
    assert labels.delete(gone.id) is True
    assert labels.delete(gone.id) is False
    assert labels.get_by_id(gone.id) is None
    assert [label.id for label in labels.get_all()] == [keep.id]
    assert labels.count() == 1 and not labels.exists({"name": "Gone"})


def test_filters_sort_and_pagination(repo) -> None:
    tasks = repo("tasks")
    made = [
        tasks.create(
            {
                "title": f"t{i}",
                "priority": 1 + i % 3,
                "status": "DONE" if i % 2 else "TODO",
                "dueAt": None if i == 0 else _at(i),
            }
        )
        for i in range(7)
    ]
    assert [t.title for t in tasks.get_all({"status": "DONE"}, [("title", ASC)])] == ["t1", "t3", "t5"]
    assert [t.title for t in tasks.get_all({"priority": In([1, 3])}, [("title", DESC)])] == [
        "t6",
        "t5",
        "t3",
        "t2",
        "t0",
    ]
    # Nulls sort first ascending and last descending, as in MongoDB.
    assert tasks.get_all(sort=[("dueAt", ASC)])[0].title == "t0"
    assert [t.title for t in tasks.get_all(sort=[("dueAt", DESC)])][-1] == "t0"
    # Ties are broken by id: equal priorities come back in creation (ObjectId) order.
    by_priority = tasks.get_all(sort=[("priority", ASC)])
    assert [t.id for t in by_priority if t.priority == 1] == [t.id for t in made if t.priority == 1]
    pages = [tasks.get_all(sort=[("title", ASC)], page=p, limit=3) for p in (1, 2, 3)]
    assert [[t.title for t in page] for page in pages] == [["t0", "t1", "t2"], ["t3", "t4", "t5"], ["t6"]]
    assert tasks.count({"status": "TODO"}) == 4


def test_contains_is_literal_and_ignores_case(repo) -> None:
    labels = repo("labels")
    for name in ("UI/UX", "a.b*c", "abbc", "Bug"):
        labels.create({"name": name})
    assert [label.name for label in labels.search("ui/ux")] == ["UI/UX"]
    assert [label.name for label in labels.search("A.B*")] == ["a.b*c"]  # not a pattern
    assert [label.name for label in labels.search("")] == ["Bug", "UI/UX", "a.b*c", "abbc"]
    assert [label.name for label in labels.search("", page=2, limit=3)] == ["abbc"]


def test_user_queries(repo) -> None:
    users = repo("users")
    ada = users.create({"name": "Ada", "email_id": "ada@example.com", "google_id": "g1"})
    users.create({"name": "Grace", "email_id": "grace@example.com", "google_id": "g2"})
    assert users.get_by_email("ada@example.com") == ada
    assert users.get_by_google_id("g1") == ada
    assert users.get_by_email("nobody@example.com") is None
    assert [u.name for u in users.search("EXAMPLE")] == ["Ada", "Grace"]
    assert [u.name for u in users.search("gra")] == ["Grace"]
    # Name or email, paged and counted by the store itself.
    users.create({"name": "Zed", "email_id": "zed.ada@elsewhere.org", "google_id": "g3"})
    assert [u.name for u in users.search("ADA")] == ["Ada", "Zed"]
    assert [u.name for u in users.search("a", page=2, limit=2)] == ["Zed"]
    assert (users.search_count("ada"), users.search_count("a"), users.search_count("nobody")) == (2, 3, 0)


def test_task_queries_by_assignee_team_and_status(repo) -> None:
    tasks, assignments = repo("tasks"), repo("task_assignments")
    user, team = str(ObjectId()), str(ObjectId())
    mine = tasks.create({"title": "mine", "status": "IN_PROGRESS"})
    teams_task = tasks.create({"title": "team's"})
    tasks.create({"title": "nobody's", "status": "IN_PROGRESS"})
    assignments.create(
        {"task_id": mine.id, "assignee_id": user, "user_type": "user", "team_id": team, "is_active": True}
    )
    assignments.create(
        {"task_id": teams_task.id, "assignee_id": team, "user_type": "team", "is_active": True}
    )
    assert [t.title for t in tasks.get_by_assignee(user)] == ["mine"]
    assert sorted(t.title for t in tasks.get_by_team(team)) == ["mine", "team's"]
    assert sorted(t.title for t in tasks.get_by_status("IN_PROGRESS")) == ["mine", "nobody's"]


def test_membership_queries(repo) -> None:
    members = repo("user_team_details")
    user, team_a, team_b = (str(ObjectId()) for _ in range(3))
    a = members.create({"user_id": user, "team_id": team_a, "created_at": _at(1)})
    b = members.create({"user_id": user, "team_id": team_b, "created_at": _at(2)})
    other = members.create({"user_id": str(ObjectId()), "team_id": team_a, "created_at": _at(3)})
    assert members.get_by_user(user) == [a, b]
    assert members.get_by_team(team_a) == [a, other]
    assert members.get_membership(user, team_b) == b
    members.update(b.id, {"is_active": False})
    assert members.get_by_user(user) == [a]


def test_status_change_is_audited(repo) -> None:
    tasks, audit = repo("tasks"), repo("audit_logs")
    actor = str(ObjectId())
    task = tasks.create({"title": "audited"})
    tasks.update(task.id, {"title": "renamed"}, actor=actor)
    assert audit.count() == 0  # not a status change
    tasks.update(task.id, {"status": "DONE"}, actor=actor)
    [entry] = audit.get_all()
    assert (entry.action, entry.task_id, entry.status_from, entry.status_to, entry.performed_by) == (
        "status_changed", task.id, "TODO", "DONE", actor,
    )  # fmt: skip


def test_team_creation_and_poc_change_are_audited_newest_first(repo) -> None:
    teams, audit = repo("teams"), repo("audit_logs")
    actor, poc = str(ObjectId()), str(ObjectId())
    team = teams.create({"name": "Core", "invite_code": "ABC123"}, actor=actor)
    teams.update(team.id, {"poc_id": poc}, actor=actor)
    timeline = audit.get_by_team(team.id)
    assert [e.action for e in timeline] == ["poc_changed", "team_created"]
    assert timeline[0].spoc_id == poc
    assert teams.get_by_invite_code("ABC123") == teams.get_by_id(team.id)


def test_invalid_ids_raise_a_typed_error(repo) -> None:
    with pytest.raises(InvalidMongoIdError):
        repo("tasks").get_by_id("not-an-id")
    with pytest.raises(InvalidMongoIdError):
        repo("task_assignments").get_by_assignee("123")
    with pytest.raises(RepositoryError, match="no field 'colour'"):
        repo("labels").get_all({"colour": "#fff"})


@pytest.mark.parametrize(
    ("collection", "document", "key"),
    [
        (
            "watchlists",
            {"userId": str(ObjectId()), "taskId": str(ObjectId()), "isActive": True},
            {"userId", "taskId"},
        ),
        (
            "user_team_details",
            {"user_id": str(ObjectId()), "team_id": str(ObjectId())},
            {"user_id", "team_id"},
        ),
        ("users", {"name": "Ada", "email_id": "ada@example.com", "google_id": "g-ada"}, {"google_id"}),
        ("team_creation_invite_codes", {"code": "ABC123", "is_used": False}, {"code"}),
    ],
)
def test_a_unique_key_held_twice_is_refused_with_duplicate_key(
    repo, mongo_db, collection: str, document: dict, key: set
) -> None:
    """Both stores refuse a second live document of a unique key, on create and on update, with
    the same repository error, and keep what they held."""
    mongo_db.ensure_indexes()
    repository = repo(collection)
    held = repository.create(document)
    with pytest.raises(DuplicateKey) as refused:
        repository.create(document)
    assert (refused.value.collection, set(refused.value.fields)) == (collection, key)
    other = repository.create({**document, **{field: str(ObjectId()) for field in key}})
    with pytest.raises(DuplicateKey):
        repository.update(other.id, {field: document[field] for field in key})
    assert repository.count() == 2
    assert repository.get_by_id(held.id) == held
    assert repository.get_by_id(other.id) == other
