"""Cut-over readiness per collection: may its reads move to Postgres, may the phase move forward?

Four checks per collection, each with a one-line detail (names and counts, never contents):
- backlog: no mirror write waits (retry records, pending marks); in postgres_only, no Postgres write
  waits to be written back to MongoDB;
- verify: the last verify (the reverse verify in postgres_only) ran within
  READINESS_VERIFY_MAX_AGE_HOURS and found the stores equal;
- shadow: the last READINESS_SHADOW_READS compared shadow reads found no mismatch;
- reverse: the way back works: MongoDB is not retired and no write back to it is failing (the
  rows rendering back to their documents is what an equal verify proves).

A collection's reads may move to Postgres when all four pass. The phase may move to postgres_only
when every collection passes backlog, verify and reverse, and no shadow read found a mismatch
(collections never shadow-read are allowed: their verify stands for them); see
`phase_service.reasons`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from pymongo.errors import PyMongoError

from dualwrite.status import CollectionStatus
from todo import runtime_flags
from todo.mappings import get_registry
from todo.models.postgres.operations import PhaseRecord, ReverseVerifyReport, ShadowRead
from todo.phases import POSTGRES_ONLY, current_phase

BACKLOG, VERIFY, SHADOW, REVERSE = "backlog", "verify", "shadow", "reverse"
CHECKS = (BACKLOG, VERIFY, SHADOW, REVERSE)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class CollectionReadiness:
    collection: str
    route: runtime_flags.ReadRoute  # where its reads go now (in read_migration)
    checks: dict[str, Check] = field(default_factory=dict)
    shadow_compared: int = 0
    shadow_mismatched: int = 0

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks.values())

    def reasons(self, names: Iterable[str] = CHECKS) -> list[str]:
        return [
            f"{self.collection}: {self.checks[n].detail}"
            for n in names
            if n in self.checks and not self.checks[n].ok
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "ready": self.ready,
            "reads": str(self.route),
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in self.checks.values()},
        }


@dataclass
class ReadinessReport:
    phase: str
    collections: list[CollectionReadiness]
    checked_at: dt.datetime = field(default_factory=timezone.now)

    @property
    def ready(self) -> bool:
        return all(c.ready for c in self.collections)

    def get(self, collection: str) -> CollectionReadiness:
        return next(c for c in self.collections if c.collection == collection)

    def as_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "ready": self.ready,
            "checked_at": self.checked_at.isoformat(),
            "collections": [c.as_dict() for c in self.collections],
        }


def _age(moment: dt.datetime | None) -> dt.timedelta | None:
    if moment is None:
        return None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=dt.UTC)
    return timezone.now() - moment


def _ago(age: dt.timedelta) -> str:
    seconds = max(0, int(age.total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def _verify_check(found: bool, equal: bool, drift: int, finished_at: dt.datetime | None, what: str) -> Check:
    if not found:
        return Check(VERIFY, False, f"no {what} report (run a {what}: dashboard Jobs or `dualwrite {what}`)")
    age = _age(finished_at) or dt.timedelta(0)
    if not equal:
        return Check(VERIFY, False, f"the last {what} found drift {drift} ({_ago(age)}; run it with repair)")
    limit = dt.timedelta(hours=float(settings.READINESS_VERIFY_MAX_AGE_HOURS))
    if age > limit:
        return Check(VERIFY, False, f"the last {what} is too old ({_ago(age)}; at most {limit} is accepted)")
    return Check(VERIFY, True, f"equal, {_ago(age)}")


def _shadow_check(readiness: CollectionReadiness) -> Check:
    wanted = int(settings.READINESS_SHADOW_READS)
    if readiness.shadow_mismatched:
        return Check(
            SHADOW,
            False,
            f"{readiness.shadow_mismatched} of the last {readiness.shadow_compared} shadow reads differed",
        )
    if readiness.shadow_compared < wanted:
        return Check(
            SHADOW,
            False,
            f"{readiness.shadow_compared} of {wanted} shadow reads compared so far (set its reads to shadow)",
        )
    if wanted == 0:
        return Check(SHADOW, True, "not required (READINESS_SHADOW_READS=0)")
    return Check(SHADOW, True, f"the last {readiness.shadow_compared} shadow reads were equal")


def shadow_window(collection: str) -> tuple[int, int, list[str]]:
    """(compared, mismatched, differing fields) over the collection's latest shadow reads."""
    wanted = max(int(settings.READINESS_SHADOW_READS), 1)
    outcomes = list(
        ShadowRead.objects.filter(collection=collection)
        .order_by("-id")
        .values_list("fields", flat=True)[:wanted]
    )
    differing = [fields for fields in outcomes if fields]
    names = sorted({name for fields in differing for name in fields})
    return len(outcomes), len(differing), names


def _reverse_check(failing: int) -> Check:
    if settings.MONGODB_RETIRED:
        return Check(REVERSE, False, "MongoDB is retired: there is no way back to it")
    if failing:
        return Check(REVERSE, False, f"{failing} write(s) back to MongoDB failing (see the worker's log)")
    return Check(REVERSE, True, "MongoDB reachable, no write back failing")


def _forward_facts(names: list[str], statuses: list[CollectionStatus] | None) -> dict[str, dict[str, Any]]:
    """Backlog and verify facts while MongoDB is the store of record (from `statuses` when the
    caller has read them already)."""
    if statuses is None:
        from todo.wiring import build_status

        status = build_status()
        backlog, unmirrored, reports = status.backlog(), status.unmirrored(), status.last_reports()
    else:
        backlog = {s.collection: s.backlog for s in statuses}
        unmirrored = {s.collection: s.unmirrored for s in statuses}
        reports = {s.collection: s.last_verify for s in statuses if s.last_verify is not None}
    facts: dict[str, dict[str, Any]] = {}
    for name in names:
        waiting = backlog.get(name)
        queued = 0 if waiting is None else waiting.pending + waiting.failed
        marks = unmirrored.get(name, 0)
        if queued or marks:
            backlog_check = Check(BACKLOG, False, f"{queued} mirror write(s) queued, {marks} pending mark(s)")
        else:
            backlog_check = Check(BACKLOG, True, "no mirror write waiting")
        report = reports.get(name)
        verify_check = _verify_check(
            report is not None,
            bool(report and report.get("equal")),
            int(report.get("drift", 0)) if report else 0,
            report.get("finished_at") if report else None,
            "verify",
        )
        facts[name] = {BACKLOG: backlog_check, VERIFY: verify_check}
    return facts


def _reverse_facts(names: list[str], *, retired: bool) -> dict[str, dict[str, Any]]:
    """postgres_only: what waits to be written back, and the last reverse verify since it began."""
    from todo.wiring import build_reverse_mirror

    waiting = build_reverse_mirror().backlog() if not retired else {}
    record = PhaseRecord.objects.filter(key="current").first()
    since = record.entered_at if record else None
    latest: dict[str, ReverseVerifyReport] = {}
    reports = ReverseVerifyReport.objects.all().order_by("finished_at")
    if since is not None:
        reports = reports.filter(finished_at__gte=since)
    for finished in reports:
        latest[finished.collection] = finished
    facts: dict[str, dict[str, Any]] = {}
    for name in names:
        count = waiting.get(name, 0)
        backlog_check = (
            Check(BACKLOG, False, f"{count} Postgres write(s) not yet written back to MongoDB")
            if count
            else Check(BACKLOG, True, "nothing waits to be written back")
        )
        report = latest.get(name)
        verify_check = _verify_check(
            report is not None,
            bool(report and not report.drift),
            report.drift if report else 0,
            report.finished_at if report else None,
            "verify --reverse",
        )
        facts[name] = {BACKLOG: backlog_check, VERIFY: verify_check}
    return facts


def build_report(
    collections: Iterable[str] | None = None,
    phase: str | None = None,
    statuses: list[CollectionStatus] | None = None,
) -> ReadinessReport:
    """The readiness of the named collections (all mapped ones by default) in `phase` (the
    current one by default: the phase whose data is checked); `statuses` saves reading the
    MongoDB-side facts again when the caller has them."""
    names = list(collections) if collections is not None else list(get_registry().collections)
    phase = phase or current_phase()
    failing: dict[str, int] = {}
    try:
        if phase == POSTGRES_ONLY:
            facts = _reverse_facts(names, retired=bool(settings.MONGODB_RETIRED))
        else:
            facts = _forward_facts(names, statuses)
        if not settings.MONGODB_RETIRED:
            from todo.wiring import build_reverse_mirror

            failing = build_reverse_mirror().backlog(failing=True)
    except (PyMongoError, DatabaseError) as exc:
        down = Check(BACKLOG, False, f"a store is unreachable ({type(exc).__name__}): nothing can be checked")
        facts = {name: {BACKLOG: down, VERIFY: Check(VERIFY, False, "not checked")} for name in names}
    report = ReadinessReport(phase, [])
    for name in names:
        readiness = CollectionReadiness(name, runtime_flags.read_route(name))
        readiness.checks.update(facts[name])
        if phase == POSTGRES_ONLY:
            readiness.checks[SHADOW] = Check(SHADOW, True, "not applicable: Postgres is the store of record")
        else:
            readiness.shadow_compared, readiness.shadow_mismatched, _ = shadow_window(name)
            readiness.checks[SHADOW] = _shadow_check(readiness)
        readiness.checks[REVERSE] = _reverse_check(failing.get(name, 0))
        report.collections.append(readiness)
    return report
