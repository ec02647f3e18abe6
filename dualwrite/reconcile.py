"""Settling what the version guard refused: make Postgres hold MongoDB's current document.

The guard (`dualwrite.ordering`) only lets a write through when it is provably newer than the row.
A refused write is either superseded (the row holds a later state of the same life: nothing to do)
or undecidable from versions alone (another life of the id, a tombstone, a restore). Those are
reconciled: in one Postgres transaction the row is locked (an absent row through a placeholder),
MongoDB is read, and the row is made to hold what MongoDB holds, whatever versions say. Any write
landing after the lock is released is again either provably newer or reconciled, so the last word
is always MongoDB's state at a moment after every write that preceded it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bson import ObjectId
from django.db import transaction
from pymongo.collection import Collection
from pymongo.errors import PyMongoError

from dualwrite.errors import SourceUnavailable
from dualwrite.mapping import CollectionMapping
from dualwrite.ordering import State, supersedes
from dualwrite.sink import PostgresSink
from dualwrite.transform import document_to_rows


class Reconciler:
    def __init__(self, sink: PostgresSink, source: Callable[[str], Collection[dict[str, Any]]]) -> None:
        self.sink = sink
        self.source = source

    def reconcile(self, mapping: CollectionMapping, mongo_id: str) -> dict[str, Any] | None:
        """Make the row hold MongoDB's current document (absent: a tombstone); returns that
        document. Raises MappingError when the document cannot be stored, SourceUnavailable when
        MongoDB cannot be read, and the database's errors; the transaction then leaves no trace."""
        with transaction.atomic(using=self.sink.using):
            held = self.sink.lock(mapping, mongo_id)
            try:
                document = self.source(mapping.collection).find_one({"_id": ObjectId(mongo_id)})
            except PyMongoError as exc:
                raise SourceUnavailable(f"MongoDB read failed: {type(exc).__name__}") from exc
            if document is None:
                self.sink.bury(mapping, mongo_id, held)
            else:
                self.sink.upsert(mapping, [document_to_rows(mapping, document)], force=True)
        return document

    def settle(self, mapping: CollectionMapping, mongo_id: str, written: State) -> None:
        """After the guard refused `written`: nothing to do when the row supersedes it, else
        reconcile."""
        self.settle_many(mapping, {mongo_id: written})

    def settle_many(self, mapping: CollectionMapping, refused: dict[str, State]) -> int:
        """`settle` for many refused writes (one read of the rows); returns how many were
        reconciled."""
        if not refused:
            return 0
        held = self.sink.states(mapping, list(refused))
        reconciled = 0
        for mongo_id, written in refused.items():
            if not supersedes(held.get(mongo_id), written):
                self.reconcile(mapping, mongo_id)
                reconciled += 1
        return reconciled
