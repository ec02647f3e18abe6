from django.db import models

from todo.models.enums import AuditAction, TaskStatus
from todo.models.postgres.base import MirrorModel, mirror_constraints, one_of, outbox_index


class PostgresAuditLog(MirrorModel):
    action = models.CharField(max_length=48, choices=AuditAction.choices, null=True)
    timestamp = models.DateTimeField(null=True)
    task_id = models.CharField(max_length=24, null=True)
    team_id = models.CharField(max_length=24, null=True)
    previous_executor_id = models.CharField(max_length=24, null=True)
    new_executor_id = models.CharField(max_length=24, null=True)
    spoc_id = models.CharField(max_length=24, null=True)
    assignee_from = models.CharField(max_length=24, null=True)
    assignee_to = models.CharField(max_length=24, null=True)
    performed_by = models.CharField(max_length=24, null=True)
    status_from = models.CharField(max_length=16, choices=TaskStatus.choices, null=True)
    status_to = models.CharField(max_length=16, choices=TaskStatus.choices, null=True)

    class Meta:
        db_table = "postgres_audit_logs"
        constraints = mirror_constraints(
            one_of("action", AuditAction.values),
            one_of("status_from", TaskStatus.values),
            one_of("status_to", TaskStatus.values),
        )
        indexes = [
            outbox_index("pg_audit"),
            models.Index(fields=["team_id", "timestamp"], name="postgres_audit_team_time_idx"),
            models.Index(fields=["task_id"], name="postgres_audit_task_idx"),
        ]
