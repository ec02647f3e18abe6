from todo.models.documents import Watchlist
from todo.repositories.abstract_repository import AbstractWatchlistRepository
from todo.repositories.mongo_repository import MongoRepository, register


@register
class WatchlistRepository(AbstractWatchlistRepository, MongoRepository[Watchlist]):
    """Watchlist entries in MongoDB; every write is mirrored to Postgres."""
