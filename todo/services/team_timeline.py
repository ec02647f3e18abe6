"""A team's activity timeline as the web client reads it: the team's audit entries, newest first,
with every id the client shows resolved to a display name (user names, the team's name, task
titles). Names are looked up in batch: one query per collection for a whole page of entries."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from todo.models.documents import AuditLog, Task, User
from todo.models.enums import AuditAction
from todo.repositories.factory import get_repository
from todo.repositories.queries import In
from todo.services.team_service import team_for_member

OBJECT_ID = re.compile(r"[0-9a-f]{24}")


@dataclass(frozen=True)
class Activity:
    """One timeline entry: the stored ids and their resolved names side by side."""

    id: str
    action: str | None
    timestamp: dt.datetime | None
    team_id: str | None
    team_name: str | None
    performed_by: str | None
    performed_by_name: str | None
    task_id: str | None
    task_title: str | None
    status_from: str | None
    status_to: str | None
    spoc_id: str | None
    spoc_name: str | None
    previous_executor_id: str | None
    previous_executor_name: str | None
    new_executor_id: str | None
    new_executor_name: str | None
    assignee_from: str | None
    assignee_from_name: str | None
    assignee_to: str | None
    assignee_to_name: str | None


def _ids(values: set[str | None]) -> list[str]:
    """The stored references that can name a document (e.g. not "system")."""
    return sorted(v for v in values if v and OBJECT_ID.fullmatch(v))


def _user_names(user_ids: set[str | None]) -> dict[str, str | None]:
    ids = _ids(user_ids)
    return {u.id: u.name for u in get_repository(User).get_all({"_id": In(ids)})} if ids else {}


def _task_titles(task_ids: set[str | None]) -> dict[str, str | None]:
    """Titles of the tasks, deleted ones included (their history still names them)."""
    ids = _ids(task_ids)
    return {t.id: t.title for t in get_repository(Task).get_all({"_id": In(ids)})} if ids else {}


def _spoc(entry: AuditLog) -> str | None:
    """Who changed the executor: the stored point of contact, else whoever made the change."""
    if entry.action == AuditAction.REASSIGN_EXECUTOR.value:
        return entry.spoc_id or entry.performed_by
    return entry.spoc_id


def team_activity(*, actor: str, team_id: str, page: int, limit: int) -> tuple[list[Activity], int]:
    """One page of the team's timeline (members only), newest first, and the number of entries."""
    team = team_for_member(actor=actor, team_id=team_id)
    logs = get_repository(AuditLog)
    entries = logs.get_by_team(team.id, page, limit)
    people = _user_names(
        {e.performed_by for e in entries}
        | {_spoc(e) for e in entries}
        | {e.previous_executor_id for e in entries}
        | {e.new_executor_id for e in entries}
        | {e.assignee_from for e in entries}
        | {e.assignee_to for e in entries}
    )
    titles = _task_titles({e.task_id for e in entries})

    def person(user_id: str | None) -> str | None:
        return people.get(user_id) if user_id else None

    timeline = [
        Activity(
            id=e.id,
            action=e.action,
            timestamp=e.timestamp,
            team_id=e.team_id,
            team_name=team.name,
            performed_by=e.performed_by,
            performed_by_name=person(e.performed_by),
            task_id=e.task_id,
            task_title=titles.get(e.task_id) if e.task_id else None,
            status_from=e.status_from,
            status_to=e.status_to,
            spoc_id=_spoc(e),
            spoc_name=person(_spoc(e)),
            previous_executor_id=e.previous_executor_id,
            previous_executor_name=person(e.previous_executor_id),
            new_executor_id=e.new_executor_id,
            new_executor_name=person(e.new_executor_id),
            assignee_from=e.assignee_from,
            assignee_from_name=person(e.assignee_from),
            assignee_to=e.assignee_to,
            assignee_to_name=person(e.assignee_to),
        )
        for e in entries
    ]
    return timeline, logs.count({"team_id": team.id})
