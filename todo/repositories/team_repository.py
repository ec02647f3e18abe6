from todo.models.documents import Team
from todo.repositories.abstract_repository import AbstractTeamRepository
from todo.repositories.mongo_repository import MongoRepository, register


@register
class TeamRepository(AbstractTeamRepository, MongoRepository[Team]):
    """Teams in MongoDB; every write is mirrored to Postgres."""
