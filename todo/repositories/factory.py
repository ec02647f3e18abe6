"""The repository factory: callers ask for a collection's repository and get the implementation
the migration phase calls for (the runtime flags of todo.runtime_flags: the phase and, in
read_migration, the collection's read source and the percentage of reads it takes).

- dual_write: the MongoDB repository (writes mirrored; reads from MongoDB);
- read_migration: writes as in dual_write; reads from the collection's source (mongo, postgres,
  or shadow = both, answering from MongoDB and counting mismatches);
- postgres_only: the Postgres repository for reads and writes; MongoDB refuses writes.
"""

from __future__ import annotations

from typing import Any

from todo import runtime_flags
from todo.models import documents as d
from todo.phases import POSTGRES_ONLY, READ_MIGRATION, current_phase
from todo.repositories.abstract_repository import AbstractRepository
from todo.repositories.mongo_repository import mongo_repositories
from todo.repositories.postgres_repository import POSTGRES_REPOSITORIES
from todo.repositories.routing import MONGO, RoutedRepository


def get_repository(model_or_collection: type[d.DomainModel] | str) -> Any:
    """The repository of a collection for the current phase (same interface in every phase)."""
    collection = (
        model_or_collection if isinstance(model_or_collection, str) else model_or_collection.collection
    )
    phase = current_phase()
    if phase == POSTGRES_ONLY:
        return POSTGRES_REPOSITORIES[collection]()
    mongo: AbstractRepository[Any] = mongo_repositories()[collection]()
    source = runtime_flags.read_route(collection).pick() if phase == READ_MIGRATION else MONGO
    if source == MONGO:
        return mongo
    return RoutedRepository(mongo, POSTGRES_REPOSITORIES[collection](), source)
