"""The order of a document's states over the whole life of its id, deletes and re-creates included.

A document's state is (generation, version, deleted):
- the generation is an ObjectId minted when a life of the id begins (the insert, or the upsert of an
  absent id) and kept by every later write of that life; a re-created or restored document starts a
  new generation, whatever its version;
- the version `_v` is bumped by MongoDB atomically in every write, so within one generation a higher
  version is a later state;
- a delete ends the generation: its tombstone carries the deleted document's generation and a
  version one above its last.

Versions of different generations are never compared: nothing orders two lives of an id without a
shared clock. So Postgres takes a write without asking MongoDB only when it is provably newer:
the row is absent, or it holds the same generation, is not a tombstone and has a version no higher.
Every other case is settled by asking MongoDB, under the row lock (see `dualwrite.reconcile`):
the row then holds whatever MongoDB holds at that moment, and a later write that would undo it is
either provably newer or settled the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dualwrite.mapping import GENERATION_FIELD, VERSION_FIELD
from dualwrite.types import ObjectIdRef

_ID = ObjectIdRef()


@dataclass(frozen=True)
class State:
    """Where a document's life stands: None generation for documents written before generations."""

    generation: str | None
    version: int
    deleted: bool = False


def document_state(document: dict[str, Any] | None) -> State | None:
    """The state of a MongoDB document; None when it does not exist."""
    if document is None:
        return None
    generation = document.get(GENERATION_FIELD)
    try:
        version = int(document.get(VERSION_FIELD) or 0)
    except (TypeError, ValueError):
        version = 0
    try:
        text = None if generation is None else _ID.to_column(generation)
    except ValueError:  # a generation that is not an ObjectId (written by hand): its text
        text = str(generation)[:24]
    return State(text, version)


def supersedes(row: State | None, written: State) -> bool:
    """True when the row provably holds `written` or a later state of the same life, so a
    refused write of `written` needs nothing more."""
    if row is None or row.generation != written.generation:
        return False
    if written.deleted:
        return row.deleted and row.version >= written.version
    return not row.deleted and row.version >= written.version


def in_step(document: State | None, row: State | None) -> bool:
    """True when the row holds the document's current state (an absent document: no live row)."""
    if document is None:
        return row is None or row.deleted
    return (
        row is not None
        and not row.deleted
        and (row.generation, row.version)
        == (
            document.generation,
            document.version,
        )
    )


# The guard of every unforced write, as SQL over the existing row (`t`) and the written one (`w`).
def guard_sql(existing: str, written: str) -> str:
    return (
        f"{existing}.source_generation IS NOT DISTINCT FROM {written}.source_generation"
        f" AND NOT {existing}.source_deleted AND {existing}.source_version <= {written}.source_version"
    )
