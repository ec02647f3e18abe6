"""The engine's error types. Driver errors are translated into these at the boundary."""

from __future__ import annotations


class DualWriteError(Exception):
    """Base of every error the dual-write engine raises on purpose."""


class UnknownCollectionError(DualWriteError, LookupError):
    """A collection name that has no mapping."""

    def __init__(self, collection: str, known: list[str]) -> None:
        self.collection = collection
        super().__init__(f"unknown collection {collection!r}; known: {', '.join(sorted(known))}")


class InvalidMongoIdError(DualWriteError, ValueError):
    """A document id that is not a 24-hex ObjectId."""

    def __init__(self, value: object) -> None:
        shown = repr(value)[:40] if isinstance(value, str) else type(value).__name__
        super().__init__(f"mongo_id must be a 24-hex ObjectId, got {shown}")


class MappingError(DualWriteError, ValueError):
    """A document value that the mapping cannot store faithfully.

    Names the collection, the document id and the field; never the value itself (document contents
    stay out of logs).
    """

    def __init__(
        self, collection: str, mongo_id: str | None, field: str, problem: str, *, reason: str | None = None
    ) -> None:
        self.collection = collection
        self.mongo_id = mongo_id
        self.field = field
        self.problem = problem
        # The problem without any part of the value (`problem` may quote a bounded part of it,
        # for the caller who holds the document anyway); the message, which is logged and stored
        # in the retry queue, says only this.
        self.reason = reason or problem
        super().__init__(f"{collection} {mongo_id or '<no id>'}: field {field!r}: {self.reason}")


class MappingDeclarationError(DualWriteError):
    """A collection mapping that does not match its model (found when the registry is built)."""


class InvalidDocumentError(DualWriteError, ValueError):
    """`data` that cannot be written as given (not an object, operator keys, a different _id)."""


class InvalidOperationError(DualWriteError, ValueError):
    """A batch operation that is malformed; raised before any operation of the batch is applied."""

    def __init__(self, index: int, reason: str) -> None:
        self.index = index
        super().__init__(f"operation {index}: {reason}")


class PostgresUnavailable(DualWriteError):
    """Postgres failed moments ago; writes go straight to the retry queue for a short while."""


class ReadOnlyBackupError(DualWriteError):
    """A write to MongoDB after the migration made it a read-only backup."""


class DocumentNotFoundError(DualWriteError, LookupError):
    """An update of a document MongoDB does not hold (and no upsert asked for); nothing was written."""

    def __init__(self, collection: str, mongo_id: str) -> None:
        self.collection = collection
        self.mongo_id = mongo_id
        super().__init__(f"{collection} {mongo_id}: no such document (pass upsert=True to create it)")


class SourceUnavailable(DualWriteError):
    """MongoDB could not be read while settling a mirror write; the write is retried later."""


class DuplicateKeyConflict(DualWriteError):
    """A document whose domain-unique key (e.g. user_id + team_id) another live row already holds.

    Duplicates are resolved by a documented rule: of the documents sharing a key, the oldest (the
    smallest `_id`) is mirrored and the others are not. A document refused for its key is a
    permanent rejection (retrying cannot help while the holder lives), reported with the key's
    document fields and the holder's id; never the key's values."""

    def __init__(self, collection: str, mongo_id: str, fields: tuple[str, ...], holder: str | None) -> None:
        self.collection = collection
        self.mongo_id = mongo_id
        self.fields = fields
        self.holder = holder
        held = f"duplicate of {holder}" if holder else "duplicate of a live row"
        super().__init__(f"{collection} {mongo_id}: {held} (same {', '.join(fields)})")
