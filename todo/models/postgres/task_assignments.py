from django.db import models
from django.db.models import Q

from todo.models.enums import AssigneeType
from todo.models.postgres.base import MirrorModel, mirror_constraints, one_of, outbox_index


class PostgresTaskAssignment(MirrorModel):
    task_id = models.CharField(max_length=24, null=True)
    assignee_id = models.CharField(max_length=24, null=True)
    user_type = models.CharField(max_length=8, choices=AssigneeType.choices, null=True)
    team_id = models.CharField(max_length=24, null=True)
    executor_id = models.CharField(max_length=24, null=True)
    is_active = models.BooleanField(default=True)
    created_by = models.CharField(max_length=24, null=True)
    updated_by = models.CharField(max_length=24, null=True)
    created_at = models.DateTimeField(null=True)
    updated_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "postgres_task_assignments"
        constraints = mirror_constraints(one_of("user_type", AssigneeType.values))
        indexes = [
            outbox_index("pg_tasgn"),
            models.Index(fields=["task_id", "is_active"], name="postgres_ta_task_idx"),
            models.Index(fields=["assignee_id", "is_active"], name="postgres_ta_assignee_idx"),
            models.Index(fields=["team_id"], name="postgres_ta_team_idx"),
            # Task lists: the scope's task ids of live active assignments read from the index
            # alone (index-only scans feeding the count's join, in task id order).
            models.Index(
                fields=["assignee_id", "user_type", "task_id"],
                name="postgres_ta_live_assignee_idx",
                condition=Q(is_active=True, source_deleted=False),
            ),
            models.Index(
                fields=["team_id", "task_id"],
                name="postgres_ta_live_team_idx",
                condition=Q(is_active=True, source_deleted=False),
            ),
        ]
