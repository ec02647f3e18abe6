from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce, Collate

from todo.models.enums import TaskPriority, TaskStatus
from todo.models.postgres.base import MirrorModel, mirror_constraints, one_of, outbox_index


class PostgresTask(MirrorModel):
    display_id = models.TextField(null=True)
    title = models.TextField(null=True)
    description = models.TextField(null=True)
    priority = models.IntegerField(choices=TaskPriority.choices, default=TaskPriority.LOW)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.TODO)
    is_acknowledged = models.BooleanField(default=False)
    is_deleted = models.BooleanField(default=False)
    started_at = models.DateTimeField(null=True)
    due_at = models.DateTimeField(null=True)
    created_at = models.DateTimeField(null=True)
    updated_at = models.DateTimeField(null=True)
    created_by = models.CharField(max_length=24, null=True)
    updated_by = models.CharField(max_length=24, null=True)

    class Meta:
        db_table = "postgres_tasks"
        constraints = mirror_constraints(
            one_of("priority", TaskPriority.values, nullable=False),
            one_of("status", TaskStatus.values, nullable=False),
        )
        indexes = [
            outbox_index("pg_tasks"),
            models.Index(fields=["status"], name="postgres_tasks_status_idx"),
            models.Index(fields=["priority"], name="postgres_tasks_priority_idx"),
            models.Index(fields=["due_at"], name="postgres_tasks_due_at_idx"),
            models.Index(fields=["created_by"], name="postgres_tasks_created_by_idx"),
            # The lists' default order (latest activity first, ties by id) over live tasks: a
            # page of a long list walks this index instead of sorting the whole scope.
            models.Index(
                Coalesce("updated_at", "created_at").desc(nulls_last=True),
                Collate("mongo_id", "C").desc(),
                condition=Q(source_deleted=False, is_deleted=False),
                name="postgres_tasks_activity_idx",
            ),
            # A list's count: live task ids with their status, read from the index alone.
            models.Index(
                fields=["mongo_id"],
                include=["status"],
                condition=Q(source_deleted=False, is_deleted=False),
                name="postgres_tasks_live_ids_idx",
            ),
        ]


class PostgresTaskLabel(models.Model):
    """One row per (task, label) pair of a task's `labels` array."""

    task = models.ForeignKey(
        PostgresTask, to_field="mongo_id", db_column="task_mongo_id", on_delete=models.CASCADE
    )
    label_mongo_id = models.CharField(max_length=24)
    position = models.IntegerField()

    class Meta:
        db_table = "postgres_task_labels"
        constraints = [
            models.UniqueConstraint(fields=["task", "label_mongo_id"], name="postgres_task_labels_pair_uniq")
        ]
        indexes = [models.Index(fields=["label_mongo_id"], name="postgres_task_labels_label_idx")]


class PostgresDeferredDetails(models.Model):
    """The `deferredDetails` object of a deferred task (one row per deferred task)."""

    task = models.OneToOneField(
        PostgresTask, to_field="mongo_id", db_column="task_mongo_id", on_delete=models.CASCADE
    )
    deferred_at = models.DateTimeField(null=True)
    deferred_till = models.DateTimeField(null=True)
    deferred_by = models.CharField(max_length=24, null=True)

    class Meta:
        db_table = "postgres_deferred_details"
