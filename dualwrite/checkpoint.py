"""Backfill positions and shard plans, kept in a MongoDB collection so that a killed run resumes.

A checkpoint holds, per (collection, shard), the last `_id` whose batch Postgres committed; the
next run of that shard continues after it. `--shard i/N` splits the ObjectId range: the first shard
to start stores a plan of N-1 boundaries, equal steps of the ObjectId value between the smallest
and the largest `_id` at that moment; every shard of that N reads the same plan, so the shards
always cover every id exactly once. The first shard is open below and the last open above, so
documents created later land in the last shard (live dual-writes mirror them anyway).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from dualwrite.errors import DualWriteError

CHECKPOINT_COLLECTION = "dualwrite_backfill_checkpoints"
# Index specs of the checkpoint collection (created by the MongoDB connection manager).
CHECKPOINT_INDEXES: tuple[tuple[tuple[str, ...], bool], ...] = ((("kind", "updated_at"), False),)

RUNNING, FINISHED = "running", "finished"
_SHARD = re.compile(r"^(\d{1,4})/(\d{1,4})$")
MIN_OBJECT_ID = ObjectId("0" * 24)
# Documents whose _id is a (legacy) 24-hex string instead of an ObjectId: read in a pass of their own.
LEGACY_IDS: dict[str, Any] = {"_id": {"$type": "string"}}


class InvalidShardError(DualWriteError, ValueError):
    """A `--shard` spec that is not i/N with 0 <= i < N."""

    def __init__(self, text: str) -> None:
        super().__init__(f"invalid shard {text[:20]!r}: use i/N with 0 <= i < N, e.g. 0/4")


@dataclass(frozen=True)
class Shard:
    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = _SHARD.match(text.strip())
        if not match:
            raise InvalidShardError(text)
        index, count = int(match.group(1)), int(match.group(2))
        if count < 1 or not 0 <= index < count:
            raise InvalidShardError(text)
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True)
class IdRange:
    """Half-open ObjectId range [lower, upper); None is unbounded."""

    lower: ObjectId | None = None
    upper: ObjectId | None = None

    def query(self, after: ObjectId | None = None) -> dict[str, Any]:
        """The MongoDB filter of the range (after `after`). A bound always applies, so that only
        ObjectId ids match (MongoDB compares within one BSON type); legacy string ids are read
        apart (see `LEGACY_IDS`)."""
        bounds: dict[str, Any] = {}
        if after is not None and (self.lower is None or after >= self.lower):
            bounds["$gt"] = after
        else:
            bounds["$gte"] = self.lower if self.lower is not None else MIN_OBJECT_ID
        if self.upper is not None:
            bounds["$lt"] = self.upper
        return {"_id": bounds}

    def contains(self, oid: ObjectId) -> bool:
        return (self.lower is None or oid >= self.lower) and (self.upper is None or oid < self.upper)


def split_bounds(smallest: ObjectId, largest: ObjectId, count: int) -> list[ObjectId]:
    """N-1 boundaries in equal steps of the ObjectId value between smallest and largest."""
    low, high = int(str(smallest), 16), int(str(largest), 16)
    span = high - low + 1
    return [ObjectId(f"{low + span * k // count:024x}") for k in range(1, count)]


def shard_range(bounds: list[ObjectId], shard: Shard) -> IdRange:
    """The range of one shard; with no plan (the collection was empty) shard 0 takes all."""
    if len(bounds) != shard.count - 1:
        return IdRange() if shard.index == 0 else IdRange(MIN_OBJECT_ID, MIN_OBJECT_ID)
    edges: list[ObjectId | None] = [None, *bounds, None]
    return IdRange(edges[shard.index], edges[shard.index + 1])


@dataclass
class Checkpoint:
    collection: str
    shard: str
    status: str
    last_id: ObjectId | None
    processed: int
    written: int
    rejected: int
    started_at: dt.datetime
    updated_at: dt.datetime


class CheckpointStore:
    """Operations on the checkpoint collection."""

    def __init__(self, collection: Callable[[], Collection[dict[str, Any]]]) -> None:
        self._collection = collection

    @property
    def coll(self) -> Collection[dict[str, Any]]:
        return self._collection()

    @staticmethod
    def _key(collection: str, shard: Shard) -> str:
        return f"position:{collection}:{shard}"

    def load(self, collection: str, shard: Shard) -> Checkpoint | None:
        doc = self.coll.find_one({"_id": self._key(collection, shard)})
        if doc is None:
            return None
        return Checkpoint(
            collection=doc["collection"],
            shard=doc["shard"],
            status=doc["status"],
            last_id=doc.get("last_id"),
            processed=int(doc.get("processed", 0)),
            written=int(doc.get("written", 0)),
            rejected=int(doc.get("rejected", 0)),
            started_at=doc["started_at"],
            updated_at=doc["updated_at"],
        )

    def start(self, collection: str, shard: Shard) -> Checkpoint:
        """A fresh position at the start of the shard (replacing any earlier one)."""
        now = dt.datetime.now(dt.UTC)
        checkpoint = Checkpoint(collection, str(shard), RUNNING, None, 0, 0, 0, now, now)
        self.save(checkpoint)
        return checkpoint

    def save(self, checkpoint: Checkpoint) -> None:
        checkpoint.updated_at = dt.datetime.now(dt.UTC)
        self.coll.replace_one(
            {"_id": self._key(checkpoint.collection, Shard.parse(checkpoint.shard))},
            {
                "kind": "position",
                "collection": checkpoint.collection,
                "shard": checkpoint.shard,
                "status": checkpoint.status,
                "last_id": checkpoint.last_id,
                "processed": checkpoint.processed,
                "written": checkpoint.written,
                "rejected": checkpoint.rejected,
                "started_at": checkpoint.started_at,
                "updated_at": checkpoint.updated_at,
            },
            upsert=True,
        )

    def shard_bounds(
        self, collection: str, count: int, extent: Callable[[], tuple[ObjectId, ObjectId] | None]
    ) -> list[ObjectId]:
        """The shared split of `collection` into `count` shards, made once by whichever shard
        asks first (`extent` gives the smallest and largest _id, or None when empty)."""
        if count == 1:
            return []
        key = f"plan:{collection}:{count}"
        doc = self.coll.find_one({"_id": key})
        if doc is not None:
            return list(doc["bounds"])
        found = extent()
        if found is None:
            return []  # nothing to split; not stored, so a later run splits the real data
        bounds = split_bounds(found[0], found[1], count)
        try:
            self.coll.insert_one(
                {"_id": key, "kind": "plan", "collection": collection, "count": count, "bounds": bounds,
                 "updated_at": dt.datetime.now(dt.UTC)}
            )  # fmt: skip
        except DuplicateKeyError:  # another shard stored its plan first: use that one
            doc = self.coll.find_one({"_id": key})
            if doc is not None:
                return list(doc["bounds"])
        return bounds

    def purge_finished_before(self, cutoff: dt.datetime) -> int:
        """Delete positions of finished runs last updated before `cutoff` (a later run starts
        afresh either way), and shard plans made before it of collections no run is using.
        A running position is never deleted: its run must be able to resume."""
        deleted = int(
            self.coll.delete_many(
                {"kind": "position", "status": FINISHED, "updated_at": {"$lt": cutoff}}
            ).deleted_count
        )
        busy = self.coll.distinct("collection", {"kind": "position", "status": {"$ne": FINISHED}})
        plans = {"kind": "plan", "updated_at": {"$lt": cutoff}, "collection": {"$nin": busy}}
        deleted += int(self.coll.delete_many(plans).deleted_count)
        return deleted

    def positions(self) -> list[Checkpoint]:
        """Every stored position (status and dashboard)."""
        return [
            c
            for doc in self.coll.find({"kind": "position"}).sort("updated_at", -1)
            if (c := self.load(doc["collection"], Shard.parse(doc["shard"]))) is not None
        ]
