from todo.models.documents import User
from todo.repositories.abstract_repository import AbstractUserRepository
from todo.repositories.mongo_repository import MongoRepository, register


@register
class UserRepository(AbstractUserRepository, MongoRepository[User]):
    """Users in MongoDB; every write is mirrored to Postgres."""
