"""What every Postgres mirror table has: the MongoDB id, the source version guarding against stale
writes, the tombstone flag, the sync metadata, and undeclared document keys."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import models
from django.db.models import Q


class SyncStatus(models.TextChoices):
    SYNCED = "SYNCED"
    PENDING = "PENDING"
    FAILED = "FAILED"
    # postgres_only: written here, not yet written back to MongoDB (set in the write's transaction).
    REVERSE = "REVERSE"


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


class MirrorModel(models.Model):
    """Abstract base of the mirror tables (one row per MongoDB document)."""

    mongo_id = models.CharField(max_length=24, unique=True)
    # Version of the MongoDB document this row holds; a write only replaces a lower version.
    source_version = models.BigIntegerField(default=0)
    # Generation of the MongoDB document (the ObjectId minted when this life of the id began):
    # versions are only compared within one generation; NULL for documents written before it.
    source_generation = models.CharField(max_length=24, null=True, blank=True)
    # Tombstone: the document was deleted in MongoDB; a late update cannot bring the row back.
    source_deleted = models.BooleanField(default=False)
    sync_status = models.CharField(max_length=7, choices=SyncStatus.choices, default=SyncStatus.SYNCED)
    sync_error = models.TextField(null=True, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    # Document keys the mapping does not declare, as MongoDB extended JSON (nothing dropped).
    extra = models.JSONField(null=True, blank=True)

    class Meta:
        abstract = True


def outbox_index(prefix: str) -> models.Index:
    """postgres_only: the rows waiting to be written back to MongoDB, in due order (the reverse
    mirror claims and counts them through this partial index, not a table scan)."""
    return models.Index(
        fields=["last_sync_at"], condition=Q(sync_status=SyncStatus.REVERSE), name=f"{prefix}_outbox_idx"
    )


def mirror_constraints(*extra: models.BaseConstraint) -> list[models.BaseConstraint]:
    """The constraints of every mirror table, plus the table's own."""
    return [one_of("sync_status", SyncStatus.values, nullable=False), *extra]
