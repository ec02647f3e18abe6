"""Helpers that compare what Postgres holds with what MongoDB holds, document by document."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from bson import ObjectId
from psycopg.pq import Trace

from dualwrite.sink import PostgresSink
from dualwrite.transform import canonical_document, rows_to_document
from todo.db.mongo_manager import DatabaseManager
from todo.mappings import get_registry


def mirror_differences(collection: str, mongo_ids: Iterable[str]) -> dict[str, str]:
    """{mongo_id: what is wrong} for each id whose Postgres state differs from MongoDB's:
    a live document must have an equal live row; an absent document must have no live row."""
    mapping = get_registry().get(collection)
    ids = sorted(set(mongo_ids))
    stored = {
        str(doc["_id"]): doc
        for doc in DatabaseManager.get()
        .get_collection(collection)
        .find({"_id": {"$in": [ObjectId(i) for i in ids]}})
    }
    rows = PostgresSink().fetch(mapping, ids)
    problems: dict[str, str] = {}
    for mongo_id in ids:
        document = stored.get(mongo_id)
        row = rows.get(mongo_id)
        if document is None:
            if row is not None and not row[0]["source_deleted"]:
                problems[mongo_id] = "row alive but document deleted"
            continue
        if row is None:
            problems[mongo_id] = "row missing"
        elif row[0]["source_deleted"]:
            problems[mongo_id] = "row tombstoned but document exists"
        elif rows_to_document(mapping, *row) != canonical_document(mapping, document):
            problems[mongo_id] = "row differs"
        elif row[0]["source_version"] != document.get("_v", 0):
            problems[mongo_id] = f"version {row[0]['source_version']} != {document.get('_v', 0)}"
    return problems


def mongo_ids(collection: str) -> list[str]:
    return [str(d["_id"]) for d in DatabaseManager.get().get_collection(collection).find({}, {"_id": 1})]


def row(collection: str, mongo_id: str) -> dict[str, Any] | None:
    found = PostgresSink().fetch(get_registry().get(collection), [mongo_id])
    return found[mongo_id][0] if mongo_id in found else None


@contextmanager
def postgres_round_trips(connection: Any) -> Iterator[list[str]]:
    """Record the messages that end a round trip to PostgreSQL (a simple `Query`, or a `Sync`
    closing a pipeline of extended-protocol statements) sent on `connection`, Django's or raw
    psycopg alike, from libpq's protocol trace. Every statement parsed is listed too: `Parse` for
    an unnamed (planned once) statement, `Parse <name>` for one prepared under that name."""
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    sent: list[str] = []
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
        try:
            yield sent
        finally:
            pgconn.untrace()
            trace.seek(0)
            for line in trace:
                parts = line.rstrip("\n").split("\t")
                if len(parts) < 3 or parts[0] != "F":
                    continue
                if parts[2] in ("Query", "Sync"):
                    sent.append(parts[2])
                elif parts[2] == "Parse":
                    name = parts[3].split()[0].strip('"')
                    sent.append(f"Parse {name}" if name else "Parse")
