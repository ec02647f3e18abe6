"""The sweep: finds writes whose writer died between the MongoDB write and the Postgres write.

Every engine write of a document sets its pending mark (`_dw`, an ObjectId unique to the write,
holding its time) in the same MongoDB operation, and clears it once Postgres holds that state (or the retry queue holds a record
of it). A mark older than the grace period therefore belongs to a writer that died (or wrote while
mirroring was off): the sweep gives the document a retry-queue record, due at once, and then clears
the mark, so the worker re-applies it from MongoDB like any failed write. Deletes leave no document
to mark; they record their intent in the queue before deleting instead (see the engine).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from dualwrite.mapping import PENDING_MARK_FIELD, MappingRegistry
from dualwrite.operations import UPDATE
from dualwrite.queue import RetryQueue, utcnow

logger = logging.getLogger(__name__)

# How old a pending mark must be before the sweep takes its writer for dead.
SWEEP_GRACE_SECONDS = 5.0
_PROJECTION = {PENDING_MARK_FIELD: 1}


@dataclass
class Sweeper:
    registry: MappingRegistry
    source: Any  # Callable[[str], Collection]
    queue: RetryQueue
    grace: float = SWEEP_GRACE_SECONDS
    batch: int = 500

    def sweep(self) -> int:
        """Hand every document with a stale pending mark to the retry queue; returns how many."""
        # Marks are ObjectIds: their time is the writer's clock, to the second; a mark of the
        # cutoff's second counts as stale (a sweep of a live write is harmless, only redundant).
        cutoff = ObjectId.from_datetime(utcnow() - dt.timedelta(seconds=self.grace - 1))
        handed = 0
        for mapping in self.registry:
            coll = self.source(mapping.collection)
            stale = list(coll.find({PENDING_MARK_FIELD: {"$lt": cutoff}}, _PROJECTION).limit(self.batch))
            for document in stale:
                self.queue.record_intent(mapping.collection, str(document["_id"]), UPDATE, 0.0)
            if stale:
                # A mark is unique to its write: a newer write of a swept document keeps its own.
                marks = list({d[PENDING_MARK_FIELD] for d in stale})
                coll.update_many(
                    {"_id": {"$in": [d["_id"] for d in stale]}, PENDING_MARK_FIELD: {"$in": marks}},
                    {"$unset": {PENDING_MARK_FIELD: ""}},
                )
                logger.warning("sweep: %d unmirrored writes in %s handed to the retry queue",
                               len(stale), mapping.collection)  # fmt: skip
            handed += len(stale)
        return handed
