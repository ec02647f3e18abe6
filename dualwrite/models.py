"""The columns the engine needs in every mirror table: an abstract Django model that the
application's mirror models extend (one row per MongoDB document).

The engine reads and writes these columns by name (`dualwrite.sink`, `dualwrite.bulk`,
`dualwrite.reverse`); the application adds the mapped columns and its constraints.
"""

from __future__ import annotations

from django.db import models


class SyncStatus(models.TextChoices):
    SYNCED = "SYNCED"
    PENDING = "PENDING"
    FAILED = "FAILED"
    # postgres_only: written here, not yet written back to MongoDB (set in the write's transaction).
    REVERSE = "REVERSE"


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
