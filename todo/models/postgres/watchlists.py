from django.db import models
from django.db.models import Q

from todo.models.postgres.base import MirrorModel, mirror_constraints, outbox_index, unique_live


class PostgresWatchlist(MirrorModel):
    task_id = models.CharField(max_length=24, null=True)
    user_id = models.CharField(max_length=24, null=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(null=True)
    created_by = models.CharField(max_length=24, null=True)
    updated_at = models.DateTimeField(null=True)
    updated_by = models.CharField(max_length=24, null=True)

    class Meta:
        db_table = "postgres_watchlists"
        constraints = mirror_constraints(unique_live("user_id", "task_id"))
        indexes = [
            outbox_index("pg_watch"),
            models.Index(fields=["task_id"], name="postgres_watchlists_task_idx"),
            # The watchlist: a user's live active entries' task ids from the index alone (an
            # index-only scan feeding the count's join, in task id order).
            models.Index(
                fields=["user_id", "task_id"],
                name="postgres_watch_live_user_idx",
                condition=Q(is_active=True, source_deleted=False),
            ),
        ]
