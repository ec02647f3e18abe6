from todo.models.documents import Role
from todo.repositories.abstract_repository import AbstractRoleRepository
from todo.repositories.mongo_repository import MongoRepository, register


@register
class RoleRepository(AbstractRoleRepository, MongoRepository[Role]):
    """Roles in MongoDB; every write is mirrored to Postgres."""
