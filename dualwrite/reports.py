"""Verify reports, kept in a MongoDB collection so that status, the dashboard and /metrics can show
the last result of every collection. A report holds counts, document ids and field names only,
never document contents."""

from __future__ import annotations

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

    def latest_all(self, collections: list[str]) -> dict[str, dict[str, Any]]:
        """The last report of each collection that has one."""
        found = {name: self.latest(name) for name in collections}
        return {name: report for name, report in found.items() if report is not None}
