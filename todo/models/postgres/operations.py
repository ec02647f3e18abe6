"""Operational state kept in Postgres, so that `postgres_only` needs no MongoDB: counters (the
display id of tasks), the runtime flags (the phase and each collection's read source) with their
audit trail, samples of shadow reads, the reports of verify in the Postgres → MongoDB direction,
and the verify/backfill jobs started from the sync dashboard."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class Counter(models.Model):
    """A named sequence (e.g. taskDisplayId) while Postgres is the store of record."""

    name = models.CharField(max_length=64, primary_key=True)
    value = models.BigIntegerField()

    class Meta:
        db_table = "dualwrite_counters"


class PhaseRecord(models.Model):
    """The migration phase every process serves in (one row, key "current"): a runtime flag.

    `env_phase` is the MIGRATION_PHASE the environment asked for when this row last followed it:
    while the environment still says the same, the row (changed at runtime) wins; a start with a
    different MIGRATION_PHASE is a new request (see todo.services.phase_service)."""

    key = models.CharField(max_length=16, primary_key=True, default="current")
    phase = models.CharField(max_length=32)
    entered_at = models.DateTimeField()
    forced = models.BooleanField(default=False)
    # postgres_only was entered with MongoDB retired: its writes were never written back.
    mongodb_retired = models.BooleanField(default=False)
    env_phase = models.CharField(max_length=32, default="")

    class Meta:
        db_table = "dualwrite_phase"


class ReverseVerifyReport(models.Model):
    """One run of `dualwrite verify --reverse` for one collection: counts and ids, never contents."""

    collection = models.CharField(max_length=64)
    finished_at = models.DateTimeField()
    checked = models.BigIntegerField()
    missing = models.BigIntegerField()  # rows whose document MongoDB lacks
    extra = models.BigIntegerField()  # MongoDB documents no live row holds
    differing = models.BigIntegerField()
    repaired = models.BigIntegerField(default=0)
    sample_ids = models.JSONField(default=list)

    class Meta:
        db_table = "dualwrite_reverse_verify_reports"
        indexes = [models.Index(fields=["collection", "finished_at"], name="dw_reverse_reports_idx")]

    @property
    def drift(self) -> int:
        return int(self.missing + self.extra + self.differing - self.repaired)


class ReadSourceFlag(models.Model):
    """Where one collection's reads go in read_migration, set at runtime (dashboard or CLI).

    `percent` of the reads go to `source` (shadow or postgres), the others to MongoDB. Like the
    phase, the row wins while DUAL_WRITE_READ_SOURCE still names `env_source` for the collection."""

    collection = models.CharField(max_length=64, primary_key=True)
    source = models.CharField(max_length=16)
    percent = models.PositiveSmallIntegerField(default=100)
    env_source = models.CharField(max_length=16)
    changed_at = models.DateTimeField()

    class Meta:
        db_table = "dualwrite_read_sources"


class FlagChange(models.Model):
    """One change of a runtime flag: who, when, from what to what (kept; never purged)."""

    at = models.DateTimeField()
    actor = models.CharField(max_length=150)  # a staff user, "cli:<login>" or "environment"
    flag = models.CharField(max_length=80)  # "phase" or "reads:<collection>"
    old = models.CharField(max_length=64)
    new = models.CharField(max_length=64)
    forced = models.BooleanField(default=False)
    # Why it was not ready, when forced (one line per failed check; names and counts only).
    reasons = models.TextField(blank=True, default="")

    class Meta:
        db_table = "dualwrite_flag_changes"
        indexes = [models.Index(fields=["-at"], name="dw_flag_changes_at_idx")]


class ShadowRead(models.Model):
    """The outcome of one compared shadow read: the differing field names (empty: equal)."""

    collection = models.CharField(max_length=64)
    at = models.DateTimeField()
    fields = models.JSONField(default=list)

    class Meta:
        db_table = "dualwrite_shadow_reads"
        indexes = [models.Index(fields=["collection", "-id"], name="dw_shadow_reads_idx")]


class Job(models.Model):
    """One verify, verify-with-repair or backfill of one collection started from the sync
    dashboard, run in a thread of the process that took the request (`todo.services.jobs`).
    At most one job per collection is queued or running: the database enforces it."""

    VERIFY, VERIFY_REPAIR, BACKFILL = "verify", "verify_repair", "backfill"
    KINDS = ((VERIFY, "verify"), (VERIFY_REPAIR, "verify with repair"), (BACKFILL, "backfill"))
    QUEUED, RUNNING, DONE, FAILED, ABANDONED = "queued", "running", "done", "failed", "abandoned"
    STATUSES = tuple((s, s) for s in (QUEUED, RUNNING, DONE, FAILED, ABANDONED))
    ACTIVE = (QUEUED, RUNNING)

    kind = models.CharField(max_length=16, choices=KINDS)
    collection = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=STATUSES, default=QUEUED)
    processed = models.BigIntegerField(default=0)
    total = models.BigIntegerField(null=True)
    started_by = models.CharField(max_length=150)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)
    heartbeat_at = models.DateTimeField()
    report = models.JSONField(
        null=True, encoder=DjangoJSONEncoder
    )  # the verify or backfill report's as_dict(): counts and ids
    error = models.CharField(max_length=500, blank=True, default="")  # one line, never contents

    class Meta:
        db_table = "dualwrite_jobs"
        constraints = [
            models.UniqueConstraint(
                fields=["collection"],
                condition=models.Q(status__in=["queued", "running"]),
                name="dualwrite_jobs_one_active_per_collection",
            ),
        ]
        indexes = [models.Index(fields=["-created_at"], name="dualwrite_jobs_created_idx")]

    @property
    def active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def percent(self) -> int | None:
        """Progress in whole percent (100 once done), None while the total is unknown."""
        if self.status == self.DONE:
            return 100
        if not self.total:
            return None
        return min(100, self.processed * 100 // self.total)
