"""Values the mirror cannot store faithfully are rejected with one typed error naming collection,
mongo_id and field; nothing is written, nothing is truncated."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from bson import ObjectId
from django.db import IntegrityError, connection, transaction

from dualwrite.errors import (
    InvalidMongoIdError,
    MappingDeclarationError,
    MappingError,
    UnknownCollectionError,
)
from dualwrite.mapping import CollectionMapping, Field
from dualwrite.sink import PostgresSink
from dualwrite.transform import document_to_rows, normalise_mongo_id
from dualwrite.types import Text
from todo.mappings import get_registry
from todo.models.postgres import PostgresTask, PostgresUser

TASK_ID = ObjectId()

BAD_TASKS: list[tuple[str, dict[str, Any], str, str]] = [
    ("wrong type", {"title": 42}, "title", "expected a string, got int"),
    ("NUL byte", {"title": "a\x00b"}, "title", "NUL byte"),
    ("unknown enum", {"status": "ARCHIVED"}, "status", "unknown value 'ARCHIVED'"),
    ("priority out of set", {"priority": 7}, "priority", "unknown value 7"),
    ("fractional priority", {"priority": 1.5}, "priority", "expected an integer, got float"),
    ("bool as text", {"isDeleted": "yes"}, "isDeleted", "expected a boolean, got str"),
    ("malformed id", {"createdBy": "not-an-id"}, "createdBy", "expected an ObjectId or a 24-hex string"),
    ("over-long id", {"createdBy": "a" * 25}, "createdBy", "expected an ObjectId or a 24-hex string"),
    ("malformed array item", {"labels": [ObjectId(), "xyz"]}, "labels[1]", "expected an ObjectId"),
    ("array not a list", {"labels": "Bug"}, "labels", "expected an array or null"),
    ("null array item", {"labels": [None]}, "labels[0]", "null array item"),
    ("nested not an object", {"deferredDetails": "soon"}, "deferredDetails", "expected an object"),
    ("unknown nested key", {"deferredDetails": {"why": "x"}}, "deferredDetails.why", "undeclared nested key"),
    (
        "bad nested date",
        {"deferredDetails": {"deferredTill": "tomorrow"}},
        "deferredDetails.deferredTill",
        "ISO-8601",
    ),
    ("date of wrong type", {"dueAt": 1700000000}, "dueAt", "expected a date-time, got int"),
    ("NUL in undeclared field", {"note": "x\x00"}, "note", "jsonb cannot hold"),
    ("negative version", {"_v": -1}, "_v", "out of range"),
    ("version beyond int64", {"_v": 2**64}, "_v", "out of range"),
]


@pytest.mark.parametrize(("case", "change", "field", "problem"), BAD_TASKS, ids=[c[0] for c in BAD_TASKS])
def test_bad_value_raises_one_typed_error_naming_collection_id_and_field(
    case: str, change: dict[str, Any], field: str, problem: str
) -> None:
    document = {"_id": TASK_ID, "title": "ok", **change}
    with pytest.raises(MappingError) as info:
        document_to_rows(get_registry().get("tasks"), document)
    error = info.value
    assert (error.collection, error.mongo_id, error.field) == ("tasks", str(TASK_ID), field)
    assert problem in error.problem
    assert str(TASK_ID) in str(error) and "tasks" in str(error)


def test_error_message_does_not_carry_the_document_contents() -> None:
    secret = "password=hunter2 " * 10
    with pytest.raises(MappingError) as info:
        document_to_rows(get_registry().get("tasks"), {"_id": TASK_ID, "title": secret + "\x00"})
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("bad_id", [None, "", "123", "z" * 24, 12345, {"$ne": None}])
def test_malformed_document_id_is_rejected(bad_id: Any) -> None:
    document = {"title": "x"} if bad_id is None else {"_id": bad_id, "title": "x"}
    with pytest.raises(MappingError) as info:
        document_to_rows(get_registry().get("tasks"), document)
    assert info.value.field == "_id"
    with pytest.raises(InvalidMongoIdError):
        normalise_mongo_id(bad_id)


def test_unknown_collection_is_a_typed_error() -> None:
    with pytest.raises(UnknownCollectionError, match="unknown collection 'todos'"):
        get_registry().get("todos")


def test_mapping_that_names_a_missing_column_fails_when_declared() -> None:
    with pytest.raises(MappingDeclarationError, match="postgres_users has no column 'nickname'"):
        CollectionMapping("users", PostgresUser, (Field("nickname", "nickname", Text()),))


def test_mapping_may_not_declare_a_key_twice() -> None:
    with pytest.raises(MappingDeclarationError, match="declared twice"):
        CollectionMapping(
            "users", PostgresUser, (Field("name", "name", Text()), Field("name", "email_id", Text()))
        )


@pytest.mark.django_db
def test_rejected_document_in_a_batch_writes_nothing_for_itself() -> None:
    mapping = get_registry().get("tasks")
    good = {"_id": ObjectId(), "title": "fine", "labels": [ObjectId()]}
    bad = {"_id": ObjectId(), "title": "fine", "labels": [ObjectId(), "oops"]}
    rowsets = []
    for document in (good, bad):
        try:
            rowsets.append(document_to_rows(mapping, document))
        except MappingError:
            pass
    PostgresSink().upsert(mapping, rowsets)
    assert PostgresTask.objects.filter(mongo_id=str(good["_id"])).exists()
    assert not PostgresTask.objects.filter(mongo_id=str(bad["_id"])).exists()


def test_long_text_is_kept_whole() -> None:
    long_title = "x" * 100_000
    rowset = document_to_rows(get_registry().get("tasks"), {"_id": TASK_ID, "title": long_title})
    assert rowset.row["title"] == long_title


def test_iso_timestamp_with_offset_is_stored_in_utc() -> None:
    rowset = document_to_rows(
        get_registry().get("tasks"), {"_id": TASK_ID, "title": "t", "dueAt": "2025-03-01T10:00:00.5+02:00"}
    )
    assert rowset.row["due_at"] == dt.datetime(2025, 3, 1, 8, 0, 0, 500000, tzinfo=dt.UTC)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("column", "value"), [("status", "ARCHIVED"), ("priority", 9), ("sync_status", "LOST")]
)
def test_check_constraints_guard_enums_in_the_database(column: str, value: object) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        PostgresTask.objects.create(mongo_id=str(ObjectId()), **{column: value})
    assert connection.is_usable()


def test_a_literal_backslash_u0000_in_an_undeclared_field_is_not_a_nul() -> None:
    """Text that reads `\\u0000` (six characters) is kept: only a real NUL is refused (found by the
    round-trip property test: a key `\\u0000` was refused as a NUL)."""
    rows = document_to_rows(
        get_registry().get("tasks"), {"_id": TASK_ID, "title": "ok", "note": {"\\u0000": "\\u0000"}}
    )
    assert rows.row["extra"] == {"note": {"\\u0000": "\\u0000"}}
