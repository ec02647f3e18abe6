from todo.models.documents import Task
from todo.repositories.abstract_repository import AbstractTaskRepository
from todo.repositories.mongo_repository import MongoRepository, register


@register
class TaskRepository(AbstractTaskRepository, MongoRepository[Task]):
    """Tasks in MongoDB; every write is mirrored to Postgres."""
