"""Pure transforms driven by a CollectionMapping: document → rows, rows → document, canonical form.

No database access here. `document_to_rows` either returns every row of the document or raises
one `MappingError` naming collection, id and field: never a partial set of rows.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId, json_util
from bson.json_util import JSONMode, JSONOptions

from dualwrite.errors import InvalidMongoIdError, MappingError
from dualwrite.mapping import (
    ENGINE_FIELDS,
    GENERATION_FIELD,
    VERSION_FIELD,
    ArrayTable,
    CollectionMapping,
    EmbeddedTable,
)
from dualwrite.types import Int, ObjectIdRef, ValueProblem

_ID = ObjectIdRef()
_VERSION = Int(minimum=0)
# Undeclared keys are kept in the row's JSONB `extra` column as MongoDB extended JSON.
_EXTRA_JSON = JSONOptions(json_mode=JSONMode.RELAXED, tz_aware=True, tzinfo=dt.UTC)


@dataclass
class RowSet:
    """Everything one document becomes in Postgres."""

    collection: str
    mongo_id: str
    version: int
    row: dict[str, Any]  # main-table columns (mapped fields and `extra`), by column name
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # child table → rows
    generation: str | None = None  # 24-hex generation of the document's life; None for legacy ones


def latest_per_document(rowsets: Iterable[RowSet]) -> list[RowSet]:
    """One rowset per document, its highest version (of equal ones the last): one statement
    cannot update a row twice."""
    latest: dict[str, RowSet] = {}
    for rowset in rowsets:
        held = latest.get(rowset.mongo_id)
        if held is None or rowset.version >= held.version:
            latest[rowset.mongo_id] = rowset
    return list(latest.values())


def normalise_mongo_id(value: Any) -> str:
    """The 24-hex form of a document id (ObjectId or legacy 24-hex string)."""
    try:
        result = _ID.to_column(value)
    except ValueProblem:
        raise InvalidMongoIdError(value) from None
    if result is None:
        raise InvalidMongoIdError(value)
    return result


def _convert(mapping: CollectionMapping, mongo_id: str | None, name: str, func: Any, value: Any) -> Any:
    try:
        return func(value)
    except ValueProblem as problem:
        raise MappingError(mapping.collection, mongo_id, name, str(problem), reason=problem.reason) from None


# A NUL as JSON writes it: `\u0000` after an even number of backslashes (an odd number means the
# backslash is the text's own, e.g. a key that reads `\u0000` literally, which jsonb holds).
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _extra(mapping: CollectionMapping, mongo_id: str, document: dict[str, Any]) -> dict[str, Any] | None:
    undeclared = {
        key: value
        for key, value in document.items()
        if key not in mapping.sources and key not in ENGINE_FIELDS
    }
    if not undeclared:
        return None
    for key in undeclared:
        if "\x00" in key:
            raise MappingError(mapping.collection, mongo_id, "<key>", "a key contains a NUL byte")
    text = json_util.dumps(undeclared, json_options=_EXTRA_JSON)
    if _ESCAPED_NUL.search(text):
        name = next(iter(undeclared)) if len(undeclared) == 1 else "<undeclared fields>"
        raise MappingError(mapping.collection, mongo_id, name, "contains a NUL byte, which jsonb cannot hold")
    return dict(json.loads(text))


def _embedded_rows(
    mapping: CollectionMapping, mongo_id: str, child: EmbeddedTable, value: Any
) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise MappingError(mapping.collection, mongo_id, child.source, "expected an object or null")
    known = {f.source for f in child.fields}
    for key in value:
        if key not in known:
            raise MappingError(mapping.collection, mongo_id, f"{child.source}.{key}", "undeclared nested key")
    row: dict[str, Any] = {child.parent_column: mongo_id}
    for f in child.fields:
        raw = value.get(f.source)
        row[f.column] = _convert(
            mapping,
            mongo_id,
            f"{child.source}.{f.source}",
            f.type.to_column,
            f.default if raw is None else raw,
        )
    return [row]


def _array_rows(
    mapping: CollectionMapping, mongo_id: str, child: ArrayTable, value: Any
) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError(mapping.collection, mongo_id, child.source, "expected an array or null")
    rows: list[dict[str, Any]] = []
    seen: set[Any] = set()
    for index, item in enumerate(value):
        stored = _convert(mapping, mongo_id, f"{child.source}[{index}]", child.item_type.to_column, item)
        if stored is None:
            raise MappingError(mapping.collection, mongo_id, f"{child.source}[{index}]", "null array item")
        if stored in seen:
            continue
        seen.add(stored)
        rows.append(
            {child.parent_column: mongo_id, child.item_column: stored, child.position_column: len(rows)}
        )
    return rows


def document_to_rows(mapping: CollectionMapping, document: dict[str, Any]) -> RowSet:
    """Convert one MongoDB document to its rows, or raise MappingError (nothing partial)."""
    if document.get("_id") is None:
        raise MappingError(mapping.collection, None, "_id", "missing")
    mongo_id = _convert(mapping, None, "_id", _ID.to_column, document["_id"])
    version = _convert(mapping, mongo_id, VERSION_FIELD, _VERSION.to_column, document.get(VERSION_FIELD, 0))
    generation = _convert(mapping, mongo_id, GENERATION_FIELD, _ID.to_column, document.get(GENERATION_FIELD))
    row: dict[str, Any] = {}
    for f in mapping.fields:
        raw = document.get(f.source)
        row[f.column] = _convert(
            mapping, mongo_id, f.source, f.type.to_column, f.default if raw is None else raw
        )
    row[mapping.extra_column] = _extra(mapping, mongo_id, document)
    children: dict[str, list[dict[str, Any]]] = {}
    for child in mapping.children:
        value = document.get(child.source)
        if isinstance(child, EmbeddedTable):
            children[child.table] = _embedded_rows(mapping, mongo_id, child, value)
        else:
            children[child.table] = _array_rows(mapping, mongo_id, child, value)
    return RowSet(mapping.collection, mongo_id, version or 0, row, children, generation)


def rows_to_document(
    mapping: CollectionMapping,
    row: dict[str, Any],
    children: dict[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Rebuild the canonical document from a main row (with `mongo_id`) and its child rows."""
    children = children or {}
    document: dict[str, Any] = {"_id": ObjectId(row["mongo_id"])}
    for f in mapping.fields:
        document[f.source] = f.type.from_column(row[f.column])
    for child in mapping.children:
        rows = children.get(child.table, [])
        if isinstance(child, EmbeddedTable):
            if rows:
                only = rows[0]
                document[child.source] = {f.source: f.type.from_column(only[f.column]) for f in child.fields}
            else:
                document[child.source] = None
        else:
            ordered = sorted(rows, key=lambda r: r[child.position_column])
            document[child.source] = [child.item_type.from_column(r[child.item_column]) for r in ordered]
    extra = row.get(mapping.extra_column)
    if extra:
        # Django's psycopg setup hands jsonb back as text; a plain psycopg cursor gives a dict.
        text = extra if isinstance(extra, str) else json.dumps(extra)
        document.update(json_util.loads(text, json_options=_EXTRA_JSON))
    return document


def canonical_document(mapping: CollectionMapping, document: dict[str, Any]) -> dict[str, Any]:
    """The canonical form of a MongoDB document: what its rows read back as.

    Legacy forms are normalised (24-hex string ids → ObjectId, ISO strings → UTC datetimes with
    millisecond precision), missing keys take their declared defaults, and the version is dropped.
    """
    rowset = document_to_rows(mapping, document)
    return rows_to_document(mapping, {**rowset.row, "mongo_id": rowset.mongo_id}, rowset.children)
