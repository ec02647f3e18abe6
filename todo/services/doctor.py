"""Doctor: read an existing MongoDB database and say what the mirror will make of it, before any
backfill. Read-only: it runs `find` and `list_collection_names` on MongoDB and nothing on Postgres.

Per mapped collection (its dual-write name and its physical MongoDB collection):
- documents: how many it holds;
- unmappable: documents the mapping cannot hold, per field and reason (the transform's own
  `document_to_rows` decides; the reason never quotes a value), with up to 5 ids;
- duplicates: documents sharing a domain-unique key (`dualwrite.uniqueness`: the mirror model's
  unique constraints) after the id forms are canonicalised: groups, documents involved, and up to
  5 example groups with the winner (the smallest `_id`, mirrored) and the losers (not mirrored);
- id_forms: per reference field, how many documents hold a 24-hex string id and how many an
  ObjectId (both forms in one field are normal for the existing app; the mirror stores one form);
- backfill: what a backfill would do: write, skip as invalid, skip as duplicate losers.

What blocks (the CLI exits 1, the page says so): a collection of which more than half the
documents cannot be mapped (BLOCKING_SHARE), which points at a wrong database or collection name
rather than at a few bad documents. Duplicates and a few unmappable documents never block: backfill
reports them and goes on. MongoDB unreachable is an error (DoctorError).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING
from pymongo.errors import PyMongoError

from dualwrite.errors import MappingError
from dualwrite.mapping import ArrayTable, CollectionMapping, EmbeddedTable
from dualwrite.transform import document_to_rows
from dualwrite.types import ObjectIdRef
from dualwrite.uniqueness import UniqueKey, unique_keys
from todo.db.mongo_manager import DatabaseManager
from todo.mappings import get_registry

EXAMPLES = 5  # ids shown per finding
BLOCKING_SHARE = 0.5  # more than this share of a collection unmappable blocks
ENGINE_PREFIX = "dualwrite_"  # the engine's own MongoDB collections (queue, reports, ...)
_HEX24 = re.compile(r"^[0-9a-fA-F]{24}$")
_INDEX = re.compile(r"\[\d+\]")


class DoctorError(Exception):
    """The scan could not run (MongoDB unreachable); one line, no document contents."""


@dataclass
class Unmappable:
    field: str
    reason: str
    count: int = 0
    # dataclasses.field by its full name: the `field` above names this class's attribute.
    ids: list[str] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "reason": self.reason, "count": self.count, "ids": self.ids}


@dataclass
class _Holder:
    winner: str
    documents: int = 1
    losers: list[str] = field(default_factory=list)


@dataclass
class Duplicates:
    fields: tuple[str, ...]
    groups: int = 0
    documents: int = 0  # documents in groups of two or more (winners included)
    examples: list[dict[str, Any]] = field(default_factory=list)  # {"winner": id, "losers": [ids]}

    def as_dict(self) -> dict[str, Any]:
        return {
            "fields": list(self.fields),
            "groups": self.groups,
            "documents": self.documents,
            "losers": self.documents - self.groups,
            "examples": self.examples,
        }


@dataclass
class CollectionDiagnosis:
    collection: str
    mongo_collection: str
    exists: bool
    documents: int = 0
    invalid: int = 0  # documents the mapping cannot hold
    unmappable: list[Unmappable] = field(default_factory=list)
    duplicates: list[Duplicates] = field(default_factory=list)
    duplicate_losers: int = 0  # documents backfill would not write by the duplicate rule
    id_forms: dict[str, dict[str, int]] = field(default_factory=dict)
    blocking: str | None = None

    @property
    def backfill(self) -> dict[str, int]:
        return {
            "write": self.documents - self.invalid - self.duplicate_losers,
            "skip_invalid": self.invalid,
            "skip_duplicates": self.duplicate_losers,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "mongo_collection": self.mongo_collection,
            "exists": self.exists,
            "documents": self.documents,
            "invalid": self.invalid,
            "unmappable": [u.as_dict() for u in self.unmappable],
            "duplicates": [d.as_dict() for d in self.duplicates],
            "id_forms": self.id_forms,
            "backfill": self.backfill,
            "blocking": self.blocking,
        }


@dataclass
class Diagnosis:
    database: str
    collections: list[CollectionDiagnosis]
    other_collections: list[str]  # in the database, read by no mapping (a name to map?)

    @property
    def blocking(self) -> list[str]:
        return [c.blocking for c in self.collections if c.blocking]

    @property
    def ok(self) -> bool:
        """True when backfill can proceed (findings may remain: they are reported, not fatal)."""
        return not self.blocking

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "ok": self.ok,
            "blocking": self.blocking,
            "collections": [c.as_dict() for c in self.collections],
            "other_collections": self.other_collections,
        }


def _reference_fields(mapping: CollectionMapping) -> list[tuple[str, Any]]:
    """(report name, how to get the value(s) from a document) of every ObjectId reference."""
    found: list[tuple[str, Any]] = []
    for f in mapping.fields:
        if isinstance(f.type, ObjectIdRef):
            found.append((f.source, lambda doc, key=f.source: [doc.get(key)]))
    for child in mapping.children:
        if isinstance(child, ArrayTable) and isinstance(child.item_type, ObjectIdRef):
            found.append(
                (
                    f"{child.source}[]",
                    lambda doc, key=child.source: v if isinstance(v := doc.get(key), list) else [],
                )
            )
        elif isinstance(child, EmbeddedTable):
            for f in child.fields:
                if isinstance(f.type, ObjectIdRef):
                    found.append(
                        (
                            f"{child.source}.{f.source}",
                            lambda doc, key=child.source, sub=f.source: [
                                v.get(sub) if isinstance(v := doc.get(key), dict) else None
                            ],
                        )
                    )
    return found


def _form(value: Any) -> str | None:
    if isinstance(value, ObjectId):
        return "objectid"
    if isinstance(value, str) and _HEX24.match(value):
        return "string"
    return None


class _Scan:
    """One pass over one collection in `_id` order (the order backfill writes in)."""

    def __init__(self, mapping: CollectionMapping, result: CollectionDiagnosis) -> None:
        self.mapping = mapping
        self.result = result
        self.keys: tuple[UniqueKey, ...] = unique_keys(mapping)
        self.holders: list[dict[tuple[Any, ...], _Holder]] = [{} for _ in self.keys]
        self.references = _reference_fields(mapping)
        self.forms = {name: {"string": 0, "objectid": 0} for name, _get in self.references}
        self.problems: dict[tuple[str, str], Unmappable] = {}

    def add(self, document: dict[str, Any]) -> None:
        result = self.result
        result.documents += 1
        for name, get in self.references:
            held = {_form(v) for v in get(document)} - {None}
            for form in held:
                self.forms[name][str(form)] += 1
        try:
            rowset = document_to_rows(self.mapping, document)
        except MappingError as exc:
            result.invalid += 1
            name = _INDEX.sub("[]", exc.field)
            problem = self.problems.setdefault((name, exc.reason), Unmappable(name, exc.reason))
            problem.count += 1
            if len(problem.ids) < EXAMPLES:
                problem.ids.append(exc.mongo_id or str(document.get("_id"))[:24])
            return
        lost = False
        for key, holders in zip(self.keys, self.holders, strict=True):
            value = key.value(rowset)
            if value is None:
                continue
            holder = holders.get(value)
            if holder is None:
                holders[value] = _Holder(rowset.mongo_id)
                continue
            holder.documents += 1
            if len(holder.losers) < EXAMPLES:
                holder.losers.append(rowset.mongo_id)
            lost = True
        if lost:
            result.duplicate_losers += 1

    def finish(self) -> None:
        result = self.result
        result.unmappable = sorted(self.problems.values(), key=lambda p: (-p.count, p.field))
        result.id_forms = {name: counts for name, counts in self.forms.items() if any(counts.values())}
        for key, holders in zip(self.keys, self.holders, strict=True):
            report = Duplicates(key.fields)
            for holder in holders.values():
                if holder.documents < 2:
                    continue
                report.groups += 1
                report.documents += holder.documents
                if len(report.examples) < EXAMPLES:
                    report.examples.append({"winner": holder.winner, "losers": holder.losers})
            result.duplicates.append(report)
        if result.documents and result.invalid > BLOCKING_SHARE * result.documents:
            result.blocking = (
                f"{result.collection} (MongoDB collection {result.mongo_collection}): {result.invalid} of"
                f" {result.documents} documents cannot be mapped; check MONGODB_DB and MONGODB_COLLECTION_NAMES"
            )


def diagnose_collection(mapping: CollectionMapping, existing: set[str]) -> CollectionDiagnosis:
    manager = DatabaseManager.get()
    result = CollectionDiagnosis(
        mapping.collection, mapping.mongo_collection, exists=mapping.mongo_collection in existing
    )
    scan = _Scan(mapping, result)
    for document in manager.db[mapping.mongo_collection].find({}).sort("_id", ASCENDING):
        scan.add(document)
    scan.finish()
    return result


def diagnose(collections: list[str] | None = None) -> Diagnosis:
    """Scan the MongoDB database (read-only); raises DoctorError when MongoDB cannot be read."""
    registry = get_registry()
    mappings = [registry.get(name) for name in collections] if collections else list(registry)
    manager = DatabaseManager.get()
    try:
        existing = set(manager.db.list_collection_names())
        results = [diagnose_collection(mapping, existing) for mapping in mappings]
    except PyMongoError as exc:
        raise DoctorError(f"MongoDB could not be read: {type(exc).__name__}") from exc
    mapped = {m.mongo_collection for m in registry}
    others = sorted(n for n in existing if n not in mapped and not n.startswith(ENGINE_PREFIX))
    return Diagnosis(manager.db_name, results, others)
