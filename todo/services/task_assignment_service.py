"""Task assignments: assign, reassign and unassign a task; set a team task's executor.

Rules:
- a task has at most one active assignment. Reassigning deactivates the active row and adds a new
  one (rows are never removed); should two requests race, each ends by deactivating every active
  row of the task but the newest, so they settle on one;
- who may (re)assign or unassign: the task's creator, the user it is assigned to, or the point of
  contact of the team it is assigned to;
- to a team: the team exists and the actor is its point of contact or a member; the row's
  `team_id` is the team. To a user: the user exists; when the task comes from a team the user is a
  member of, `team_id` keeps that team;
- the executor of a team task is set by the team's point of contact only, and must be a member: the
  assignment then becomes the executor's (a user assignment keeping the team's `team_id`, so the
  task stays on the team's list);
- assigning to the current assignee again is a Conflict through the assignment endpoints; a
  task edit naming the current assignee changes nothing.
The repository writes the audit entries (assigned_to_team, assigned_to_member, reassign_executor,
unassigned_from_team).
"""

from __future__ import annotations

from todo.domain.errors import Conflict, Forbidden, Invalid, NotFound
from todo.models import documents as domain_models
from todo.models.enums import AssigneeType
from todo.repositories.abstract_repository import now
from todo.repositories.factory import get_repository
from todo.selectors.tasks import active_assignment, live_task
from todo.selectors.teams import is_member, live_team


def check_assignee(
    *, actor: str, assignee_id: str, user_type: str, prefix: str = "", team_id: str | None = None
) -> domain_models.Team | None:
    """The assignee exists (NotFound) and, for a team, the actor belongs to it (Forbidden). Returns
    the team.

    With `team_id` (a user assignee from a team): the team exists (NotFound), the actor is its
    point of contact or a member (Forbidden) and the assignee a member (Invalid)."""
    if team_id is not None:
        team = live_team(team_id)
        if team is None:
            raise NotFound.no_such("Team", "team_id")
        if team.poc_id != actor and not is_member(actor, team.id):
            raise Forbidden.not_allowed(
                "Only the team's point of contact or members may assign its tasks", "team_id"
            )
        if get_repository(domain_models.User).get_by_id(assignee_id) is None:
            raise NotFound.no_such("User", f"{prefix}assignee_id")
        if not is_member(assignee_id, team.id):
            raise Invalid.value(f"{prefix}assignee_id", "must be a member of the team")
        return team
    if user_type == AssigneeType.TEAM:
        team = live_team(assignee_id)
        if team is None:
            raise NotFound.no_such("Team", f"{prefix}assignee_id")
        if team.poc_id != actor and not is_member(actor, team.id):
            raise Forbidden.not_allowed(
                "Only the team's point of contact or members may assign tasks to it", f"{prefix}assignee_id"
            )
        return team
    if get_repository(domain_models.User).get_by_id(assignee_id) is None:
        raise NotFound.no_such("User", f"{prefix}assignee_id")
    return None


def may_reassign(task: domain_models.Task, actor: str, current: domain_models.TaskAssignment | None) -> bool:
    if task.created_by == actor:
        return True
    if current is None:
        return False
    if current.user_type == AssigneeType.USER:
        return current.assignee_id == actor
    team = live_team(current.assignee_id)
    return team is not None and team.poc_id == actor


def assignment_add(
    *, actor: str, task: domain_models.Task, assignee_id: str, user_type: str, team_id: str | None = None
) -> domain_models.TaskAssignment:
    """Make `assignee_id` the task's one active assignee (checks done by the caller). The row's
    team: the team itself, `team_id` when given, or the current row's team the assignee belongs to."""
    repo = get_repository(domain_models.TaskAssignment)
    current = repo.get_active_for_task(task.id)
    if user_type == AssigneeType.TEAM:
        team_id = assignee_id
    elif (
        team_id is None
        and current is not None
        and current.team_id
        and is_member(assignee_id, current.team_id)
    ):
        team_id = current.team_id  # the task still comes from its team
    moment = now()
    if current is not None:
        repo.update(current.id, {"is_active": False, "updated_by": actor, "updated_at": moment}, actor=actor)
    created = repo.create(
        {
            "task_id": task.id,
            "assignee_id": assignee_id,
            "user_type": user_type,
            "team_id": team_id,
            "executor_id": None,
            "is_active": True,
            "created_by": actor,
            "updated_by": actor,
            "created_at": moment,
            "updated_at": moment,
        },
        actor=actor,
    )
    _settle(task.id, keep=created.id, actor=actor)
    return created


def assignment_change(*, actor: str, task: domain_models.Task, assignee_id: str, user_type: str) -> None:
    """Reassign from a task edit (checks done by the caller); the current assignee again changes
    nothing."""
    current = active_assignment(task.id)
    if current is not None and current.assignee_id == assignee_id and current.user_type == user_type:
        return
    assignment_add(actor=actor, task=task, assignee_id=assignee_id, user_type=user_type)


def _settle(task_id: str, *, keep: str, actor: str) -> None:
    """Deactivate active rows of the task other than the newest (left by a concurrent assign)."""
    repo = get_repository(domain_models.TaskAssignment)
    active = repo.get_all({"task_id": task_id, "is_active": True})
    newest = max([keep, *(a.id for a in active)])
    for row in active:
        if row.id != newest:
            repo.update(row.id, {"is_active": False, "updated_by": actor, "updated_at": now()}, actor=actor)


def task_assign(
    *, actor: str, task_id: str, assignee_id: str, user_type: str
) -> domain_models.TaskAssignment:
    """Assign or reassign a task (PATCH /v1/tasks/{id}/assign, POST /v1/task-assignments)."""
    task = live_task(task_id)
    current = active_assignment(task.id)
    if not may_reassign(task, actor, current):
        raise Forbidden.not_allowed(
            "Only the task's creator, its assignee or its team's point of contact may assign it", "task_id"
        )
    check_assignee(actor=actor, assignee_id=assignee_id, user_type=user_type)
    if current is not None and current.assignee_id == assignee_id and current.user_type == user_type:
        raise Conflict.with_state("The task is already assigned to this assignee", "assignee_id")
    return assignment_add(actor=actor, task=task, assignee_id=assignee_id, user_type=user_type)


def assignment_get(*, task_id: str) -> domain_models.TaskAssignment:
    """The task's active assignment (NotFound when the task is unknown or unassigned)."""
    task = live_task(task_id)
    current = active_assignment(task.id)
    if current is None:
        raise NotFound.no_such("Assignment", "task_id")
    return current


def assignment_set_executor(*, actor: str, task_id: str, executor_id: str) -> domain_models.TaskAssignment:
    """Hand a team task to a member: the task is assigned to a team (Invalid), the actor is its
    point of contact (Forbidden), the executor an existing member (Invalid). The active row becomes the executor's
    user assignment, keeping the team as `team_id`, with `executor_id` set; the repository audits
    `reassign_executor`."""
    current = assignment_get(task_id=task_id)
    if current.user_type != AssigneeType.TEAM:
        raise Invalid.value("executor_id", "only a task assigned to a team is handed to an executor")
    team = live_team(current.assignee_id)
    if team is None:
        raise NotFound.no_such("Team", "task_id")
    if team.poc_id != actor:
        raise Forbidden.not_allowed("Only the team's point of contact may set the executor", "task_id")
    if get_repository(domain_models.User).get_by_id(executor_id) is None or not is_member(
        executor_id, team.id
    ):
        raise Invalid.value("executor_id", "must be a member of the team")
    updated = get_repository(domain_models.TaskAssignment).update(
        current.id,
        {
            "assignee_id": executor_id,
            "user_type": AssigneeType.USER,
            "team_id": team.id,
            "executor_id": executor_id,
            "updated_by": actor,
            "updated_at": now(),
        },
        actor=actor,
    )
    if updated is None:  # removed meanwhile
        raise NotFound.no_such("Assignment", "task_id")
    return updated


def task_unassign(*, actor: str, task_id: str) -> None:
    """Deactivate the task's active assignment (NotFound when it has none)."""
    task = live_task(task_id)
    current = active_assignment(task.id)
    if current is None:
        raise NotFound.no_such("Assignment", "task_id")
    if not may_reassign(task, actor, current):
        raise Forbidden.not_allowed(
            "Only the task's creator, its assignee or its team's point of contact may unassign it", "task_id"
        )
    repo = get_repository(domain_models.TaskAssignment)
    for row in repo.get_all({"task_id": task.id, "is_active": True}):
        repo.update(row.id, {"is_active": False, "updated_by": actor, "updated_at": now()}, actor=actor)


def assignment_details(
    assignment: domain_models.TaskAssignment,
) -> tuple[dict[str, domain_models.User], dict[str, domain_models.Team]]:
    """Users and teams an assignment's response names."""
    users: dict[str, domain_models.User] = {}
    teams: dict[str, domain_models.Team] = {}
    user_repo = get_repository(domain_models.User)
    for user_id in {
        assignment.executor_id,
        assignment.assignee_id if assignment.user_type == "user" else None,
    }:
        if user_id:
            found = user_repo.get_by_id(user_id)
            if found is not None:
                users[user_id] = found
    if assignment.user_type == AssigneeType.TEAM and assignment.assignee_id:
        team = get_repository(domain_models.Team).get_by_id(assignment.assignee_id)
        if team is not None:
            teams[team.id] = team
    return users, teams
