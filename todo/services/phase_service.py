"""Entering a migration phase: the service records the phase it serves in (`dualwrite_phase`), and
a change of phase is refused with a one-line reason while the data is not ready for it, unless
forced (MIGRATION_PHASE_FORCE=true or `dualwrite phase --enter --force`).

Ready means: towards postgres_only, MongoDB's writes are all in Postgres (no queued mirror write, no
pending mark) and the last verify of every collection found no drift; back from postgres_only,
Postgres's writes are all in MongoDB (nothing left to write back) and the last reverse verify of
every collection since postgres_only began found no drift. Entering a phase also lifts the new
store of record's display-id counter above every number the other store handed out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from pymongo.errors import PyMongoError

from todo.mappings import get_registry
from todo.models.postgres.operations import PhaseRecord, ReverseVerifyReport
from todo.phases import POSTGRES_ONLY, PhaseNotReady, current_phase, mongodb_retired
from todo.services import counters

logger = logging.getLogger(__name__)


@dataclass
class PhaseChange:
    recorded: str | None
    target: str
    reasons: list[str] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return self.recorded != self.target

    @property
    def ready(self) -> bool:
        return not self.reasons


def recorded() -> PhaseRecord | None:
    return PhaseRecord.objects.filter(key="current").first()


def _towards_postgres_only() -> list[str]:
    from todo.services.operations_setup import build_status

    try:
        status = build_status()
        backlog = status.backlog()
        queued = sum(b.pending + b.failed for b in backlog.values())
        unmirrored = sum(status.unmirrored().values())
        reports = status.last_reports()
    except PyMongoError as exc:
        return [f"MongoDB is unreachable ({type(exc).__name__}): cannot check that Postgres holds all of it"]
    reasons = []
    if queued:
        reasons.append(f"{queued} mirror write(s) still queued (run the worker: `dualwrite worker --once`)")
    if unmirrored:
        reasons.append(f"{unmirrored} document(s) with a pending mirror write")
    collections = get_registry().collections
    unverified = [c for c in collections if c not in reports]
    drifting = [c for c in collections if c in reports and reports[c].get("drift", 0)]
    if unverified:
        reasons.append(f"no verify report for {', '.join(unverified)} (run `dualwrite verify`)")
    if drifting:
        reasons.append(
            f"the last verify found drift in {', '.join(drifting)} (run `dualwrite verify --repair`)"
        )
    return reasons


def _back_from_postgres_only(record: PhaseRecord) -> list[str]:
    from todo.services.dual_write_setup import build_reverse_mirror

    if record.mongodb_retired:
        return ["postgres_only ran with MONGODB_RETIRED=true: its writes were never written back to MongoDB"]
    backlog = sum(build_reverse_mirror().backlog().values())
    reasons = []
    if backlog:
        reasons.append(
            f"{backlog} Postgres write(s) not yet written back to MongoDB (run `dualwrite worker --once`)"
        )
    collections = get_registry().collections
    latest: dict[str, ReverseVerifyReport] = {}
    for report in ReverseVerifyReport.objects.filter(finished_at__gte=record.entered_at).order_by(
        "finished_at"
    ):
        latest[report.collection] = report
    unverified = [c for c in collections if c not in latest]
    drifting = [c for c in collections if c in latest and latest[c].drift]
    if unverified:
        reasons.append(f"no reverse verify for {', '.join(unverified)} (run `dualwrite verify --reverse`)")
    if drifting:
        reasons.append(
            f"the last reverse verify found drift in {', '.join(drifting)} (run `dualwrite verify --reverse --repair`)"
        )
    return reasons


def check() -> PhaseChange:
    """What entering the configured phase would change, and why it is not ready (if it is not)."""
    record = recorded()
    change = PhaseChange(record.phase if record else None, current_phase())
    if record is None or not change.changes:
        return change  # a first start, or the same phase again
    if change.target == POSTGRES_ONLY:
        change.reasons = _towards_postgres_only()
    elif record.phase == POSTGRES_ONLY:
        change.reasons = _back_from_postgres_only(record)
    return change


def enter(force: bool | None = None) -> PhaseChange:
    """Record the configured phase; refuse (PhaseNotReady) a change the data is not ready for."""
    force = settings.MIGRATION_PHASE_FORCE if force is None else force
    change = check()
    if change.changes and not change.ready and not force:
        raise PhaseNotReady(
            f"cannot enter {change.target} from {change.recorded}: {'; '.join(change.reasons)}"
            " (MIGRATION_PHASE_FORCE=true overrides)"
        )
    if change.changes:
        if change.reasons:
            logger.warning(
                "entering %s although not ready (forced): %s", change.target, "; ".join(change.reasons)
            )
        _lift_counters(change)
        PhaseRecord.objects.update_or_create(
            key="current",
            defaults={"phase": change.target, "entered_at": timezone.now(), "forced": bool(change.reasons),
                      "mongodb_retired": mongodb_retired()},
        )  # fmt: skip
    return change


def _lift_counters(change: PhaseChange) -> None:
    """The new store of record continues above every display id the other one gave."""
    name = counters.DISPLAY_ID_COUNTER
    if change.target == POSTGRES_ONLY:
        floor = counters.highest_display_number()
        if not mongodb_retired():
            try:
                floor = max(floor, counters.mongodb_value(name))
            except PyMongoError as exc:
                logger.warning(
                    "display-id counter of MongoDB unreadable (%s); Postgres's tasks decide",
                    type(exc).__name__,
                )
        counters.lift_postgres(name, floor)
    elif change.recorded == POSTGRES_ONLY:
        counters.lift_mongodb(name, max(counters.postgres_value(name), counters.highest_display_number()))
