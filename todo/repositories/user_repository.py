"""The import path DUAL_WRITE_SYSTEM.md ("Code Changes Required") shows for the MongoDB user
repository; every MongoDB repository is defined in `mongo_repository`."""

from todo.repositories.mongo_repository import UserRepository

__all__ = ["UserRepository"]
