"""Verify reports, kept in a MongoDB collection so that status, the dashboard and /metrics can show
the last result of every collection. A report holds counts, document ids and field names only,
never document contents."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from pymongo import DESCENDING
from pymongo.collection import Collection

REPORT_COLLECTION = "dualwrite_verify_reports"
# Index specs of the report collection (created by the MongoDB connection manager).
REPORT_INDEXES: tuple[tuple[tuple[str, ...], bool], ...] = ((("collection", "finished_at"), False),)


class ReportStore:
    def __init__(self, collection: Callable[[], Collection[dict[str, Any]]]) -> None:
        self._collection = collection

    @property
    def coll(self) -> Collection[dict[str, Any]]:
        return self._collection()

    def save(self, report: dict[str, Any]) -> None:
        self.coll.insert_one(dict(report))

    def latest(self, collection: str) -> dict[str, Any] | None:
        doc = self.coll.find_one({"collection": collection}, sort=[("finished_at", DESCENDING)])
        if doc is not None:
            doc.pop("_id", None)
        return doc

    def purge_before(self, cutoff: dt.datetime) -> int:
        """Delete reports finished before `cutoff`, except the newest of each collection (status
        and the dashboard always show a collection's last result, however old)."""
        deleted = 0
        for collection in self.coll.distinct("collection"):
            newest = self.coll.find_one(
                {"collection": collection}, {"_id": 1}, sort=[("finished_at", DESCENDING)]
            )
            if newest is None:
                continue
            result = self.coll.delete_many(
                {"collection": collection, "finished_at": {"$lt": cutoff}, "_id": {"$ne": newest["_id"]}}
            )
            deleted += int(result.deleted_count)
        return deleted

    def latest_all(self, collections: list[str]) -> dict[str, dict[str, Any]]:
        """The last report of each collection that has one."""
        found = {name: self.latest(name) for name in collections}
        return {name: report for name, report in found.items() if report is not None}
