"""Postgres mirror models: one table per MongoDB collection (postgres_<collection>) and the child
tables postgres_task_labels and postgres_deferred_details."""

from todo.models.postgres.audit_logs import PostgresAuditLog
from todo.models.postgres.base import MirrorModel, SyncStatus
from todo.models.postgres.labels import PostgresLabel
from todo.models.postgres.operations import (
    Counter,
    FlagChange,
    Job,
    PhaseRecord,
    ReadSourceFlag,
    ReverseVerifyReport,
    ShadowRead,
)
from todo.models.postgres.roles import PostgresRole, PostgresUserRole
from todo.models.postgres.task_assignments import PostgresTaskAssignment
from todo.models.postgres.tasks import PostgresDeferredDetails, PostgresTask, PostgresTaskLabel
from todo.models.postgres.teams import PostgresTeam, PostgresTeamCreationInviteCode, PostgresUserTeamDetails
from todo.models.postgres.users import PostgresUser
from todo.models.postgres.watchlists import PostgresWatchlist

__all__ = [
    "Counter",
    "FlagChange",
    "Job",
    "MirrorModel",
    "PhaseRecord",
    "PostgresAuditLog",
    "PostgresDeferredDetails",
    "PostgresLabel",
    "PostgresRole",
    "PostgresTask",
    "PostgresTaskAssignment",
    "PostgresTaskLabel",
    "PostgresTeam",
    "PostgresTeamCreationInviteCode",
    "PostgresUser",
    "PostgresUserRole",
    "PostgresUserTeamDetails",
    "PostgresWatchlist",
    "ReadSourceFlag",
    "ReverseVerifyReport",
    "ShadowRead",
    "SyncStatus",
]
