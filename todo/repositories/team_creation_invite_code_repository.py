from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from dualwrite.mapping import PENDING_MARK_FIELD, VERSION_FIELD
from dualwrite.operations import UPDATE
from dualwrite.transform import canonical_document, normalise_mongo_id
from todo.models.documents import TeamCreationInviteCode
from todo.repositories.abstract_repository import AbstractTeamCreationInviteCodeRepository
from todo.repositories.mongo_repository import MongoRepository, mongo_query, register
from todo.repositories.queries import Filters


@register
class TeamCreationInviteCodeRepository(
    AbstractTeamCreationInviteCodeRepository, MongoRepository[TeamCreationInviteCode]
):
    """Team-creation invite codes in MongoDB; every write is mirrored to Postgres."""

    def _set_where(self, id: str, expected: Filters, fields: dict[str, Any]) -> dict[str, Any] | None:
        """One conditional `find_one_and_update` (atomic in MongoDB, so across processes), with the
        engine's version bump and pending mark in the same operation, then the engine's mirror."""
        oid = ObjectId(normalise_mongo_id(id))
        query = {**mongo_query(self.mapping, expected), "_id": oid}
        spec = {"$set": {**fields, PENDING_MARK_FIELD: ObjectId()}, "$inc": {VERSION_FIELD: 1}}
        stored = self.coll.find_one_and_update(query, spec, return_document=ReturnDocument.AFTER)
        if stored is None:
            return None
        self.engine.mirror(self.collection, str(oid), UPDATE, stored)
        return canonical_document(self.mapping, stored)
