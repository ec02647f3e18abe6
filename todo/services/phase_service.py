"""Changing the migration phase: at runtime (dashboard, `dualwrite phase --set`) or by starting
with a different MIGRATION_PHASE (`prepare` calls `enter`). Either way the change is refused with
one-line reasons while the data is not ready for it, unless forced (audited with its reasons).

The phase is a runtime flag (todo.runtime_flags): the row `dualwrite_phase` holds it, with the
MIGRATION_PHASE it was set under; every process follows the row within a few seconds.

Ready means (todo.services.readiness for the checks): towards postgres_only, every collection's
mirror backlog is empty, its last verify is recent and equal, the way back to MongoDB works and no
shadow read found a mismatch; back from postgres_only, Postgres's writes are all in MongoDB (nothing
left to write back) and the last reverse verify of every collection since postgres_only began found
no drift. Between dual_write and read_migration no read moves (each collection's reads move on
their own, see flag_service), so nothing is required. Entering a phase also lifts the new store of
record's display-id counter above every number the other store handed out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from pymongo.errors import PyMongoError

from todo import runtime_flags
from todo.models.postgres.operations import PhaseRecord
from todo.phases import PHASES, POSTGRES_ONLY, PhaseNotReady
from todo.repositories.counters import DISPLAY_ID_COUNTER, MongoCounterRepository, PostgresCounterRepository
from todo.services import readiness
from todo.services.flag_service import InvalidFlag, audit

logger = logging.getLogger(__name__)

ENVIRONMENT = "environment"


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


def requested() -> str:
    """The phase asked for: MIGRATION_PHASE when it differs from the one the row was set under
    (a start with a new value), else the row's (changed at runtime, or the same)."""
    record = recorded()
    env = runtime_flags.environment_phase()
    if record is None or record.env_phase != env:
        return env
    return record.phase


def reasons(record: PhaseRecord, target: str) -> list[str]:
    """Why the data is not ready to move from the recorded phase to `target` (empty: it is)."""
    if target == record.phase:
        return []
    if record.phase == POSTGRES_ONLY:
        if record.mongodb_retired:
            return [
                "postgres_only ran with MONGODB_RETIRED=true: its writes were never written back to MongoDB"
            ]
        report = readiness.build_report(phase=POSTGRES_ONLY)
        return [r for c in report.collections for r in c.reasons((readiness.BACKLOG, readiness.VERIFY))]
    if target != POSTGRES_ONLY:
        return []
    report = readiness.build_report(phase=record.phase)
    names = [readiness.BACKLOG, readiness.VERIFY] + ([] if settings.MONGODB_RETIRED else [readiness.REVERSE])
    found = [r for c in report.collections for r in c.reasons(names)]
    for collection in report.collections:
        if collection.shadow_mismatched:
            found.extend(collection.reasons([readiness.SHADOW]))
    return found


def check(target: str | None = None, record: PhaseRecord | None = None) -> PhaseChange:
    """What moving to `target` (the requested phase by default) would change, and why it is not
    ready (if it is not)."""
    record = record or recorded()
    target = target or requested()
    change = PhaseChange(record.phase if record else None, target)
    if record is not None and change.changes:
        change.reasons = reasons(record, target)
    return change


def _locked() -> PhaseRecord | None:
    """Inside a transaction: the phase row, locked until it ends (changes are taken one at a time)."""
    return PhaseRecord.objects.select_for_update().filter(key="current").first()


def _apply(change: PhaseChange, *, actor: str, env_phase: str, force: bool) -> None:
    if change.changes and not change.ready and not force:
        raise PhaseNotReady(
            f"cannot enter {change.target} from {change.recorded}: {'; '.join(change.reasons)}"
            " (forcing overrides)"
        )
    if change.changes:
        _lift_counters(change)
        PhaseRecord.objects.update_or_create(
            key="current",
            defaults={"phase": change.target, "entered_at": timezone.now(), "forced": bool(change.reasons),
                      "mongodb_retired": change.target == POSTGRES_ONLY and bool(settings.MONGODB_RETIRED),
                      "env_phase": env_phase},
        )  # fmt: skip
    else:
        PhaseRecord.objects.filter(key="current").update(env_phase=env_phase)
    if change.changes and change.recorded is not None:
        audit(actor, "phase", change.recorded, change.target, change.reasons)


def enter(force: bool | None = None) -> PhaseChange:
    """At start-up: record the phase the environment asks for when it asks for a new one; a
    phase changed at runtime stands while MIGRATION_PHASE is what it was set under."""
    force = settings.MIGRATION_PHASE_FORCE if force is None else force
    env = runtime_flags.environment_phase()
    with transaction.atomic():
        record = _locked()
        target = env if record is None or record.env_phase != env else record.phase
        change = check(target, record)
        if record is None or change.changes or record.env_phase != env:
            _apply(change, actor=ENVIRONMENT, env_phase=env, force=force)
    runtime_flags.invalidate()
    return change


def change_phase(target: str, *, actor: str, force: bool = False) -> PhaseChange:
    """At runtime: move every process to `target` within a few seconds (audited)."""
    if target not in PHASES:
        raise InvalidFlag(f"unknown phase {target!r}: expected one of {', '.join(PHASES)}")
    with transaction.atomic():
        record = _locked()
        if record is None:  # never started (`prepare` records it): the environment's phase holds
            env = runtime_flags.environment_phase()
            PhaseRecord.objects.get_or_create(
                key="current", defaults={"phase": env, "env_phase": env, "entered_at": timezone.now()}
            )
            record = _locked()
        assert record is not None
        change = check(target, record)
        if change.changes:
            _apply(change, actor=actor, env_phase=record.env_phase, force=force)
    runtime_flags.invalidate()
    return change


def _lift_counters(change: PhaseChange) -> None:
    """The new store of record continues above every display id the other one gave."""
    name, mongodb, postgres = DISPLAY_ID_COUNTER, MongoCounterRepository(), PostgresCounterRepository()
    if change.target == POSTGRES_ONLY:
        floor = postgres.highest_display_number()
        if not settings.MONGODB_RETIRED:
            try:
                floor = max(floor, mongodb.value(name))
            except PyMongoError as exc:
                logger.warning(
                    "display-id counter of MongoDB unreadable (%s); Postgres's tasks decide",
                    type(exc).__name__,
                )
        postgres.lift(name, floor)
    elif change.recorded == POSTGRES_ONLY:
        mongodb.lift(name, max(postgres.value(name), postgres.highest_display_number()))
