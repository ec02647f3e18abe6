from todo.models.documents import TaskAssignment
from todo.repositories.abstract_repository import AbstractTaskAssignmentRepository
from todo.repositories.mongo_repository import MongoRepository, register


@register
class TaskAssignmentRepository(AbstractTaskAssignmentRepository, MongoRepository[TaskAssignment]):
    """Task assignments in MongoDB; every write is mirrored to Postgres."""
