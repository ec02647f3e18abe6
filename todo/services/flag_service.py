"""Changing a collection's read source at runtime, and the audit trail of every flag change.

Moving reads to Postgres (from MongoDB or shadow, or to a larger share of them) is refused with the
readiness reasons unless forced; a forced change keeps its reasons in the audit trail. Moving reads
back to MongoDB, or to shadow, is always allowed: that is the way back.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from todo import runtime_flags
from todo.mappings import get_registry
from todo.models.postgres.operations import FlagChange, ReadSourceFlag
from todo.phases import PhaseNotReady
from todo.runtime_flags import POSTGRES, READ_SOURCES, ReadRoute
from todo.services import readiness

logger = logging.getLogger(__name__)

HISTORY_LIMIT = 50


class InvalidFlag(ValueError):
    """A flag value the service does not know (one line)."""


def audit(actor: str, flag: str, old: str, new: str, reasons: list[str]) -> FlagChange:
    change = FlagChange.objects.create(
        at=timezone.now(), actor=actor[:150], flag=flag, old=old, new=new,
        forced=bool(reasons), reasons="\n".join(reasons),
    )  # fmt: skip
    if reasons:
        logger.warning(
            "flag %s changed by %s from %s to %s although not ready (forced)", flag, actor, old, new
        )
    else:
        logger.info("flag %s changed by %s from %s to %s", flag, actor, old, new)
    return change


def history(limit: int = HISTORY_LIMIT) -> list[FlagChange]:
    return list(FlagChange.objects.order_by("-at", "-id")[:limit])


def parse_route(source: str, percent: int | str | None = None) -> ReadRoute:
    if source not in READ_SOURCES:
        raise InvalidFlag(f"unknown read source {source!r}: expected one of {', '.join(READ_SOURCES)}")
    try:
        share = 100 if percent in (None, "") else int(percent)
    except ValueError:
        raise InvalidFlag(f"percent must be a whole number from 1 to 100, not {percent!r}") from None
    if not 1 <= share <= 100:
        raise InvalidFlag(f"percent must be from 1 to 100, not {share}")
    return ReadRoute(source, share)


def route_reasons(collection: str, old: ReadRoute, new: ReadRoute) -> list[str]:
    """Why the collection's reads may not move from `old` to `new` (empty: they may)."""
    if new.source != POSTGRES or (old.source == POSTGRES and new.percent <= old.percent):
        return []
    return readiness.build_report([collection]).get(collection).reasons()


def set_read_route(collection: str, new: ReadRoute, *, actor: str, force: bool = False) -> FlagChange | None:
    """Store the collection's read route (every process applies it within a few seconds); None
    when it already holds. PhaseNotReady when moving reads to Postgres while not ready."""
    if collection not in get_registry().collections:
        raise InvalidFlag(f"unknown collection {collection!r}")
    old = runtime_flags.read_route(collection)
    if old == new:
        return None
    reasons = route_reasons(collection, old, new)
    if reasons and not force:
        raise PhaseNotReady(f"cannot move {collection}'s reads to {new}: {'; '.join(reasons)}")
    with transaction.atomic():
        ReadSourceFlag.objects.update_or_create(
            collection=collection,
            defaults={"source": new.source, "percent": new.percent, "changed_at": timezone.now(),
                      "env_source": runtime_flags.environment_route(collection).source},
        )  # fmt: skip
        change = audit(actor, f"reads:{collection}", str(old), str(new), reasons)
    runtime_flags.invalidate()
    return change
