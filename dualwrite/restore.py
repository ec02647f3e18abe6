"""Rebuilding an empty MongoDB from the Postgres mirror: every live row becomes its document again.

Used at the start of a service whose MongoDB is the in-process stand-in (it forgets everything
when its process ends, while the mirror is kept): rows are read in mongo_id pages
(`dualwrite.scan`, tombstones skipped: they stand for absent documents) and turned into documents
through the one declarative mapping read in the reverse direction (`dualwrite.reverse.
stored_document`: `rows_to_document` plus the row's version `_v` and generation `_gen`), so a
rebuilt document is exactly what `verify` compares its rows with, and later writes continue its
life at the next version. No pending mark is set: Postgres already holds every rebuilt state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pymongo.collection import Collection

from dualwrite.mapping import MappingRegistry
from dualwrite.reverse import stored_document
from dualwrite.scan import scan_live_rows

Target = Callable[[str], Collection[dict[str, Any]]]


class RestoreRefused(Exception):
    """The target MongoDB already holds documents of a mapped collection (nothing was written)."""


@dataclass
class RestoreReport:
    documents: dict[str, int] = field(default_factory=dict)  # collection → documents rebuilt
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.documents.values())


def restore_documents(
    registry: MappingRegistry, target: Target, *, page_size: int = 2000, using: str = "default"
) -> RestoreReport:
    """Write every live row of every mapped collection into `target` as its document.

    Refused (RestoreRefused, before any write) unless every mapped collection of `target` is
    empty: a rebuild never overwrites what MongoDB holds."""
    started = time.perf_counter()
    occupied = [m.collection for m in registry if target(m.collection).find_one({}, {"_id": 1}) is not None]
    if occupied:
        raise RestoreRefused(f"MongoDB already holds documents of {', '.join(occupied)}")
    report = RestoreReport()
    for mapping in registry:
        coll = target(mapping.collection)
        batch: list[dict[str, Any]] = []
        count = 0
        for row, children in scan_live_rows(mapping, page_size=page_size, using=using):
            batch.append(stored_document(mapping, row, children))
            if len(batch) >= page_size:
                coll.insert_many(batch, ordered=True)
                count += len(batch)
                batch = []
        if batch:
            coll.insert_many(batch, ordered=True)
            count += len(batch)
        report.documents[mapping.collection] = count
    report.seconds = time.perf_counter() - started
    return report
