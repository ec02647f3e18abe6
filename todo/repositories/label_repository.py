from todo.models.documents import Label
from todo.repositories.abstract_repository import AbstractLabelRepository
from todo.repositories.mongo_repository import MongoRepository, register


@register
class LabelRepository(AbstractLabelRepository, MongoRepository[Label]):
    """Labels in MongoDB; every write is mirrored to Postgres."""
