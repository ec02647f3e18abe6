from django.db import models

from todo.models.postgres.base import MirrorModel, mirror_constraints, outbox_index


class PostgresLabel(MirrorModel):
    # No unique name: MongoDB does not enforce one (two soft-deleted labels may share a name).
    name = models.TextField(null=True)
    color = models.TextField(null=True)
    description = models.TextField(null=True)
    is_deleted = models.BooleanField(default=False)
    created_at = models.DateTimeField(null=True)
    updated_at = models.DateTimeField(null=True)
    created_by = models.CharField(max_length=24, null=True)
    updated_by = models.CharField(max_length=24, null=True)

    class Meta:
        db_table = "postgres_labels"
        constraints = mirror_constraints()
        indexes = [outbox_index("pg_labels"), models.Index(fields=["name"], name="postgres_labels_name_idx")]
