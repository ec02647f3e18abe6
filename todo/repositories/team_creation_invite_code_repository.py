from todo.models.documents import TeamCreationInviteCode
from todo.repositories.abstract_repository import AbstractTeamCreationInviteCodeRepository
from todo.repositories.mongo_repository import MongoRepository, register


@register
class TeamCreationInviteCodeRepository(
    AbstractTeamCreationInviteCodeRepository, MongoRepository[TeamCreationInviteCode]
):
    """Team-creation invite codes in MongoDB; every write is mirrored to Postgres."""
