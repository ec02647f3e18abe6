"""The repository factory: callers ask for a collection's repository and get the implementation
the migration phase calls for (the runtime flags of todo.runtime_flags: the phase and, in
read_migration, the collection's read source and the percentage of reads it takes).

- dual_write: the MongoDB repository (writes mirrored; reads from MongoDB);
- read_migration: writes as in dual_write; reads from the collection's source (mongo, postgres,
  or shadow = both, answering from MongoDB and counting mismatches);
- postgres_only: the Postgres repository for reads and writes; MongoDB refuses writes.

Every implementation is listed in `MONGO_REPOSITORIES` (mongo_repository.py) and
`POSTGRES_REPOSITORIES` (postgres_repository.py); the overloads below give each domain model its
entity interface, so `get_repository(Task)` is typed as the task repository.
"""

from __future__ import annotations

from typing import Any, cast, overload

from todo import runtime_flags
from todo.models import documents as domain_models
from todo.phases import POSTGRES_ONLY, READ_MIGRATION, current_phase, mongodb_is_truth
from todo.repositories import abstract_repository as interfaces
from todo.repositories.counters import CounterRepository, MongoCounterRepository, PostgresCounterRepository
from todo.repositories.mongo_repository import MONGO_REPOSITORIES
from todo.repositories.postgres_repository import POSTGRES_REPOSITORIES
from todo.repositories.routing import MONGO, RoutedRepository


# fmt: off
@overload
def get_repository(model: type[domain_models.User]) -> interfaces.AbstractUserRepository: ...
@overload
def get_repository(model: type[domain_models.Task]) -> interfaces.AbstractTaskRepository: ...
@overload
def get_repository(model: type[domain_models.Team]) -> interfaces.AbstractTeamRepository: ...
@overload
def get_repository(model: type[domain_models.UserTeamDetails]) -> interfaces.AbstractUserTeamDetailsRepository: ...
@overload
def get_repository(model: type[domain_models.Label]) -> interfaces.AbstractLabelRepository: ...
@overload
def get_repository(model: type[domain_models.Role]) -> interfaces.AbstractRoleRepository: ...
@overload
def get_repository(model: type[domain_models.UserRole]) -> interfaces.AbstractUserRoleRepository: ...
@overload
def get_repository(model: type[domain_models.TaskAssignment]) -> interfaces.AbstractTaskAssignmentRepository: ...
@overload
def get_repository(model: type[domain_models.Watchlist]) -> interfaces.AbstractWatchlistRepository: ...
@overload
def get_repository(model: type[domain_models.AuditLog]) -> interfaces.AbstractAuditLogRepository: ...
@overload
def get_repository(model: type[domain_models.TeamCreationInviteCode]) -> interfaces.AbstractTeamCreationInviteCodeRepository: ...
@overload
def get_repository(model: type[domain_models.DomainModel] | str) -> interfaces.AbstractRepository[Any]: ...
# fmt: on


def get_repository(model: type[domain_models.DomainModel] | str) -> interfaces.AbstractRepository[Any]:
    """The repository of a collection for the current phase (same interface in every phase)."""
    collection = model if isinstance(model, str) else model.collection
    phase = current_phase()
    if phase == POSTGRES_ONLY:
        return POSTGRES_REPOSITORIES[collection]()
    mongo = MONGO_REPOSITORIES[collection]()
    source = runtime_flags.read_route(collection).pick() if phase == READ_MIGRATION else MONGO
    if source == MONGO:
        return mongo
    # A routed repository answers the wrapped repositories' methods (see routing.py).
    return cast(
        interfaces.AbstractRepository[Any],
        RoutedRepository(mongo, POSTGRES_REPOSITORIES[collection](), source),
    )


def get_counter_repository() -> CounterRepository:
    """The named counters of the phase's store of record (counters.py)."""
    return MongoCounterRepository() if mongodb_is_truth() else PostgresCounterRepository()
