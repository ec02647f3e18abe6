"""Operational state kept in Postgres, so that `postgres_only` needs no MongoDB: counters (the
display id of tasks), the phase the data was last served in, and the reports of verify in the
Postgres → MongoDB direction."""

from __future__ import annotations

from django.db import models


class Counter(models.Model):
    """A named sequence (e.g. taskDisplayId) while Postgres is the store of record."""

    name = models.CharField(max_length=64, primary_key=True)
    value = models.BigIntegerField()

    class Meta:
        db_table = "dualwrite_counters"


class PhaseRecord(models.Model):
    """The migration phase the service last started in (one row, key "current")."""

    key = models.CharField(max_length=16, primary_key=True, default="current")
    phase = models.CharField(max_length=32)
    entered_at = models.DateTimeField()
    forced = models.BooleanField(default=False)
    # postgres_only was entered with MongoDB retired: its writes were never written back.
    mongodb_retired = models.BooleanField(default=False)

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
