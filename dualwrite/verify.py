"""Verify (and repair): compare every MongoDB document with its Postgres rows through the mapping.

The comparison is of canonical forms, not counts: `canonical_document(mapping, document)` against
`rows_to_document(mapping, row, children)`, plus the version. A shortcut comes first: when the
stored columns equal the columns the document maps to, both read back alike and the document is
equal; otherwise the canonical comparison decides and names the differing fields. It streams in constant memory: a
MongoDB cursor sorted by `_id` is merge-joined with the live rows in mongo_id order
(`dualwrite.scan`). Kinds of drift:

- missing: a document without a live row (no row, or a tombstone);
- extra: a live row without a document;
- different: both exist and differ; the differing field names are reported (`_v` for the version,
  `_gen` for the generation);
- invalid: a document the mapping cannot hold (it cannot be mirrored until it is fixed), or a
  document without a live row whose domain-unique key another live row holds: a duplicate that
  the duplicate rule leaves unmirrored (`dualwrite.uniqueness`); the fields are the key's, the
  reason names the holder. Repair leaves both alone;
- needs_backfill: the row was written before a mapped column existed (the column was added
  later): the field's value is still in the row's `extra`, or the column holds its placeholder
  default (or NULL) while the document has a value. Such a row reads back as the right document
  (rows → document merges `extra` back), so only this check sees it; it counts as drift, and
  repair (or a backfill) rewrites the row so that the value moves into its column. The reported
  fields are the document keys.

`repair=True` mends from MongoDB, the truth until postgres_only, in batches during the pass:
documents are re-read and written (first through the normal guard, then, for rows the guard
refused, by reconciling each: row locked, MongoDB re-read, row made to hold it); extra rows are
reconciled too, which tombstones them when their document is still absent. Then a second full pass verifies again, and its result is the report's result.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId
from django.db import connections
from pymongo import ASCENDING
from pymongo.collection import Collection

from dualwrite import metrics
from dualwrite.bulk import BulkLoader
from dualwrite.checkpoint import LEGACY_IDS, MIN_OBJECT_ID
from dualwrite.errors import DualWriteError, MappingError
from dualwrite.mapping import GENERATION_FIELD, VERSION_FIELD, ArrayTable, CollectionMapping
from dualwrite.mirror_sql import child_columns
from dualwrite.reconcile import Reconciler
from dualwrite.reports import ReportStore
from dualwrite.scan import Children, Row, scan_live_rows
from dualwrite.sink import PostgresSink
from dualwrite.transform import RowSet, document_to_rows, normalise_mongo_id, rows_to_document
from dualwrite.uniqueness import conflict, unique_keys

logger = logging.getLogger(__name__)

MISSING, EXTRA, DIFFERENT, INVALID = "missing", "extra", "different", "invalid"
NEEDS_BACKFILL = "needs_backfill"
KINDS = (MISSING, EXTRA, DIFFERENT, INVALID, NEEDS_BACKFILL)

ProgressHook = Callable[[int, int | None], None]


@dataclass(frozen=True)
class Drift:
    kind: str
    mongo_id: str
    fields: tuple[str, ...] = ()
    reason: str | None = None  # why, when the kind and fields do not say it (never a value)

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"kind": self.kind, "mongo_id": self.mongo_id, "fields": list(self.fields)}
        if self.reason is not None:
            found["reason"] = self.reason
        return found


@dataclass
class VerifyReport:
    collection: str
    since: dt.datetime | None = None
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    finished_at: dt.datetime | None = None
    documents: int = 0  # MongoDB documents compared
    rows: int = 0  # live Postgres rows compared
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    fields: dict[str, int] = field(default_factory=dict)  # differing field → documents
    samples: list[Drift] = field(default_factory=list)  # the first `sample_limit` drifts
    found_before_repair: dict[str, int] | None = None  # repair runs: what the first pass found
    repaired: int = 0
    seconds: float = 0.0

    @property
    def drift(self) -> int:
        return sum(self.counts.values())

    @property
    def equal(self) -> bool:
        return self.drift == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "equal": self.equal,
            "drift": self.drift,
            "counts": dict(self.counts),
            "fields": dict(sorted(self.fields.items())),
            "documents": self.documents,
            "rows": self.rows,
            "samples": [d.as_dict() for d in self.samples],
            "since": self.since,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "seconds": round(self.seconds, 3),
            "repair": self.found_before_repair is not None,
            "found_before_repair": self.found_before_repair,
            "repaired": self.repaired,
        }


def _stored_extra(mapping: CollectionMapping, row: Row) -> dict[str, Any]:
    stored = row.get(mapping.extra_column)
    if isinstance(stored, str):  # Django's cursor hands jsonb back as text
        stored = json.loads(stored)
    return stored or {}


def unfilled_fields(mapping: CollectionMapping, rowset: RowSet, row: Row) -> tuple[str, ...]:
    """Document keys of mapped fields the row does not hold in their column yet (written before
    the column existed): the key is in the row's `extra`, or the column holds its placeholder
    default / NULL while the document's value differs from it."""
    extra = _stored_extra(mapping, row)
    unfilled = []
    for f in mapping.fields:
        held, wanted = row[f.column], rowset.row[f.column]
        if f.source in extra or (held != wanted and wanted is not None and held in (None, f.default)):
            unfilled.append(f.source)
    return tuple(unfilled)


def same_columns(mapping: CollectionMapping, rowset: RowSet, row: Row, children: Children) -> bool:
    """True when the stored row and child rows hold exactly the columns the document maps to
    (then they read back as the canonical document)."""
    for f in mapping.fields:
        if rowset.row[f.column] != row[f.column]:
            return False
    if (_stored_extra(mapping, row) or None) != rowset.row[mapping.extra_column]:
        return False
    for child in mapping.children:
        mine, stored = rowset.children.get(child.table, []), children.get(child.table, [])
        if len(mine) != len(stored):
            return False
        columns = child_columns(child)
        if isinstance(child, ArrayTable):
            stored = sorted(stored, key=lambda r: r[child.position_column])
        if any(a[c] != b[c] for a, b in zip(mine, stored, strict=True) for c in columns):
            return False
    return True


def differing_fields(expected: dict[str, Any], actual: dict[str, Any]) -> tuple[str, ...]:
    """Top-level document keys whose values differ (a key missing on one side differs)."""
    return tuple(sorted(k for k in expected.keys() | actual.keys() if expected.get(k) != actual.get(k)))


class _Repairer:
    """Collects drifting ids and mends them from MongoDB in batches."""

    def __init__(
        self,
        mapping: CollectionMapping,
        coll: Collection[dict[str, Any]],
        loader: BulkLoader,
        sink: PostgresSink,
        batch_size: int,
    ) -> None:
        self.mapping, self.coll, self.loader, self.sink = mapping, coll, loader, sink
        self.batch_size = batch_size
        self.pending: dict[str, int | None] = {}  # mongo_id → version of its live row, None: none
        self.repaired = 0

    def add(self, mongo_id: str, row_version: int | None) -> None:
        self.pending[mongo_id] = row_version
        if len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        pending, self.pending = self.pending, {}
        # Re-read now: the document as it is at this moment is what Postgres must hold.
        keys: list[Any] = [ObjectId(i) for i in pending] + list(pending)  # legacy string ids too
        current = {normalise_mongo_id(d["_id"]): d for d in self.coll.find({"_id": {"$in": keys}})}
        rowsets = []
        for document in current.values():
            try:
                rowsets.append(document_to_rows(self.mapping, document))
            except MappingError as exc:
                logger.error("verify --repair cannot map %s", exc)
        batch = self.loader.write_batch(self.mapping, rowsets)
        applied = batch.applied
        for mongo_id, why in batch.rejected.items():
            logger.error(
                "verify --repair: Postgres refused %s %s: %s", self.mapping.collection, mongo_id, why
            )
        # Refused by the guard (a later state of the row's life, a tombstone, another life), yet
        # MongoDB disagrees; and live rows of documents MongoDB no longer holds: each is locked,
        # MongoDB re-read, and the row made to hold what it holds (`dualwrite.reconcile`).
        reconciler = Reconciler(self.sink, lambda _name: self.coll)
        settle = [
            rs.mongo_id for rs in rowsets if rs.mongo_id not in applied and rs.mongo_id not in batch.rejected
        ]
        settle += [i for i, v in pending.items() if i not in current and v is not None]
        for mongo_id in settle:
            reconciler.reconcile(self.mapping, mongo_id)
        self.repaired += len(applied) + len(settle)


class Verifier:
    def __init__(
        self,
        *,
        source: Callable[[str], Collection[dict[str, Any]]],
        reports: ReportStore | None = None,
        loader: BulkLoader | None = None,
        sink: PostgresSink | None = None,
        page_size: int = 2000,
        sample_limit: int = 100,
    ) -> None:
        self.source = source
        self.reports = reports
        self.loader = loader or BulkLoader()
        self.sink = sink or PostgresSink()
        self.page_size = page_size
        self.sample_limit = sample_limit

    # -- whole runs ---------------------------------------------------------------------------
    def run(
        self,
        mapping: CollectionMapping,
        *,
        since: dt.datetime | None = None,
        repair: bool = False,
        progress: ProgressHook | None = None,
    ) -> VerifyReport:
        """Verify one collection (documents created at or after `since`, by their ObjectId time,
        when given); with `repair`, mend and verify again. The report is stored."""
        if not repair:
            report = self._pass(mapping, since, None, progress)
        else:
            coll = self.source(mapping.collection)
            repairer = _Repairer(mapping, coll, self.loader, self.sink, self.page_size)
            first = self._pass(mapping, since, repairer, progress)
            repairer.flush()
            report = self._pass(mapping, since, None, progress) if first.drift else first
            report.found_before_repair = dict(first.counts)
            report.repaired = repairer.repaired
            report.started_at = first.started_at
        if self.reports is not None:
            self.reports.save(report.as_dict())
        return report

    def _pass(
        self,
        mapping: CollectionMapping,
        since: dt.datetime | None,
        repairer: _Repairer | None,
        progress: ProgressHook | None,
    ) -> VerifyReport:
        coll = self.source(mapping.collection)
        lower = MIN_OBJECT_ID if since is None else ObjectId.from_datetime(since)
        query = {"_id": {"$gte": lower}}
        total = coll.count_documents(query)
        documents = coll.find(query).sort("_id", ASCENDING).batch_size(self.page_size)
        rows = scan_live_rows(mapping, lower=str(lower), page_size=self.page_size, using=self.sink.using)
        report = VerifyReport(mapping.collection, since=since)
        started = time.perf_counter()
        legacy: set[str] = set()
        if since is None:  # documents with a (legacy) string _id are checked one by one first
            legacy = self._legacy(mapping, coll, report, repairer)
        self.compare(mapping, documents, rows, report=report, repairer=repairer, skip=legacy, progress=progress, total=total)  # fmt: skip
        report.seconds = time.perf_counter() - started
        report.finished_at = dt.datetime.now(dt.UTC)
        return report

    def _legacy(
        self,
        mapping: CollectionMapping,
        coll: Collection[dict[str, Any]],
        report: VerifyReport,
        repairer: _Repairer | None,
    ) -> set[str]:
        seen: set[str] = set()
        for document in coll.find(LEGACY_IDS):
            try:
                mongo_id = normalise_mongo_id(document["_id"])
            except DualWriteError:
                report.documents += 1
                self._note(report, Drift(INVALID, str(document["_id"])[:40], ("_id",)), None, None)
                continue
            seen.add(mongo_id)
            found = self.sink.fetch(mapping, [mongo_id]).get(mongo_id)
            live = found if found is not None and not found[0]["source_deleted"] else None
            self._compare_one(mapping, report, mongo_id, document, live, repairer)
        return seen

    # -- the merge join ----------------------------------------------------------------------
    def compare(
        self,
        mapping: CollectionMapping,
        documents: Iterable[dict[str, Any]],
        rows: Iterable[tuple[Row, Children]],
        *,
        report: VerifyReport | None = None,
        repairer: _Repairer | None = None,
        skip: set[str] | None = None,
        progress: ProgressHook | None = None,
        total: int | None = None,
    ) -> VerifyReport:
        """Merge-join documents sorted by _id with live rows sorted by mongo_id."""
        report = report or VerifyReport(mapping.collection)
        skip = skip or set()
        docs = _keyed_documents(documents)
        live = ((row["mongo_id"], (row, children)) for row, children in rows if row["mongo_id"] not in skip)
        doc = next(docs, None)
        found = next(live, None)
        reported = 0
        if progress is not None:
            progress(0, total)  # a pass starts (a repairing run makes two)
        while doc is not None or found is not None:
            if found is None or (doc is not None and doc[0] < found[0]):
                assert doc is not None
                self._compare_one(mapping, report, doc[0], doc[1], None, repairer)
                doc = next(docs, None)
            elif doc is None or found[0] < doc[0]:
                report.rows += 1
                self._note(report, Drift(EXTRA, found[0]), repairer, int(found[1][0]["source_version"]))
                found = next(live, None)
            else:
                self._compare_one(mapping, report, doc[0], doc[1], found[1], repairer)
                doc, found = next(docs, None), next(live, None)
            if progress is not None and report.documents - reported >= self.page_size:
                reported = report.documents
                progress(reported, total)
        if progress is not None:
            progress(report.documents, total)
        metrics.count_verified(mapping.collection, report.documents)
        return report

    def _compare_one(
        self,
        mapping: CollectionMapping,
        report: VerifyReport,
        mongo_id: str,
        document: dict[str, Any],
        live: tuple[Row, Children] | None,
        repairer: _Repairer | None,
    ) -> None:
        report.documents += 1
        if live is not None:
            report.rows += 1
        try:
            rowset = document_to_rows(mapping, document)
        except MappingError as exc:
            self._note(report, Drift(INVALID, mongo_id, (exc.field,)), None, None)
            return
        if live is None:
            keys = unique_keys(mapping)
            duplicate = None
            if keys:
                with connections[self.sink.using].cursor() as cursor:
                    duplicate = conflict(cursor, mapping, rowset, keys)
            if duplicate is not None:
                reason = f"duplicate of {duplicate.holder}"
                self._note(report, Drift(INVALID, mongo_id, duplicate.fields, reason), None, None)
            else:
                self._note(report, Drift(MISSING, mongo_id), repairer, None)
            return
        row, children = live
        same_state = (row["source_version"], row["source_generation"]) == (rowset.version, rowset.generation)
        if same_state and same_columns(mapping, rowset, row, children):
            return  # equal columns read back as equal documents: no need to build both
        # The canonical comparison decides and names the fields: canonical_document(document)
        # (the document's own rows read back) against what the stored rows read back as.
        expected = rows_to_document(mapping, {**rowset.row, "mongo_id": rowset.mongo_id}, rowset.children)
        fields = differing_fields(expected, rows_to_document(mapping, row, children))
        if row["source_version"] != rowset.version:
            fields = (*fields, VERSION_FIELD)
        if row["source_generation"] != rowset.generation:
            fields = (*fields, GENERATION_FIELD)
        unfilled = unfilled_fields(mapping, rowset, row) if same_state else ()
        if unfilled and set(fields) <= set(unfilled):
            # Only fields whose column was added after the row was written: a backfill fills them.
            self._note(
                report, Drift(NEEDS_BACKFILL, mongo_id, unfilled), repairer, int(row["source_version"])
            )
        elif fields or unfilled:
            if unfilled:
                fields = tuple(sorted(set(fields) | set(unfilled)))
            self._note(report, Drift(DIFFERENT, mongo_id, fields), repairer, int(row["source_version"]))

    def _note(
        self, report: VerifyReport, drift: Drift, repairer: _Repairer | None, row_version: int | None
    ) -> None:
        report.counts[drift.kind] += 1
        for name in drift.fields:
            report.fields[name] = report.fields.get(name, 0) + 1
        if len(report.samples) < self.sample_limit:
            report.samples.append(drift)
        if repairer is not None and drift.kind != INVALID:
            repairer.add(drift.mongo_id, row_version)


def _keyed_documents(documents: Iterable[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for document in documents:
        yield str(document["_id"]), document
