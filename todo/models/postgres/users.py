from django.db import models

from todo.models.postgres.base import MirrorModel, mirror_constraints, outbox_index, unique_live


class PostgresUser(MirrorModel):
    google_id = models.TextField(null=True)
    email_id = models.TextField(null=True)
    name = models.TextField(null=True)
    picture = models.TextField(null=True)
    created_at = models.DateTimeField(null=True)
    updated_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "postgres_users"
        constraints = mirror_constraints(unique_live("google_id"))
        indexes = [
            outbox_index("pg_users"),
            models.Index(fields=["email_id"], name="postgres_users_email_idx"),
        ]
