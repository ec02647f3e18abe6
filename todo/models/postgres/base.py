"""The constraints and indexes of the mirror tables. Their columns (the MongoDB id, the source
version and generation guarding against stale writes, the tombstone flag, the sync metadata, and
undeclared document keys) are the engine's: `dualwrite.models.MirrorModel`, re-exported here."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import models
from django.db.models import Q

from dualwrite.models import MirrorModel, SyncStatus

__all__ = ["MirrorModel", "SyncStatus", "mirror_constraints", "one_of", "outbox_index", "unique_live"]


def one_of(column: str, values: Sequence[object], *, nullable: bool = True) -> models.CheckConstraint:
    """CHECK that `column` holds one of `values` (or NULL when nullable)."""
    condition = Q(**{f"{column}__in": list(values)})
    if nullable:
        condition |= Q(**{f"{column}__isnull": True})
    return models.CheckConstraint(condition=condition, name=f"%(app_label)s_%(class)s_{column}_valid")


def unique_live(*columns: str) -> models.UniqueConstraint:
    """Uniqueness MongoDB also guarantees, scoped to rows that are not tombstones."""
    return models.UniqueConstraint(
        fields=list(columns),
        condition=Q(source_deleted=False),
        name=f"%(app_label)s_%(class)s_{'_'.join(columns)}_live_uniq",
    )


def outbox_index(prefix: str) -> models.Index:
    """postgres_only: the rows waiting to be written back to MongoDB, in due order (the reverse
    mirror claims and counts them through this partial index, not a table scan)."""
    return models.Index(
        fields=["last_sync_at"], condition=Q(sync_status=SyncStatus.REVERSE), name=f"{prefix}_outbox_idx"
    )


def mirror_constraints(*extra: models.BaseConstraint) -> list[models.BaseConstraint]:
    """The constraints of every mirror table, plus the table's own."""
    return [one_of("sync_status", SyncStatus.values, nullable=False), *extra]
