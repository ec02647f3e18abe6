from todo.models.documents import UserRole
from todo.repositories.abstract_repository import AbstractUserRoleRepository
from todo.repositories.mongo_repository import MongoRepository, register


@register
class UserRoleRepository(AbstractUserRoleRepository, MongoRepository[UserRole]):
    """Role grants of users in MongoDB; every write is mirrored to Postgres."""
