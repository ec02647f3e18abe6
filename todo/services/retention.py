"""Retention: what the operations records keep, and the purge that enforces it.

Every purge deletes what is older than DUAL_WRITE_RETENTION_DAYS. The worker runs it on its own
every DUAL_WRITE_PURGE_INTERVAL_SECONDS (the maintenance of `todo.services.background`), and
`manage.py dualwrite cleanup` runs the same `purge_all`.

`PURGERS` is the explicit list of what is purged; to purge something more, write a function
`fn(cutoff) -> int` (records deleted) and append a `Purger` to it. What is never purged here:
- tombstones of deleted documents (id, generation, version, deletion time): ordering needs them
  for ever, and they hold no document content (`PostgresSink.tombstone`);
- unresolved retry records and running backfill checkpoints (a run must be able to resume);
- the newest verify report of each collection, forward and reverse, however old;
- the audit trail of runtime flag changes (`dualwrite_flag_changes`): small, and who moved what
  when is worth keeping for the whole migration.
The reverse mirror's outbox is the mirror rows themselves (`sync_status = REVERSE`): a row written
back is simply SYNCED, so there are no resolved outbox records to purge.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Max, Q

from todo.models.postgres.operations import Job, ReverseVerifyReport, ShadowRead
from todo.phases import mongodb_retired
from todo.wiring import build_checkpoints, build_history, build_queue, build_reports

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Purger:
    """One kind of record: `purge(cutoff)` deletes what is older than `cutoff`, returns how many."""

    name: str
    purge: Callable[[dt.datetime], int]
    needs_mongodb: bool = True  # skipped when MongoDB is retired (nothing may connect to it)


def _reverse_verify_reports(cutoff: dt.datetime) -> int:
    """Reverse verify reports finished before `cutoff`, except the newest of each collection."""
    newest = ReverseVerifyReport.objects.values("collection").annotate(last=Max("finished_at"))
    keep = Q()
    for entry in newest:
        keep |= Q(collection=entry["collection"], finished_at=entry["last"])
    old = ReverseVerifyReport.objects.filter(finished_at__lt=cutoff)
    if newest:
        old = old.exclude(keep)
    deleted, _ = old.delete()
    return int(deleted)


# Shadow read outcomes kept per collection, in readiness windows (a busy collection in shadow
# writes one row per read: without a cap the table would grow with the traffic).
SHADOW_WINDOWS_KEPT = 10


def _shadow_reads(cutoff: dt.datetime) -> int:
    """Outcomes of shadow reads older than `cutoff`, and beyond the newest SHADOW_WINDOWS_KEPT
    readiness windows of each collection (readiness looks at the latest window only)."""
    deleted, _ = ShadowRead.objects.filter(at__lt=cutoff).delete()
    keep = SHADOW_WINDOWS_KEPT * max(int(settings.READINESS_SHADOW_READS), 1)
    for collection in ShadowRead.objects.values_list("collection", flat=True).distinct():
        oldest_kept = (
            ShadowRead.objects.filter(collection=collection)
            .order_by("-id")
            .values_list("id", flat=True)[keep : keep + 1]
        )
        if oldest_kept:
            more, _ = ShadowRead.objects.filter(collection=collection, id__lte=oldest_kept[0]).delete()
            deleted += more
    return int(deleted)


def _finished_jobs(cutoff: dt.datetime) -> int:
    """Dashboard jobs (and their reports) that ended before `cutoff`; active ones are kept."""
    deleted, _ = Job.objects.exclude(status__in=Job.ACTIVE).filter(finished_at__lt=cutoff).delete()
    return int(deleted)


# What the purge deletes, in this order. Extend by appending (see module docstring).
PURGERS: list[Purger] = [
    Purger("resolved retry records", lambda cutoff: build_queue().purge_resolved_before(cutoff)),
    Purger("verify reports", lambda cutoff: build_reports().purge_before(cutoff)),
    Purger("finished backfill checkpoints", lambda cutoff: build_checkpoints().purge_finished_before(cutoff)),
    Purger("write history minutes", lambda cutoff: build_history().purge_before(cutoff)),
    Purger("reverse verify reports", _reverse_verify_reports, needs_mongodb=False),
    Purger("shadow read outcomes", _shadow_reads, needs_mongodb=False),
    Purger("finished jobs", _finished_jobs, needs_mongodb=False),
]


@dataclass
class PurgeResult:
    cutoff: dt.datetime
    counts: dict[str, int] = field(default_factory=dict)  # purger name → records deleted
    failed: list[str] = field(default_factory=list)  # purgers that raised (logged with traceback)
    skipped: list[str] = field(default_factory=list)  # MongoDB purgers while MongoDB is retired

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        parts = [f"{name}={count}" for name, count in self.counts.items()]
        parts += [f"{name}=FAILED" for name in self.failed]
        parts += [f"{name}=skipped (MongoDB retired)" for name in self.skipped]
        return f"purged records older than {self.cutoff.isoformat(timespec='seconds')}: " + ", ".join(parts)


def retention() -> dt.timedelta:
    return dt.timedelta(days=settings.DUAL_WRITE_RETENTION_DAYS)


def purge_all(older_than: dt.timedelta | None = None, purgers: Sequence[Purger] | None = None) -> PurgeResult:
    """Run every purger with the cutoff now - `older_than` (default: the retention setting); one
    purger failing does not stop the others. Logs one line with the counts."""
    result = PurgeResult(dt.datetime.now(dt.UTC) - (older_than or retention()))
    retired = mongodb_retired()
    for purger in PURGERS if purgers is None else purgers:
        if purger.needs_mongodb and retired:
            result.skipped.append(purger.name)
            continue
        try:
            result.counts[purger.name] = purger.purge(result.cutoff)
        except Exception:  # one store failing must not stop the other purges; logged in full
            logger.exception("retention purge of %s failed", purger.name)
            result.failed.append(purger.name)
    log = logger.warning if result.failed else logger.info
    log("retention: %s", result.summary())
    return result
