from todo.models.documents import UserTeamDetails
from todo.repositories.abstract_repository import AbstractUserTeamDetailsRepository
from todo.repositories.mongo_repository import MongoRepository, register


@register
class UserTeamDetailsRepository(AbstractUserTeamDetailsRepository, MongoRepository[UserTeamDetails]):
    """Team memberships in MongoDB; every write is mirrored to Postgres."""
