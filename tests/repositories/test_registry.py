"""The explicit registry: every collection has a MongoDB and a Postgres repository, and
`get_repository(Model)` answers the entity interface its static type promises, in every phase."""

from __future__ import annotations

from typing import Any

import pytest

from todo.models import documents as domain_models
from todo.repositories import abstract_repository as interfaces
from todo.repositories.factory import get_repository
from todo.repositories.mongo_repository import MONGO_REPOSITORIES, MongoRepository
from todo.repositories.postgres_repository import POSTGRES_REPOSITORIES, PostgresRepository

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


def test_the_registries_list_the_same_collections() -> None:
    assert set(MONGO_REPOSITORIES) == set(POSTGRES_REPOSITORIES) == {m.collection for m in INTERFACES}


@pytest.mark.parametrize("phase", ["dual_write", "postgres_only"])
@pytest.mark.parametrize("model", INTERFACES, ids=lambda model: model.collection)
def test_get_repository_answers_the_model_s_interface(
    settings: Any, phase: str, model: type[domain_models.DomainModel]
) -> None:
    settings.MIGRATION_PHASE = phase
    assert isinstance(get_repository(model), INTERFACES[model])
