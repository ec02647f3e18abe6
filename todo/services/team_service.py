"""Teams and their members: the rules of creating, reading and changing a team.

Permissions:
- reading a team, its members, roles and activity needs an active membership (or the GLOBAL
  moderator role);
- changing the point of contact needs to be the team's creator or to hold its admin or owner role;
- adding members needs an active membership; removing a member needs the admin or owner role, or
  to be that member (leaving); neither the owner (creator) nor the point of contact can be removed
  (Forbidden, a 403 as the web client expects);
- the team's invite code is shown to its creator and its point of contact only.
Bad input the client can send (an unknown or used invite code, unknown users, users who already are
members, a point of contact who is not a member) is Invalid, a 400 for the client
(docs/frontend-contract.md, section 9).
Every write passes `actor=` so the repositories write the audit entries the domain asks for.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import string
import threading
from dataclasses import dataclass

from todo.domain.errors import Forbidden, Invalid, NotFound
from todo.models.documents import AuditLog, Task, TaskAssignment, Team, User, UserRole, UserTeamDetails
from todo.models.enums import AssigneeType, AuditAction, RoleName, TaskStatus
from todo.repositories.abstract_repository import now
from todo.repositories.errors import DuplicateKey
from todo.repositories.factory import get_repository
from todo.repositories.queries import In
from todo.selectors.roles import is_moderator, team_role_names
from todo.selectors.teams import is_member, membership
from todo.services import role_service
from todo.services.invite_code_service import consume_invite_code, release_invite_code

logger = logging.getLogger(__name__)
CODE_ALPHABET = string.digits + string.ascii_uppercase
_membership_lock = threading.Lock()  # one process's concurrent joins of one user cannot race


# -- selectors ---------------------------------------------------------------------------------------
def existing_team(team_id: str) -> Team:
    team = get_repository(Team).get_by_id(team_id)
    if team is None or team.is_deleted:
        raise NotFound("Team not found", about="team_id")
    return team


def team_for_member(*, actor: str, team_id: str) -> Team:
    """The team, when the actor may read it (a member, or a moderator)."""
    team = existing_team(team_id)
    if not is_member(actor, team.id) and not is_moderator(actor):
        raise Forbidden("Only members of this team may see it")
    return team


def team_list_mine(*, actor: str, page: int, limit: int) -> tuple[list[Team], int]:
    """The live teams the actor is an active member of, by name."""
    team_ids = [m.team_id for m in get_repository(UserTeamDetails).get_by_user(actor) if m.team_id]
    teams = get_repository(Team).get_by_ids(team_ids) if team_ids else []
    return teams[(page - 1) * limit : page * limit], len(teams)


@dataclass(frozen=True)
class TeamMember:
    """A member as the members page shows it."""

    id: str
    name: str | None
    added_on: dt.datetime | None  # when the membership was made or last renewed
    tasks_assigned_count: int  # live tasks of this team the member is assigned to or executing


@dataclass(frozen=True)
class TeamDetails:
    """A team with, when asked for, its members."""

    team: Team
    users: list[TeamMember] | None = None


def _team_task_counts(team_id: str, user_ids: list[str]) -> dict[str, int]:
    """{user id: how many live tasks of the team are assigned to the user} (three queries)."""
    assignments = get_repository(TaskAssignment)
    held = assignments.get_all(
        {"team_id": team_id, "assignee_id": In(user_ids), "user_type": AssigneeType.USER.value,
         "is_active": True}
    )  # fmt: skip
    executing = assignments.get_all({"assignee_id": team_id, "executor_id": In(user_ids), "is_active": True})
    pairs = {(a.assignee_id, a.task_id) for a in held} | {(a.executor_id, a.task_id) for a in executing}
    task_ids = sorted({task_id for _, task_id in pairs if task_id})
    live = {t.id for t in get_repository(Task).get_by_ids(task_ids)} if task_ids else set()
    counts: dict[str, int] = dict.fromkeys(user_ids, 0)
    for user_id, task_id in pairs:
        if user_id in counts and task_id in live:
            counts[user_id] += 1
    return counts


def team_members(*, team_id: str) -> list[TeamMember]:
    """The team's active members, by name, with when they joined and their team task counts."""
    memberships = {m.user_id: m for m in get_repository(UserTeamDetails).get_by_team(team_id) if m.user_id}
    ids = list(memberships)
    users = get_repository(User).get_all({"_id": In(ids)}) if ids else []
    counts = _team_task_counts(team_id, ids) if ids else {}
    ordered = sorted(users, key=lambda u: (u.name or "", u.id))
    return [
        TeamMember(
            id=u.id,
            name=u.name,
            added_on=memberships[u.id].updated_at or memberships[u.id].created_at,
            tasks_assigned_count=counts.get(u.id, 0),
        )
        for u in ordered
    ]


def team_details(*, actor: str, team_id: str, with_members: bool) -> TeamDetails:
    """A team the actor may read, with its members when `with_members`."""
    team = team_for_member(actor=actor, team_id=team_id)
    return TeamDetails(team, team_members(team_id=team.id) if with_members else None)


def team_roles_for_member(*, actor: str, team_id: str, user_id: str) -> role_service.TeamUserRoles:
    """A user's team roles, for a reader of the team (a member, or a moderator)."""
    team = team_for_member(actor=actor, team_id=team_id)
    return role_service.team_roles_of_user(team_id=team.id, user_id=user_id)


def team_user_roles_for_member(
    *, actor: str, team_id: str, page: int, limit: int
) -> tuple[list[UserRole], int]:
    """One page of the active role grants of the team's users, for a reader of the team."""
    team = team_for_member(actor=actor, team_id=team_id)
    return role_service.team_user_roles(team_id=team.id, page=page, limit=limit)


def team_invite_code(*, actor: str, team_id: str) -> str:
    team = existing_team(team_id)
    if actor not in (team.created_by, team.poc_id):
        raise Forbidden("Only the team's creator or point of contact may see its invite code")
    return team.invite_code or ""


# -- writes ------------------------------------------------------------------------------------------
def _new_team_code() -> str:
    teams = get_repository(Team)
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
        if teams.find_one({"invite_code": code}) is None:
            return code


def _existing_users(user_ids: list[str], field: str) -> None:
    """Invalid about `field` unless every id is a known user (ids sent in a body are input)."""
    if not user_ids:
        return
    found = {u.id for u in get_repository(User).get_all({"_id": In(user_ids)})}
    missing = [uid for uid in user_ids if uid not in found]
    if missing:
        raise Invalid(f"User not found: {', '.join(missing)}", about=field)


def _add_membership(*, team_id: str, user_id: str, actor: str) -> None:
    """Make the user an active member (reactivating a former membership) with the member role."""
    memberships = get_repository(UserTeamDetails)
    moment = now()
    former = memberships.get_membership(user_id, team_id)
    if former is None:
        try:
            memberships.create(
                {"user_id": user_id, "team_id": team_id, "is_active": True, "created_by": actor,
                 "updated_by": actor, "created_at": moment, "updated_at": moment},
                actor=actor,
            )  # fmt: skip
        except DuplicateKey:  # a concurrent request made the membership first; it stands
            logger.info("membership made by a concurrent request: team=%s user=%s", team_id, user_id)
    else:
        memberships.update(former.id, {"is_active": True, "updated_by": actor, "updated_at": moment})
        action = AuditAction.MEMBER_JOINED_TEAM if actor == user_id else AuditAction.MEMBER_ADDED_TO_TEAM
        # the repositories audit a new membership only; a renewed one is audited the same way here
        get_repository(AuditLog).create(
            {"action": action.value, "timestamp": moment, "performed_by": actor, "team_id": team_id,
             "assignee_to": user_id}
        )  # fmt: skip
    if RoleName.MEMBER.value not in team_role_names(user_id, team_id):
        role_service.grant_team_role(
            team_id=team_id, user_id=user_id, role_name=RoleName.MEMBER.value, actor=actor
        )


def team_create(
    *,
    actor: str,
    name: str,
    description: str | None,
    team_invite_code: str,
    member_ids: list[str],
    poc_id: str | None,
) -> Team:
    """Create a team with a team-creation invite code (consumed). The creator becomes owner, admin
    and member; the members and the point of contact become members. No point of contact (None)
    stores none."""
    if not name.strip():
        raise Invalid("The team name must not be blank", about="name")
    _existing_users(member_ids, "member_ids")
    if poc_id is not None:
        _existing_users([poc_id], "poc_id")
    team_code = _new_team_code()  # finds the team even when its create fails after the insert
    invite = consume_invite_code(code=team_invite_code, actor=actor)  # the gate: one request wins
    try:
        moment = now()
        team = get_repository(Team).create(
            {"name": name, "description": description or None, "poc_id": poc_id,
             "invite_code": team_code, "created_by": actor, "updated_by": actor,
             "created_at": moment, "updated_at": moment, "is_deleted": False},
            actor=actor,
        )  # fmt: skip
        _add_membership(team_id=team.id, user_id=actor, actor=actor)
        for role_name in (RoleName.OWNER.value, RoleName.ADMIN.value):
            role_service.grant_team_role(team_id=team.id, user_id=actor, role_name=role_name, actor=actor)
        others = [*member_ids, *([poc_id] if poc_id else [])]
        for user_id in dict.fromkeys(others):
            if user_id != actor:
                _add_membership(team_id=team.id, user_id=user_id, actor=actor)
    except Exception:
        _undo_team(team_code=team_code, invite_id=invite.id, actor=actor)
        raise
    return team


def _undo_team(*, team_code: str, invite_id: str, actor: str) -> None:
    """A team creation failed part-way (a store refused a write): remove what it wrote (roles,
    memberships, audit entries, the team; each write is mirrored, a delete leaves a tombstone) and
    give the invite code back, so that the same request can be sent again. Best effort: what cannot
    be removed now is logged (a team without members is shown to nobody)."""
    try:
        made = get_repository(Team).find_one({"invite_code": team_code})
        if made is not None:
            for model in (UserRole, UserTeamDetails, AuditLog):
                repository = get_repository(model)
                for found in repository.get_all({"team_id": made.id}):
                    repository.delete(found.id, actor=actor)
            get_repository(Team).delete(made.id, actor=actor)
        release_invite_code(code_id=invite_id, actor=actor)
    except Exception:
        logger.exception("team creation failed and could not be undone (team invite code kept used)")


def team_change_poc(*, actor: str, team_id: str, poc_id: str) -> Team:
    """Name a new point of contact (an active member, else Invalid): the creator, or an admin
    or owner, only (Forbidden)."""
    team = existing_team(team_id)
    held = team_role_names(actor, team.id)
    if actor != team.created_by and not held & role_service.ROLE_MANAGERS:
        raise Forbidden("Only the team's creator or an admin may change its point of contact")
    if not is_member(poc_id, team.id):
        raise Invalid("The point of contact must be a member of the team", about="poc_id")
    if team.poc_id == poc_id:
        return team
    fields = {"poc_id": poc_id, "updated_by": actor, "updated_at": now()}
    updated = get_repository(Team).update(team.id, fields, actor=actor)
    assert updated is not None
    return updated


def team_join_by_invite(*, actor: str, invite_code: str) -> Team:
    """Join the team whose invite code this is, with the member role (Invalid for an unknown code or
    an existing member)."""
    team = get_repository(Team).get_by_invite_code(invite_code)
    if team is None:
        raise Invalid("No team has this invite code", about="invite_code")
    with _membership_lock:
        if is_member(actor, team.id):
            raise Invalid("You are already a member of this team", about="invite_code")
        _add_membership(team_id=team.id, user_id=actor, actor=actor)
    return team


def team_add_members(*, actor: str, team_id: str, member_ids: list[str]) -> Team:
    """Add users to the team (any active member may; Forbidden otherwise). Invalid for unknown users or
    users who already are members. Returns the team."""
    team = existing_team(team_id)
    if not is_member(actor, team.id):
        raise Forbidden("Only members of this team may add members")
    _existing_users(member_ids, "member_ids")
    with _membership_lock:
        already = [uid for uid in member_ids if is_member(uid, team.id)]
        if already:
            raise Invalid(f"Already members of this team: {', '.join(already)}", about="member_ids")
        for user_id in member_ids:
            _add_membership(team_id=team.id, user_id=user_id, actor=actor)
    return team


def _open_task_ids(task_ids: list[str]) -> set[str]:
    """The ids among `task_ids` of live tasks that are not done."""
    found = get_repository(Task).get_by_ids(task_ids) if task_ids else []
    return {t.id for t in found if t.status != TaskStatus.DONE}


def _return_open_tasks_to_team(*, team_id: str, user_id: str, actor: str) -> int:
    """The member's open tasks (live, not done) from this team go back to the team: their active
    assignments to the member that came from the team are deactivated and the tasks get an active
    assignment to the team; team tasks the member was executing lose their executor. Returns how
    many tasks went back."""
    assignments = get_repository(TaskAssignment)
    held = assignments.get_all({"assignee_id": user_id, "team_id": team_id, "is_active": True})
    executing = assignments.get_all({"assignee_id": team_id, "executor_id": user_id, "is_active": True})
    open_ids = _open_task_ids([a.task_id for a in [*held, *executing] if a.task_id])
    moved = 0
    for assignment in held:
        if assignment.task_id not in open_ids:
            continue
        moment = now()
        assignments.update(
            assignment.id, {"is_active": False, "updated_by": actor, "updated_at": moment}, actor=actor
        )
        assignments.create(
            {"task_id": assignment.task_id, "assignee_id": team_id, "user_type": AssigneeType.TEAM.value,
             "team_id": team_id, "executor_id": None, "is_active": True, "created_by": actor,
             "updated_by": actor, "created_at": moment, "updated_at": moment},
            actor=actor,
        )  # fmt: skip
        moved += 1
    for assignment in executing:
        if assignment.task_id in open_ids:
            fields = {"executor_id": None, "updated_by": actor, "updated_at": now()}
            assignments.update(assignment.id, fields, actor=actor)
            moved += 1
    return moved


def team_remove_member(*, actor: str, team_id: str, user_id: str) -> int:
    """Deactivate a membership and the member's team roles; their open team tasks return to the
    team, and the team gets a new join code. Returns how many tasks went back to the team."""
    team = existing_team(team_id)
    if actor != user_id and not team_role_names(actor, team.id) & role_service.ROLE_MANAGERS:
        raise Forbidden("Removing a member needs the admin or owner role in this team")
    role_service.existing_user(user_id)
    current = membership(user_id, team.id)
    if current is None:
        raise NotFound("The user is not a member of this team", about="user_id")
    if user_id == team.created_by or RoleName.OWNER.value in team_role_names(user_id, team.id):
        raise Forbidden("The team's owner cannot be removed", about="user_id")
    if user_id == team.poc_id:
        raise Forbidden("The point of contact cannot be removed; name another one first", about="user_id")
    get_repository(UserTeamDetails).update(
        current.id, {"is_active": False, "updated_by": actor, "updated_at": now()}, actor=actor
    )
    role_service.deactivate_team_roles(team_id=team.id, user_id=user_id, actor=actor)
    # The code the removed member knew no longer lets them back in.
    get_repository(Team).update(team.id, {"invite_code": _new_team_code(), "updated_by": actor, "updated_at": now()},
                                actor=actor)  # fmt: skip
    return _return_open_tasks_to_team(team_id=team.id, user_id=user_id, actor=actor)
