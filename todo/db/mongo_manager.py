"""The one MongoDB connection manager: it owns the client, the database handle and the indexes.

Nothing else in the project constructs a MongoClient. With MONGODB_URI set, the real server is used
through pymongo; unset, the in-process `mongomock` stand-in is used through the same pymongo API
(it lives in this process only and forgets everything when the process stops).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from pymongo import ASCENDING, MongoClient
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import OperationFailure, PyMongoError

from dualwrite.checkpoint import CHECKPOINT_COLLECTION, CHECKPOINT_INDEXES
from dualwrite.history import HISTORY_COLLECTION, HISTORY_INDEXES
from dualwrite.mapping import PENDING_MARK_FIELD
from dualwrite.queue import QUEUE_COLLECTION, QUEUE_INDEXES
from dualwrite.reports import REPORT_COLLECTION, REPORT_INDEXES

# Timeouts (ms) so that an unreachable server fails fast instead of hanging a request.
SERVER_SELECTION_TIMEOUT_MS = 2000
CONNECT_TIMEOUT_MS = 2000
SOCKET_TIMEOUT_MS = 10000


@dataclass(frozen=True)
class IndexSpec:
    """One MongoDB index: the collection, its keys in order, and options."""

    collection: str
    keys: tuple[str, ...]
    unique: bool = False
    partial: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return "_".join(self.keys) + ("_unique" if self.unique else "")


# Indexes the domain relies on, declared once; ensure_indexes() creates them idempotently.
INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec("users", ("google_id",), unique=True),
    IndexSpec("users", ("email_id",)),
    IndexSpec("tasks", ("displayId",)),
    IndexSpec("tasks", ("createdBy",)),
    IndexSpec("teams", ("invite_code",)),
    IndexSpec("user_team_details", ("user_id", "team_id"), unique=True),
    IndexSpec("task_assignments", ("task_id", "is_active")),
    IndexSpec("task_assignments", ("assignee_id", "is_active")),
    # Task lists read their scope's task ids with `distinct`, covered by these.
    IndexSpec("task_assignments", ("assignee_id", "is_active", "task_id")),
    IndexSpec("task_assignments", ("team_id", "is_active", "task_id")),
    IndexSpec("watchlists", ("userId", "isActive", "taskId")),
    IndexSpec("watchlists", ("userId", "taskId"), unique=True),
    IndexSpec("user_roles", ("user_id", "team_id")),
    IndexSpec("audit_logs", ("team_id", "timestamp")),
    IndexSpec("team_creation_invite_codes", ("code",), unique=True),
    *(IndexSpec(QUEUE_COLLECTION, keys, unique=unique) for keys, unique in QUEUE_INDEXES),
    *(IndexSpec(CHECKPOINT_COLLECTION, keys, unique=unique) for keys, unique in CHECKPOINT_INDEXES),
    *(IndexSpec(REPORT_COLLECTION, keys, unique=unique) for keys, unique in REPORT_INDEXES),
    *(IndexSpec(HISTORY_COLLECTION, keys, unique=unique) for keys, unique in HISTORY_INDEXES),
)

# pymongo Collection methods that read-modify-write; the in-process stand-in runs each under one
# lock so that they are atomic between threads, as they are on a real server.
_STAND_IN_WRITES = (
    "insert_one",
    "insert_many",
    "update_one",
    "update_many",
    "replace_one",
    "delete_one",
    "delete_many",
    "find_one_and_update",
    "find_one_and_replace",
    "find_one_and_delete",
    "bulk_write",
    "create_index",
)
_stand_in_lock = threading.RLock()
_stand_in_patched = False
_stand_in_store: Any = None


def _serialise_stand_in_writes() -> None:
    global _stand_in_patched
    if _stand_in_patched:
        return
    import mongomock.collection

    def locked(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _stand_in_lock:
                return method(*args, **kwargs)

        return wrapper

    for name in _STAND_IN_WRITES:
        setattr(mongomock.collection.Collection, name, locked(getattr(mongomock.collection.Collection, name)))
    _stand_in_patched = True


class MongoDBRetired(PyMongoError):
    """MongoDB is retired (MONGODB_RETIRED=true): nothing may connect to it."""


logger = logging.getLogger(__name__)

DUPLICATE_KEY = 11000


def _sharing_keys(collection: Collection[dict[str, Any]], keys: tuple[str, ...]) -> int:
    """Documents whose values of `keys` another document of the collection has too."""
    pipeline: list[dict[str, Any]] = [
        {"$group": {"_id": {key.replace(".", "_"): f"${key}" for key in keys}, "n": {"$sum": 1}}},
        {"$match": {"n": {"$gt": 1}}},
        {"$group": {"_id": None, "documents": {"$sum": "$n"}}},
    ]
    found = list(collection.aggregate(pipeline))
    return int(found[0]["documents"]) if found else 0


class DatabaseManager:
    """Process-wide owner of the MongoDB client. Use `DatabaseManager.get()`."""

    _instance: DatabaseManager | None = None
    _instance_lock = threading.Lock()

    def __init__(self, uri: str | None, db_name: str) -> None:
        self.uri = uri
        self.db_name = db_name
        self.in_process = uri is None
        self._client: MongoClient[dict[str, Any]] | None = None
        self._client_lock = threading.Lock()

    @classmethod
    def get(cls) -> DatabaseManager:
        """The manager built from settings, created on first use."""
        if settings.MONGODB_RETIRED:
            raise MongoDBRetired("MongoDB is retired (MONGODB_RETIRED=true)")
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls(settings.MONGODB_URI, settings.MONGODB_DB)
            return cls._instance

    @classmethod
    def reset(cls) -> None:
        """Close and forget the process-wide manager (tests; a fresh one is built on next use)."""
        with cls._instance_lock:
            if cls._instance is not None:
                cls._instance.close()
            cls._instance = None

    @property
    def client(self) -> MongoClient[dict[str, Any]]:
        with self._client_lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> MongoClient[dict[str, Any]]:
        if self.uri is None:
            import mongomock.store

            global _stand_in_store
            _serialise_stand_in_writes()
            if _stand_in_store is None:
                _stand_in_store = mongomock.store.ServerStore()
            # One store per process: every client of the stand-in sees the same data, as every
            # client of a real server does.
            return mongomock.MongoClient(tz_aware=True, _store=_stand_in_store)
        return MongoClient(
            self.uri,
            tz_aware=True,
            serverSelectionTimeoutMS=SERVER_SELECTION_TIMEOUT_MS,
            connectTimeoutMS=CONNECT_TIMEOUT_MS,
            socketTimeoutMS=SOCKET_TIMEOUT_MS,
            retryWrites=True,
        )

    @property
    def db(self) -> Database[dict[str, Any]]:
        return self.client[self.db_name]

    def get_collection(self, name: str) -> Collection[dict[str, Any]]:
        """A collection by its dual-write name (e.g. "watchlists", whose documents the existing
        app keeps in "watchlist": see todo.mappings) or, for any other name, as named."""
        from todo.mappings import get_registry

        return self.db[get_registry().mongo_collection_of(name)]

    def ping(self) -> None:
        """Round trip to the server; raises a pymongo error when it is unreachable."""
        self.db.command("ping")

    def ensure_indexes(self) -> None:
        """Create the declared indexes (idempotent), and on every mirrored collection a partial
        index of the pending marks the worker's sweep looks for."""
        from todo.mappings import get_registry

        pending = tuple(
            IndexSpec(m.collection, (PENDING_MARK_FIELD,), partial={PENDING_MARK_FIELD: {"$exists": True}})
            for m in get_registry()
        )
        for spec in (*INDEXES, *pending):
            options: dict[str, Any] = {"name": spec.name, "unique": spec.unique}
            if spec.partial is not None:
                options["partialFilterExpression"] = spec.partial
            collection = self.get_collection(spec.collection)
            try:
                collection.create_index([(key, ASCENDING) for key in spec.keys], **options)
            except OperationFailure as exc:
                if exc.code != DUPLICATE_KEY:
                    raise
                # Existing data breaks the index's uniqueness (the existing app checks it in code
                # only): serve without the index; `dualwrite doctor` lists the duplicates.
                logger.warning(
                    "index %s of MongoDB collection %s not created: %d document(s) share its keys"
                    " (run `dualwrite doctor`)",
                    spec.name,
                    collection.name,
                    _sharing_keys(collection, spec.keys),
                )

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None
