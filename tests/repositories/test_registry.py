"""The explicit registry: every collection has a MongoDB and a Postgres repository, and
`get_repository(Model)` answers the entity interface its static type promises, in every phase."""

from __future__ import annotations

from typing import Any

import pytest

from todo.models import documents as d
from todo.repositories import abstract_repository as a
from todo.repositories.factory import get_repository
from todo.repositories.mongo_repository import MONGO_REPOSITORIES, MongoRepository
from todo.repositories.postgres_repository import POSTGRES_REPOSITORIES, PostgresRepository

pytestmark = pytest.mark.django_db(transaction=True)

INTERFACES: dict[type[d.DomainModel], type[a.AbstractRepository[Any]]] = {
    d.User: a.AbstractUserRepository,
    d.Task: a.AbstractTaskRepository,
    d.Team: a.AbstractTeamRepository,
    d.UserTeamDetails: a.AbstractUserTeamDetailsRepository,
    d.Label: a.AbstractLabelRepository,
    d.Role: a.AbstractRoleRepository,
    d.UserRole: a.AbstractUserRoleRepository,
    d.TaskAssignment: a.AbstractTaskAssignmentRepository,
    d.Watchlist: a.AbstractWatchlistRepository,
    d.AuditLog: a.AbstractAuditLogRepository,
    d.TeamCreationInviteCode: a.AbstractTeamCreationInviteCodeRepository,
}


@pytest.mark.parametrize("model", INTERFACES, ids=lambda model: model.collection)
def test_each_collection_has_both_implementations_of_its_interface(model: type[d.DomainModel]) -> None:
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
    settings: Any, phase: str, model: type[d.DomainModel]
) -> None:
    settings.MIGRATION_PHASE = phase
    assert isinstance(get_repository(model), INTERFACES[model])
