from todo.models.documents import AuditLog
from todo.repositories.abstract_repository import AbstractAuditLogRepository
from todo.repositories.mongo_repository import MongoRepository, register


@register
class AuditLogRepository(AbstractAuditLogRepository, MongoRepository[AuditLog]):
    """Audit log entries in MongoDB; every write is mirrored to Postgres."""
