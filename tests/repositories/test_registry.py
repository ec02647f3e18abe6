"""The explicit registry: every collection has a MongoDB and a Postgres repository, and
`get_repository(Model)` answers the entity interface its static type promises, in every phase (in
read_migration through a routed repository that answers every member of it)."""

from __future__ import annotations

from typing import Any

import pytest

from todo.mappings import get_registry
from todo.models import documents as domain_models
from todo.repositories import abstract_repository as interfaces
from todo.repositories.factory import get_repository
from todo.repositories.mongo_repository import MONGO_REPOSITORIES, MongoRepository
from todo.repositories.postgres_repository import POSTGRES_REPOSITORIES, PostgresRepository
from todo.repositories.routing import RoutedRepository

pytestmark = pytest.mark.django_db(transaction=True)

INTERFACES: dict[type[domain_models.DomainModel], type[interfaces.AbstractRepository[Any]]] = {
    domain_models.User: interfaces.AbstractUserRepository,
    domain_models.Task: interfaces.AbstractTaskRepository,
    domain_models.Team: interfaces.AbstractTeamRepository,
    domain_models.UserTeamDetails: interfaces.AbstractUserTeamDetailsRepository,
    domain_models.Label: interfaces.AbstractLabelRepository,
    domain_models.Role: interfaces.AbstractRoleRepository,
    domain_models.UserRole: interfaces.AbstractUserRoleRepository,
    domain_models.TaskAssignment: interfaces.AbstractTaskAssignmentRepository,
    domain_models.Watchlist: interfaces.AbstractWatchlistRepository,
    domain_models.AuditLog: interfaces.AbstractAuditLogRepository,
    domain_models.TeamCreationInviteCode: interfaces.AbstractTeamCreationInviteCodeRepository,
}


@pytest.mark.parametrize("model", INTERFACES, ids=lambda model: model.collection)
def test_each_collection_has_both_implementations_of_its_interface(
    model: type[domain_models.DomainModel],
) -> None:
    interface = INTERFACES[model]
    mongo, postgres = MONGO_REPOSITORIES[model.collection], POSTGRES_REPOSITORIES[model.collection]
    assert issubclass(mongo, interface) and issubclass(mongo, MongoRepository)
    assert issubclass(postgres, interface) and issubclass(postgres, PostgresRepository)
    assert mongo.model is model and postgres.model is model


def test_every_mapped_collection_and_domain_model_has_both_repositories() -> None:
    """A new collection (a domain model and its mapping) without its repositories fails here."""
    mapped = set(get_registry().collections)
    models = {m.collection for m in domain_models.DOMAIN_MODELS}
    assert set(MONGO_REPOSITORIES) == set(POSTGRES_REPOSITORIES) == mapped == models
    assert set(INTERFACES) == set(domain_models.DOMAIN_MODELS)  # and this test names its interface


@pytest.mark.parametrize("source", ["shadow", "postgres"])
@pytest.mark.parametrize("model", INTERFACES, ids=lambda model: model.collection)
def test_in_read_migration_every_public_member_of_the_interface_answers(
    settings: Any, source: str, model: type[domain_models.DomainModel]
) -> None:
    """A routed repository is not a subclass of the interface, but callers typed against it reach
    every public member: reads routed by the source, everything else from the store of record."""
    settings.MIGRATION_PHASE = "read_migration"
    settings.DUAL_WRITE_READ_SOURCE = {model.collection: source}
    repository = get_repository(model)
    assert isinstance(repository, RoutedRepository)
    for name in dir(INTERFACES[model]):
        if not name.startswith("_"):
            assert getattr(repository, name) is not None, name


@pytest.mark.parametrize("phase", ["dual_write", "postgres_only"])
@pytest.mark.parametrize("model", INTERFACES, ids=lambda model: model.collection)
def test_get_repository_answers_the_model_s_interface(
    settings: Any, phase: str, model: type[domain_models.DomainModel]
) -> None:
    settings.MIGRATION_PHASE = phase
    assert isinstance(get_repository(model), INTERFACES[model])
