"""The repository interface: the same calls and return types over MongoDB and over Postgres.

`AbstractRepository` holds the generic operations each store implements (create, get_by_id,
get_all with filters/sort/pagination, update, delete, count). The entity interfaces below add the
entity's own queries and its audit trail, written once on top of those generic operations, so both
implementations share them. Reads are marked `@reads` and writes `@writes`: the migration-phase
routing (routing.py) dispatches on those marks.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from todo.models import documents as domain_models
from todo.models.enums import AuditAction
from todo.repositories.errors import RepositoryError
from todo.repositories.queries import ANY_OF, ASC, DESC, AnyOf, Contains, Filters, In, Sort
from todo.repositories.task_list import TaskListQuery

M = TypeVar("M", bound=domain_models.DomainModel)
F = TypeVar("F", bound=Callable[..., Any])


def reads(method: F) -> F:
    method.__repository_kind__ = "read"  # type: ignore[attr-defined]
    return method


def writes(method: F) -> F:
    method.__repository_kind__ = "write"  # type: ignore[attr-defined]
    return method


def now() -> dt.datetime:
    moment = dt.datetime.now(dt.UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)  # what MongoDB keeps


class AbstractRepository(ABC, Generic[M]):
    """Generic data access for one collection."""

    model: ClassVar[type[domain_models.DomainModel]]

    @property
    def collection(self) -> str:
        return self.model.collection

    # -- implemented per store -----------------------------------------------------------------
    @abstractmethod
    def _insert(self, document: dict[str, Any]) -> dict[str, Any]:
        """Store a new document (with `_id`); return it as stored."""

    @abstractmethod
    def _set(self, id: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        """`$set` fields on a document; return it as stored, or None if it does not exist."""

    @abstractmethod
    def _remove(self, id: str) -> bool:
        """Delete a document; True if it existed."""

    @abstractmethod
    def _find(self, filters: Filters, sort: Sort, skip: int, limit: int | None) -> list[dict[str, Any]]:
        """Canonical documents matching `filters`, in `sort` order (ties by id)."""

    @abstractmethod
    def _count(self, filters: Filters) -> int: ...

    @abstractmethod
    def sibling(self, model: type[domain_models.DomainModel]) -> AbstractRepository[Any]:
        """The repository of another collection in the same store (e.g. for audit entries)."""

    # -- the interface ---------------------------------------------------------------------------
    @writes
    def create(self, data: dict[str, Any], *, actor: str | None = None) -> M:
        """Insert a new document (a new id); returns it as stored."""
        from bson import ObjectId

        stored = self._insert({**data, "_id": ObjectId()})
        created = self._model(stored)
        self.after_create(created, actor)
        return created

    @reads
    def get_by_id(self, id: str) -> M | None:
        found = self._find({"_id": id}, [], 0, 1)
        return self._model(found[0]) if found else None

    @reads
    def get_all(
        self,
        filters: Filters | None = None,
        sort: Sort | None = None,
        page: int = 1,
        limit: int | None = None,
    ) -> list[M]:
        """Documents matching `filters`, sorted, one page of `limit` (all when limit is None)."""
        skip = (page - 1) * limit if limit else 0
        return [self._model(doc) for doc in self._find(filters or {}, sort or [], skip, limit)]

    @reads
    def find_one(self, filters: Filters) -> M | None:
        found = self.get_all(filters, limit=1)
        return found[0] if found else None

    @reads
    def count(self, filters: Filters | None = None) -> int:
        return self._count(filters or {})

    @reads
    def exists(self, filters: Filters) -> bool:
        return self.find_one(filters) is not None

    @writes
    def update(self, id: str, fields: dict[str, Any], *, actor: str | None = None) -> M | None:
        """Set `fields` on the document; returns it as stored (None when it does not exist)."""
        before = self.get_by_id(id)
        if before is None:
            return None
        stored = self._set(id, fields)
        if stored is None:
            return None
        after = self._model(stored)
        self.after_update(before, after, actor)
        return after

    @writes
    def delete(self, id: str, *, actor: str | None = None) -> bool:
        return self._remove(id)

    # -- audit trail (overridden by the entities the domain audits) -------------------------------
    def after_create(self, created: M, actor: str | None) -> None:
        """Called after a create; audited entities write their audit entry here."""

    def after_update(self, before: M, after: M, actor: str | None) -> None:
        """Called after an update; audited entities write their audit entry here."""

    def audit(self, action: AuditAction, actor: str | None, **fields: Any) -> None:
        entry = {"action": action.value, "timestamp": now(), "performed_by": actor, **fields}
        self.sibling(domain_models.AuditLog)._insert({**entry, "_id": _new_id()})

    def _model(self, document: dict[str, Any]) -> M:
        return self.model.from_document(document)  # type: ignore[return-value]


def _new_id() -> Any:
    from bson import ObjectId

    return ObjectId()


# == entity interfaces ============================================================================
class AbstractUserRepository(AbstractRepository[domain_models.User]):
    model = domain_models.User

    @reads
    def get_by_email(self, email: str) -> domain_models.User | None:
        return self.find_one({"email_id": email})

    @reads
    def get_by_google_id(self, google_id: str) -> domain_models.User | None:
        return self.find_one({"google_id": google_id})

    @reads
    def search(self, text: str, page: int = 1, limit: int = 20) -> list[domain_models.User]:
        """Users whose name or email contains `text` literally, ignoring case, by name (a page of
        them, selected and paged by the store)."""
        return self.get_all(self._search_filters(text), [("name", ASC)], page, limit)

    @reads
    def search_count(self, text: str) -> int:
        return self.count(self._search_filters(text))

    @staticmethod
    def _search_filters(text: str) -> Filters:
        return {ANY_OF: AnyOf([{"name": Contains(text)}, {"email_id": Contains(text)}])}


class AbstractTaskRepository(AbstractRepository[domain_models.Task]):
    model = domain_models.Task

    @reads
    def get_by_ids(self, ids: list[str], sort: Sort | None = None) -> list[domain_models.Task]:
        return self.get_all({"_id": In(ids), "isDeleted": False}, sort)

    @reads
    def get_by_status(self, status: str, page: int = 1, limit: int | None = None) -> list[domain_models.Task]:
        return self.get_all({"status": status, "isDeleted": False}, [("updatedAt", DESC)], page, limit)

    @reads
    def get_by_assignee(self, assignee_id: str, sort: Sort | None = None) -> list[domain_models.Task]:
        """Live tasks actively assigned to a user or a team."""
        assignments = self.sibling(domain_models.TaskAssignment).get_all(
            {"assignee_id": assignee_id, "is_active": True}
        )
        return self.get_by_ids([a.task_id for a in assignments if a.task_id], sort)

    @reads
    def get_by_team(self, team_id: str, sort: Sort | None = None) -> list[domain_models.Task]:
        """Live tasks that came from a team (assigned to it, or to a member from it)."""
        assignments = self.sibling(domain_models.TaskAssignment).get_all(
            {"team_id": team_id, "is_active": True}
        )
        team_tasks = self.sibling(domain_models.TaskAssignment).get_all(
            {"assignee_id": team_id, "is_active": True}
        )
        ids = {a.task_id for a in [*assignments, *team_tasks] if a.task_id}
        return self.get_by_ids(sorted(ids), sort)

    @reads
    def list_page(self, query: TaskListQuery, page: int = 1, limit: int = 20) -> list[domain_models.Task]:
        """One page of a task list (task_list.py), selected, ordered and paged by the store."""
        if page < 1 or limit < 1:
            raise RepositoryError(f"bad page {page} or limit {limit}")
        return [self._model(doc) for doc in self._list_find(query, (page - 1) * limit, limit)]

    @reads
    def list_page_ahead(
        self, query: TaskListQuery, page: int = 1, limit: int = 20
    ) -> tuple[list[domain_models.Task], bool]:
        """One page of a task list and whether another page follows, in one query: the store is asked
        for one task more than the page holds, and nothing is counted (a count reads the whole list)."""
        if page < 1 or limit < 1:
            raise RepositoryError(f"bad page {page} or limit {limit}")
        found = self._list_find(query, (page - 1) * limit, limit + 1)
        return [self._model(doc) for doc in found[:limit]], len(found) > limit

    @reads
    def list_count(self, query: TaskListQuery) -> int:
        """The number of tasks in a task list, counted by the store."""
        return self._list_count(query)

    @abstractmethod
    def _list_find(self, query: TaskListQuery, skip: int, limit: int) -> list[dict[str, Any]]:
        """Canonical documents of one page of the task list."""

    @abstractmethod
    def _list_count(self, query: TaskListQuery) -> int: ...

    @reads
    def get_with_label(self, label_id: str) -> list[domain_models.Task]:
        return self.get_all({"labels": label_id, "isDeleted": False}, [("createdAt", ASC)])

    def after_update(self, before: domain_models.Task, after: domain_models.Task, actor: str | None) -> None:
        if before.status != after.status:
            assignment = self.sibling(domain_models.TaskAssignment).find_one(
                {"task_id": after.id, "is_active": True}
            )
            self.audit(
                AuditAction.STATUS_CHANGED,
                actor,
                task_id=after.id,
                team_id=assignment.team_id if assignment is not None else None,
                status_from=before.status,
                status_to=after.status,
            )


class AbstractTeamRepository(AbstractRepository[domain_models.Team]):
    model = domain_models.Team

    @reads
    def get_by_invite_code(self, code: str) -> domain_models.Team | None:
        return self.find_one({"invite_code": code, "is_deleted": False})

    @reads
    def get_by_ids(self, ids: list[str]) -> list[domain_models.Team]:
        return self.get_all({"_id": In(ids), "is_deleted": False}, [("name", ASC)])

    def after_create(self, created: domain_models.Team, actor: str | None) -> None:
        self.audit(AuditAction.TEAM_CREATED, actor, team_id=created.id, spoc_id=created.poc_id)

    def after_update(self, before: domain_models.Team, after: domain_models.Team, actor: str | None) -> None:
        if before.poc_id != after.poc_id:
            self.audit(AuditAction.POC_CHANGED, actor, team_id=after.id, spoc_id=after.poc_id)


class AbstractUserTeamDetailsRepository(AbstractRepository[domain_models.UserTeamDetails]):
    model = domain_models.UserTeamDetails

    @reads
    def get_by_user(self, user_id: str) -> list[domain_models.UserTeamDetails]:
        return self.get_all({"user_id": user_id, "is_active": True}, [("created_at", ASC)])

    @reads
    def get_by_team(self, team_id: str) -> list[domain_models.UserTeamDetails]:
        return self.get_all({"team_id": team_id, "is_active": True}, [("created_at", ASC)])

    @reads
    def get_membership(self, user_id: str, team_id: str) -> domain_models.UserTeamDetails | None:
        return self.find_one({"user_id": user_id, "team_id": team_id})

    def after_create(self, created: domain_models.UserTeamDetails, actor: str | None) -> None:
        action = (
            AuditAction.MEMBER_JOINED_TEAM if actor == created.user_id else AuditAction.MEMBER_ADDED_TO_TEAM
        )
        self.audit(action, actor, team_id=created.team_id, assignee_to=created.user_id)

    def after_update(
        self, before: domain_models.UserTeamDetails, after: domain_models.UserTeamDetails, actor: str | None
    ) -> None:
        if before.is_active and not after.is_active:
            left = actor == after.user_id
            action = AuditAction.MEMBER_LEFT_TEAM if left else AuditAction.MEMBER_REMOVED_FROM_TEAM
            self.audit(action, actor, team_id=after.team_id, assignee_from=after.user_id)


class AbstractLabelRepository(AbstractRepository[domain_models.Label]):
    model = domain_models.Label

    @reads
    def search(self, text: str = "", page: int = 1, limit: int = 20) -> list[domain_models.Label]:
        filters: Filters = {"isDeleted": False}
        if text:
            filters["name"] = Contains(text)
        return self.get_all(filters, [("name", ASC)], page, limit)

    @reads
    def get_by_ids(self, ids: list[str]) -> list[domain_models.Label]:
        return self.get_all({"_id": In(ids)}, [("name", ASC)])


class AbstractRoleRepository(AbstractRepository[domain_models.Role]):
    model = domain_models.Role

    @reads
    def get_by_name(self, name: str, scope: str | None = None) -> domain_models.Role | None:
        filters: Filters = {"name": name, "is_active": True}
        if scope is not None:
            filters["scope"] = scope
        return self.find_one(filters)


class AbstractUserRoleRepository(AbstractRepository[domain_models.UserRole]):
    model = domain_models.UserRole

    @reads
    def get_by_user(self, user_id: str, team_id: str | None = None) -> list[domain_models.UserRole]:
        filters: Filters = {"user_id": user_id, "is_active": True}
        if team_id is not None:
            filters["team_id"] = team_id
        return self.get_all(filters, [("role_name", ASC)])

    @reads
    def get_by_team(self, team_id: str) -> list[domain_models.UserRole]:
        return self.get_all({"team_id": team_id, "is_active": True}, [("user_id", ASC), ("role_name", ASC)])


class AbstractTaskAssignmentRepository(AbstractRepository[domain_models.TaskAssignment]):
    model = domain_models.TaskAssignment

    @reads
    def get_active_for_task(self, task_id: str) -> domain_models.TaskAssignment | None:
        return self.find_one({"task_id": task_id, "is_active": True})

    @reads
    def get_by_assignee(self, assignee_id: str) -> list[domain_models.TaskAssignment]:
        return self.get_all({"assignee_id": assignee_id, "is_active": True}, [("created_at", ASC)])

    def after_create(self, created: domain_models.TaskAssignment, actor: str | None) -> None:
        action = (
            AuditAction.ASSIGNED_TO_TEAM if created.user_type == "team" else AuditAction.ASSIGNED_TO_MEMBER
        )
        self.audit(
            action, actor, task_id=created.task_id, team_id=created.team_id, assignee_to=created.assignee_id
        )

    def after_update(
        self, before: domain_models.TaskAssignment, after: domain_models.TaskAssignment, actor: str | None
    ) -> None:
        if before.executor_id != after.executor_id:
            self.audit(
                AuditAction.REASSIGN_EXECUTOR,
                actor,
                task_id=after.task_id,
                team_id=after.team_id,
                spoc_id=actor,  # only the team's point of contact sets the executor
                previous_executor_id=before.executor_id,
                new_executor_id=after.executor_id,
            )
        elif before.is_active and not after.is_active and after.user_type == "team":
            self.audit(AuditAction.UNASSIGNED_FROM_TEAM, actor, task_id=after.task_id, team_id=after.team_id)


class AbstractWatchlistRepository(AbstractRepository[domain_models.Watchlist]):
    model = domain_models.Watchlist

    @reads
    def get_for_user(
        self, user_id: str, page: int = 1, limit: int | None = None
    ) -> list[domain_models.Watchlist]:
        return self.get_all({"userId": user_id, "isActive": True}, [("createdAt", DESC)], page, limit)

    @reads
    def get_entry(self, user_id: str, task_id: str) -> domain_models.Watchlist | None:
        return self.find_one({"userId": user_id, "taskId": task_id})


class AbstractAuditLogRepository(AbstractRepository[domain_models.AuditLog]):
    model = domain_models.AuditLog

    @reads
    def get_by_team(
        self, team_id: str, page: int = 1, limit: int | None = None
    ) -> list[domain_models.AuditLog]:
        """The team's activity timeline, newest first."""
        return self.get_all({"team_id": team_id}, [("timestamp", DESC)], page, limit)


class AbstractTeamCreationInviteCodeRepository(AbstractRepository[domain_models.TeamCreationInviteCode]):
    model = domain_models.TeamCreationInviteCode

    @reads
    def get_by_code(self, code: str) -> domain_models.TeamCreationInviteCode | None:
        return self.find_one({"code": code})

    @abstractmethod
    def _set_where(self, id: str, expected: Filters, fields: dict[str, Any]) -> dict[str, Any] | None:
        """`_set` in one atomic step, only if the document still matches `expected` (compare and
        set, correct across processes); None when it does not match or does not exist."""

    @writes
    def mark_used(
        self, id: str, *, used_by: str, used_at: dt.datetime, actor: str | None = None
    ) -> domain_models.TeamCreationInviteCode | None:
        """Mark the code used by `used_by`, only if it is still unused: of concurrent callers (in
        any process) exactly one gets the code back, the others None."""
        before = self.get_by_id(id)
        stored = self._set_where(
            id, {"is_used": False}, {"is_used": True, "used_by": used_by, "used_at": used_at}
        )
        if before is None or stored is None:
            return None
        after = self._model(stored)
        self.after_update(before, after, actor)
        return after

    @writes
    def release(self, id: str, *, used_by: str) -> bool:
        """Make a code consumed by `used_by` unused again (its team could not be made); False when
        it is not (any more) held by `used_by`."""
        fields = {"is_used": False, "used_by": None, "used_at": None}
        return self._set_where(id, {"is_used": True, "used_by": used_by}, fields) is not None

    def after_create(self, created: domain_models.TeamCreationInviteCode, actor: str | None) -> None:
        self.audit(AuditAction.INVITE_CODE_GENERATED, actor)

    def after_update(
        self,
        before: domain_models.TeamCreationInviteCode,
        after: domain_models.TeamCreationInviteCode,
        actor: str | None,
    ) -> None:
        if not before.is_used and after.is_used:
            self.audit(AuditAction.INVITE_CODE_CONSUMED, actor)
