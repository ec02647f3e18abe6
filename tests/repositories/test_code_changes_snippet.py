"""docs/DUAL_WRITE_SYSTEM.md "Code Changes Required", run as written."""

import pytest
from bson import ObjectId

pytestmark = pytest.mark.django_db(transaction=True)


def test_code_changes_required_snippet(mongo_db) -> None:
    from todo.services.dual_write_service import DualWriteService

    DualWriteService().create_document(
        collection_name="users",
        data={"email_id": "user@example.com", "name": "Some User", "google_id": "g-123"},
        mongo_id=str(ObjectId()),
    )

    # Current: MongoDB repository
    from todo.repositories.user_repository import UserRepository

    user_repo = UserRepository()
    from_mongo = user_repo.get_by_email("user@example.com")

    # Future: Postgres repository (minimal code change)
    from todo.repositories.postgres_repository import PostgresUserRepository

    user_repo = PostgresUserRepository()

    # Same interface, different implementation
    user = user_repo.get_by_email("user@example.com")

    assert user is not None and user.name == "Some User"
    assert user == from_mongo
    assert type(user) is type(from_mongo)


def test_legacy_document_reads_the_same_from_both_stores(mongo_db) -> None:
    """A document an older deployment stored with string ids and ISO timestamps."""
    from todo.repositories.mongo_repository import TaskRepository
    from todo.repositories.postgres_repository import PostgresTaskRepository
    from todo.services.dual_write_service import DualWriteService

    task_id, label = ObjectId(), ObjectId()
    mongo_db.get_collection("tasks").insert_one(
        {
            "_id": task_id,
            "title": "legacy",
            "labels": [str(label)],
            "createdAt": "2024-05-01T10:00:00Z",
            "priority": 2.0,
        }
    )
    DualWriteService().mirror_document("tasks", str(task_id), "create")
    from_mongo = TaskRepository().get_by_id(str(task_id))
    assert from_mongo == PostgresTaskRepository().get_by_id(str(task_id))
    assert from_mongo.labels == [str(label)] and from_mongo.priority == 2
    assert TaskRepository().get_with_label(str(label)) == [from_mongo]
