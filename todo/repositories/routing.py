"""Read routing for the migration phases: read from Postgres, or read both and compare (shadow).

A routed repository sends writes to the MongoDB repository (MongoDB stays the truth until the
last phase, and every write is mirrored) and reads to the configured source. Reads from Postgres
never answer a document older than MongoDB's (read-your-writes, see `read_your_writes`): MongoDB
answers instead while a write the read could see is not yet mirrored. In `shadow`, reads go to
both stores, the answer is MongoDB's, and each field that differs is counted by collection and
field in `dualwrite_shadow_read_mismatches_total` (logged by field name only, never values); a
read involving a document whose mirror write is pending (a pending mark or an unresolved retry
record) is not compared: that is lag, not drift. Each compared read also leaves its outcome (the
differing field names, none when equal) in `dualwrite_shadow_reads`, which the cut-over readiness
of every process reads (todo.services.readiness).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone
from pydantic import BaseModel, ValidationError

from dualwrite import metrics
from dualwrite.engine import DB_ERRORS
from todo.models.postgres.operations import ShadowRead
from todo.repositories.abstract_repository import AbstractRepository
from todo.repositories.errors import RepositoryError
from todo.repositories.postgres_repository import PostgresRepository
from todo.repositories.read_your_writes import Freshness, build_freshness, fresh_postgres, involved_ids

logger = logging.getLogger(__name__)

MONGO, SHADOW, POSTGRES = "mongo", "shadow", "postgres"
# What a failing Postgres read may raise; it is counted as a mismatch, not passed to the caller.
SHADOW_ERRORS: tuple[type[BaseException], ...] = (*DB_ERRORS, RepositoryError, ValidationError)


def _dump(value: BaseModel) -> dict[str, Any]:
    return value.model_dump()


def differing_fields(primary: Any, shadow: Any) -> list[str]:
    """Names of what differs between two read results (models, lists of models, tuples of
    those, e.g. a page and whether another follows, scalars)."""
    if isinstance(primary, tuple) and isinstance(shadow, tuple) and len(primary) == len(shadow):
        return sorted(
            {f for left, right in zip(primary, shadow, strict=True) for f in differing_fields(left, right)}
        )
    if isinstance(primary, BaseModel) and isinstance(shadow, BaseModel):
        left, right = _dump(primary), _dump(shadow)
        return sorted(k for k in left.keys() | right.keys() if left.get(k) != right.get(k))
    if isinstance(primary, list) and isinstance(shadow, list):
        fields: set[str] = set()
        left_ids = [getattr(item, "id", item) for item in primary]
        right_ids = [getattr(item, "id", item) for item in shadow]
        if set(left_ids) - set(right_ids):
            fields.add("<missing in postgres>")
        if set(right_ids) - set(left_ids):
            fields.add("<extra in postgres>")
        if not fields and left_ids != right_ids:
            fields.add("<order>")
        by_id = {getattr(item, "id", None): item for item in shadow}
        for item in primary:
            other = by_id.get(getattr(item, "id", None))
            if other is not None:
                fields.update(differing_fields(item, other))
        return sorted(fields)
    if (primary is None) != (shadow is None):
        return ["<missing in postgres>" if shadow is None else "<extra in postgres>"]
    return [] if primary == shadow else ["<value>"]


class RoutedRepository:
    """Same interface as the repositories it wraps; see the module docstring."""

    def __init__(
        self, mongo: AbstractRepository[Any], postgres: AbstractRepository[Any], source: str
    ) -> None:
        self.mongo = mongo
        self.source = source
        if source == POSTGRES and isinstance(postgres, PostgresRepository):
            postgres = fresh_postgres(postgres.collection, postgres.sink)
        self.postgres = postgres

    @property
    def collection(self) -> str:
        return self.mongo.collection

    def __getattr__(self, name: str) -> Any:
        kind = getattr(getattr(type(self.mongo), name, None), "__repository_kind__", None)
        if kind is None and name.startswith("_"):
            raise AttributeError(f"{type(self.mongo).__name__} has no repository method {name!r}")
        # Writes, and the interface's other public members (its mapping, audit and sibling
        # helpers), are the store of record's: MongoDB until postgres_only.
        if kind != "read" or self.source == MONGO:
            return getattr(self.mongo, name)
        if self.source == POSTGRES:
            return getattr(self.postgres, name)
        return self._shadowed(name)

    def _shadowed(self, name: str) -> Any:
        primary_method, shadow_method = getattr(self.mongo, name), getattr(self.postgres, name)

        def read(*args: Any, **kwargs: Any) -> Any:
            answer = primary_method(*args, **kwargs)
            try:
                shadow = shadow_method(*args, **kwargs)
            except SHADOW_ERRORS as exc:  # the shadow must never break the read; counted and logged
                logger.warning(
                    "shadow read failed: collection=%s method=%s error=%s",
                    self.collection,
                    name,
                    type(exc).__name__,
                )
                metrics.count_shadow_mismatch(self.collection, "<error>")
                record_shadow_read(self.collection, ["<error>"])
                return answer
            fields = differing_fields(answer, shadow)
            if fields and self._pending(answer, shadow):
                logger.info("shadow read not compared, a mirror write is pending: collection=%s method=%s",
                            self.collection, name)  # fmt: skip
                return answer
            record_shadow_read(self.collection, fields)
            for field in fields:
                metrics.count_shadow_mismatch(self.collection, field)
            if fields:
                logger.warning(
                    "shadow read mismatch: collection=%s method=%s fields=%s", self.collection, name, fields
                )
            return answer

        return read

    def _pending(self, answer: Any, shadow: Any) -> bool:
        """True when a document of either answer (any of the collection's, when the answers hold
        no documents, e.g. counts) has a mirror write pending."""
        ids = involved_ids(answer, shadow)
        return self.freshness.any_pending(ids or None)

    @property
    def freshness(self) -> Freshness:
        return build_freshness(self.collection)


def record_shadow_read(collection: str, fields: list[str]) -> None:
    """Keep one compared read's outcome for the readiness checks (a failure is logged, and the read
    is answered all the same)."""
    try:
        with transaction.atomic():  # a savepoint inside a caller's transaction
            ShadowRead.objects.create(collection=collection, at=timezone.now(), fields=fields)
    except DatabaseError as exc:
        logger.warning("shadow read outcome not kept: collection=%s error=%s", collection, type(exc).__name__)


def shadow_mismatch_counts() -> dict[str, dict[str, int]]:
    """{collection: {field: mismatches}} counted by this process."""
    out: dict[str, dict[str, int]] = {}
    for metric in metrics.SHADOW_READ_MISMATCHES.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                out.setdefault(sample.labels["collection"], {})[sample.labels["field"]] = int(sample.value)
    return out
