"""Verify, verify-with-repair and backfill as background jobs started from the sync dashboard.

A job is a row of `dualwrite_jobs` (`todo.models.postgres.operations.Job`) run in a daemon thread
of the process that took the request: with the in-process MongoDB stand-in only the serving
process sees the data. The thread runs the same builders as `manage.py dualwrite verify|backfill`
(`todo.wiring`), so a verify report also lands in the ReportStore. It writes
the progress hooks' (processed, total) to the row at most twice a second, and a heartbeat every
few seconds; a queued or running job whose heartbeat is older than STALE_AFTER lost its thread
(its process stopped) and is marked abandoned when a new job for its collection is requested.

At most one job per collection is queued or running: a partial unique index decides, so two
processes starting one at the same moment cannot both succeed.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connections, transaction
from django.urls import reverse
from django.utils import timezone

from dualwrite.mapping import CollectionMapping
from todo.mappings import get_registry
from todo.models.postgres.operations import Job
from todo.phases import POSTGRES_ONLY, current_phase, reverse_mirroring
from todo.wiring import build_backfiller, build_verifier, reverse_verify

logger = logging.getLogger(__name__)

# A job whose heartbeat is older than this lost its thread (its process stopped).
STALE_AFTER = dt.timedelta(seconds=60)
HEARTBEAT_SECONDS = 5.0
PROGRESS_SECONDS = 0.5  # at most two progress writes a second
RECENT_JOBS = 20
ERROR_LENGTH = 300
ONE_ACTIVE_PER_COLLECTION = "dualwrite_jobs_one_active_per_collection"
ALL_COLLECTIONS = "__all__"  # the form's choice of every mapped collection


class JobRefused(Exception):
    """The job cannot run in this deployment (one line, shown to the operator)."""


@dataclass
class StartOutcome:
    started: list[Job] = field(default_factory=list)
    busy: list[Job] = field(default_factory=list)  # the queued or running job that refused a start


def one_line_error(exc: BaseException) -> str:
    """Exception type and the first line of its message: database errors put the failing row in
    later lines (DETAIL), and a job's error must never carry document contents."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text[:ERROR_LENGTH]


def _refusal(kind: str) -> str | None:
    if current_phase() != POSTGRES_ONLY:
        return None
    if kind == Job.BACKFILL:
        return "backfill is refused in postgres_only: PostgreSQL is the store of record, nothing is copied from MongoDB"
    if not reverse_mirroring():
        return "verify is refused: MongoDB is retired, there is nothing to compare PostgreSQL with"
    return None


def _claim(kind: str, collection: str, started_by: str) -> Job | None:
    """Insert a queued job for `collection`, first abandoning a stale one; None when another job
    of the collection is queued or running (the database's unique index refuses the insert)."""
    now = timezone.now()
    Job.objects.filter(
        collection=collection, status__in=Job.ACTIVE, heartbeat_at__lt=now - STALE_AFTER
    ).update(
        status=Job.ABANDONED,
        finished_at=now,
        error=f"abandoned: no heartbeat for {STALE_AFTER.seconds} s (its process stopped)",
    )
    try:
        with transaction.atomic():
            return Job.objects.create(
                kind=kind, collection=collection, started_by=started_by, created_at=now, heartbeat_at=now
            )
    except IntegrityError as exc:
        if ONE_ACTIVE_PER_COLLECTION not in str(exc):
            raise
        return None


def start_jobs(kind: str, collection: str | None, started_by: str) -> StartOutcome:
    """Queue a job of `kind` for one collection (None: every mapped collection) and run the queued
    ones one after another in a daemon thread, once the rows are committed. Raises JobRefused for
    an unknown kind or collection, or a kind the phase forbids."""
    if kind not in dict(Job.KINDS):
        raise JobRefused(f"unknown job kind {kind[:40]!r}")
    registry = get_registry()
    if collection is None:
        names = [mapping.collection for mapping in registry]
    elif collection in registry:
        names = [collection]
    else:
        raise JobRefused(f"unknown collection {collection[:64]!r}")
    refusal = _refusal(kind)
    if refusal is not None:
        raise JobRefused(refusal)
    outcome = StartOutcome()
    for name in names:
        job = _claim(kind, name, started_by)
        if job is None:
            busy = Job.objects.filter(collection=name, status__in=Job.ACTIVE).first()
            if busy is not None:
                outcome.busy.append(busy)
        else:
            outcome.started.append(job)
    if outcome.started:
        ids = [job.id for job in outcome.started]
        transaction.on_commit(lambda: _launch(ids))
    return outcome


def _launch(ids: list[int]) -> None:
    threading.Thread(target=run_jobs, args=(ids,), name=f"dualwrite-job-{ids[0]}", daemon=True).start()


def run_jobs(ids: list[int]) -> None:
    """Run queued jobs one after another (the body of a job thread), beating their heart."""
    stop = threading.Event()
    heart = threading.Thread(
        target=_beat, args=(ids, stop), name=f"dualwrite-job-heartbeat-{ids[0]}", daemon=True
    )
    heart.start()
    try:
        for job_id in ids:
            run_job(job_id)
    finally:
        stop.set()
        heart.join()
        connections.close_all()  # this thread's connections, handed back


def _beat(ids: list[int], stop: threading.Event) -> None:
    try:
        while not stop.wait(HEARTBEAT_SECONDS):
            Job.objects.filter(id__in=ids, status__in=Job.ACTIVE).update(heartbeat_at=timezone.now())
    finally:
        connections.close_all()


def run_job(job_id: int) -> None:
    """Run one queued job to done or failed (a job abandoned meanwhile is left alone)."""
    now = timezone.now()
    if not Job.objects.filter(id=job_id, status=Job.QUEUED).update(
        status=Job.RUNNING, started_at=now, heartbeat_at=now
    ):
        return
    job = Job.objects.get(id=job_id)
    progress = ProgressWriter(job_id, passes=2 if job.kind == Job.VERIFY_REPAIR else 1)
    try:
        report = _work(job, progress)
    except Exception as exc:  # noqa: BLE001 - the thread's boundary: any failure ends the job failed, logged in one line
        error = one_line_error(exc)
        # The first line only, as on the page: a database error's later lines quote row values.
        logger.error("job %s (%s of %s) failed: %s", job_id, job.kind, job.collection, error)
        _finish(job_id, status=Job.FAILED, error=error)
        return
    done = progress.final()
    _finish(job_id, status=Job.DONE, report=report, processed=done, total=done)


def _finish(
    job_id: int,
    *,
    status: str,
    report: dict[str, Any] | None = None,
    error: str = "",
    processed: int | None = None,
    total: int | None = None,
) -> None:
    now = timezone.now()
    changes: dict[str, Any] = {
        "status": status,
        "finished_at": now,
        "heartbeat_at": now,
        "report": report,
        "error": error,
    }
    if processed is not None:
        changes["processed"], changes["total"] = processed, total
    Job.objects.filter(id=job_id, status=Job.RUNNING).update(**changes)


def _work(job: Job, progress: ProgressWriter) -> dict[str, Any]:
    """The job's report: the same builders as the `dualwrite` command."""
    mapping: CollectionMapping = get_registry().get(job.collection)
    repair = job.kind == Job.VERIFY_REPAIR
    if current_phase() == POSTGRES_ONLY:
        refusal = _refusal(job.kind)
        if refusal is not None:
            raise JobRefused(refusal)
        diff = reverse_verify(mapping, repair=repair)
        progress(diff.checked, diff.checked)
        return diff.as_dict()
    if job.kind == Job.BACKFILL:
        return build_backfiller().run(mapping, progress=progress).as_dict()
    return build_verifier().run(mapping, repair=repair, progress=progress).as_dict()


class ProgressWriter:
    """The progress hook of Verifier.run and Backfiller.run: writes (processed, total) and the
    heartbeat to the job's row, at most every PROGRESS_SECONDS. A repairing verify makes two passes,
    each counting from 0: the second is shown as the second half."""

    def __init__(self, job_id: int, passes: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        self.job_id, self.passes, self.clock = job_id, passes, clock
        self.pass_index = 0
        self.last_processed = 0
        self.last_total: int | None = None
        self.written_at: float | None = None

    def __call__(self, processed: int, total: int | None) -> None:
        if processed < self.last_processed and self.pass_index + 1 < self.passes:
            self.pass_index += 1  # a new pass started
        self.last_processed, self.last_total = processed, total
        now = self.clock()
        if self.written_at is not None and now - self.written_at < PROGRESS_SECONDS:
            return
        self.written_at = now
        shown_total = None if total is None else total * self.passes
        shown = processed + self.pass_index * (total or 0)
        Job.objects.filter(id=self.job_id).update(
            processed=shown, total=shown_total, heartbeat_at=timezone.now()
        )

    def final(self) -> int:
        """What the finished job processed: all of its passes' share (a repair without drift makes
        one pass only, and is complete)."""
        return max(self.last_total or 0, self.last_processed) * self.passes


def recent_jobs(limit: int = RECENT_JOBS) -> list[Job]:
    """The queued and running jobs, then the latest others, newest first."""
    active = list(Job.objects.filter(status__in=Job.ACTIVE).order_by("-created_at"))
    rest = list(
        Job.objects.exclude(status__in=Job.ACTIVE).order_by("-created_at")[: max(0, limit - len(active))]
    )
    return active + rest


def summary(job: Job) -> str:
    """One phrase for the job list: the verdict of a finished job, or its error."""
    if job.status == Job.FAILED or job.status == Job.ABANDONED:
        return job.error
    report = job.report
    if job.status != Job.DONE or report is None:
        return ""
    if job.kind == Job.BACKFILL:
        return f"{report['processed']} documents, {report['written']} written, {report['rejected']} rejected"
    verdict = "equal" if report["equal"] else f"drift {report['drift']}"
    if report.get("direction") == "reverse":
        return f"{verdict} (PostgreSQL → MongoDB)" + (
            f", {report['repaired']} queued for write-back" if report["repaired"] else ""
        )
    if report.get("repair"):
        return f"{verdict} after repair of {report['repaired']}"
    return verdict


def as_json(job: Job) -> dict[str, Any]:
    """What the dashboard's poller reads: state and progress, never report contents."""
    return {
        "id": job.id,
        "kind": job.kind,
        "collection": job.collection,
        "status": job.status,
        "processed": job.processed,
        "total": job.total,
        "percent": job.percent,
        "summary": summary(job),
        "started_by": job.started_by,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "url": reverse("ops-job", args=[job.id]),
    }


def jobs_context() -> dict[str, Any]:
    """The dashboard's jobs section: the form's choices and the recent jobs."""
    jobs = [as_json(job) for job in recent_jobs()]
    return {
        "jobs": jobs,
        "jobs_active": any(j["status"] in Job.ACTIVE for j in jobs),
        "job_kinds": Job.KINDS,
        "job_collections": get_registry().collections,
        "all_collections": ALL_COLLECTIONS,
    }
