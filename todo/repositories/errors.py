"""The errors a repository raises, the same from the MongoDB and the Postgres implementation:
callers catch these, never a store's own exceptions."""

from __future__ import annotations


class RepositoryError(Exception):
    """A repository call that cannot be served as asked (unknown field, bad page, ...)."""


class DuplicateKey(RepositoryError):
    """A write refused because another live document already holds one of the collection's unique
    keys (e.g. a second watchlist entry of the same user and task). Nothing was written."""

    def __init__(self, collection: str, fields: tuple[str, ...]) -> None:
        self.collection = collection
        self.fields = fields
        super().__init__(f"{collection}: another document already holds ({', '.join(fields)})")
