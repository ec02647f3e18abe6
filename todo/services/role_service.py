"""Roles and role grants: who holds which role, and the rules for granting and removing team roles.

- An *admin* of the application (the one who may generate and list team-creation invite codes) is a
  user holding the GLOBAL `moderator` role (an active `user_roles` row, scope GLOBAL), or a user
  whose email is listed in the ADMIN_EMAILS setting (the web client shows its Admin page to the
  same list; the role itself is granted at the next sign-in, todo/services/admin_bootstrap.py).
- Team roles (`owner`, `admin`, `member`) are `user_roles` rows with scope TEAM and the team's id.
  Changing a user's team roles needs the `admin` or `owner` role in that team; granting or removing
  `owner` needs `owner`; a team always keeps at least one owner. Removal sets `is_active` false.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from todo.domain.errors import Conflict, Forbidden, Invalid, NotFound
from todo.models.documents import Role, Team, User, UserRole
from todo.models.enums import RoleName, RoleScope
from todo.repositories.abstract_repository import now
from todo.repositories.factory import get_repository
from todo.repositories.queries import ASC, Filters
from todo.selectors.roles import is_admin, is_moderator, team_role_names
from todo.selectors.teams import is_member

TEAM_ROLE_NAMES = (RoleName.OWNER.value, RoleName.ADMIN.value, RoleName.MEMBER.value)
ROLE_MANAGERS = frozenset({RoleName.OWNER.value, RoleName.ADMIN.value})


# -- selectors ---------------------------------------------------------------------------------------
def existing_user(user_id: str) -> User:
    """The user (NotFound about `user_id` otherwise)."""
    found = get_repository(User).get_by_id(user_id)
    if found is None:
        raise NotFound("User not found", about="user_id")
    return found


def require_self_or_moderator(*, actor: str, user_id: str) -> None:
    """Another user's roles (and the teams they name) are for moderators only."""
    if actor != user_id and not is_moderator(actor):
        raise Forbidden("Only moderators see another user's roles", about="user_id")


def require_admin(user_id: str) -> None:
    if not is_admin(user_id):
        raise Forbidden("Only admins may do this")


def role_list(*, scope: str | None, page: int, limit: int) -> tuple[list[Role], int]:
    filters: Filters = {"is_active": True}
    if scope is not None:
        filters["scope"] = scope
    roles = get_repository(Role)
    return roles.get_all(filters, [("scope", ASC), ("name", ASC)], page, limit), roles.count(filters)


def role_get(*, role_id: str) -> Role:
    found = get_repository(Role).get_by_id(role_id)
    if found is None:
        raise NotFound("Role not found", about="role_id")
    return found


def user_roles_of(*, user_id: str, team_id: str | None = None) -> list[UserRole]:
    """A user's active role grants (GLOBAL and every team's, or one team's)."""
    existing_user(user_id)
    return get_repository(UserRole).get_by_user(user_id, team_id=team_id)


@dataclass(frozen=True)
class TeamRole:
    """A user's team role as the members page reads it."""

    role_id: str  # the role's id (from /v1/roles), or the grant's when the role is not stored
    role_name: str
    scope: str
    team_id: str
    assigned_at: dt.datetime | None


@dataclass(frozen=True)
class TeamUserRoles:
    team_id: str
    user_id: str
    roles: list[TeamRole]


def team_roles_of_user(*, team_id: str, user_id: str) -> TeamUserRoles:
    """The user's active TEAM roles in the team, by name (an empty list when none)."""
    existing_user(user_id)
    grants = [
        g for g in get_repository(UserRole).get_by_user(user_id, team_id=team_id)
        if g.scope == RoleScope.TEAM.value and g.role_name
    ]  # fmt: skip
    role_ids = {
        r.name: r.id for r in get_repository(Role).get_all({"scope": RoleScope.TEAM.value, "is_active": True})
    }
    roles = [
        TeamRole(
            role_id=role_ids.get(g.role_name.lower(), g.id),
            role_name=g.role_name.lower(),
            scope=RoleScope.TEAM.value,
            team_id=team_id,
            assigned_at=g.created_at,
        )
        for g in grants
        if g.role_name
    ]
    return TeamUserRoles(team_id=team_id, user_id=user_id, roles=roles)


def team_user_roles(*, team_id: str, page: int, limit: int) -> tuple[list[UserRole], int]:
    filters: Filters = {"team_id": team_id, "is_active": True}
    grants = get_repository(UserRole)
    sort = [("user_id", ASC), ("role_name", ASC)]
    return grants.get_all(filters, sort, page, limit), grants.count(filters)


# -- writes ------------------------------------------------------------------------------------------
def grant_team_role(*, team_id: str, user_id: str, role_name: str, actor: str) -> UserRole:
    """Give a user a TEAM role in a team, without checking permissions (the callers do)."""
    return get_repository(UserRole).create(
        {"user_id": user_id, "role_name": role_name, "scope": RoleScope.TEAM.value, "team_id": team_id,
         "is_active": True, "created_at": now(), "created_by": actor},
        actor=actor,
    )  # fmt: skip


def deactivate_team_roles(*, team_id: str, user_id: str, actor: str) -> None:
    """Deactivate every active role of the user in the team (the user leaves the team)."""
    grants = get_repository(UserRole)
    for grant in grants.get_by_user(user_id, team_id=team_id):
        grants.update(grant.id, {"is_active": False}, actor=actor)


def _require_role_manager(*, actor: str, team_id: str, role_name: str) -> None:
    held = team_role_names(actor, team_id)
    if not held & ROLE_MANAGERS:
        raise Forbidden("Changing roles needs the admin or owner role in this team")
    if role_name == RoleName.OWNER.value and RoleName.OWNER.value not in held:
        raise Forbidden("Only an owner may grant or remove the owner role")


def _team_role_by_id(role_id: str) -> Role:
    role = get_repository(Role).get_by_id(role_id)
    if role is None or not role.is_active:
        raise NotFound("Role not found", about="role_id")
    if role.scope != RoleScope.TEAM.value or role.name not in TEAM_ROLE_NAMES:
        raise Invalid("Only TEAM roles can be given in a team", about="role_id")
    return role


def team_role_add(
    *, actor: str, team: Team, user_id: str, role_name: str | None = None, role_id: str | None = None
) -> UserRole:
    """Grant a TEAM role to an active member of the team (Conflict if the role is already held)."""
    if role_id is not None:
        role_name = _team_role_by_id(role_id).name
    assert role_name is not None
    existing_user(user_id)
    _require_role_manager(actor=actor, team_id=team.id, role_name=role_name)
    if not is_member(user_id, team.id):
        raise Conflict("The user is not a member of this team", about="user_id")
    if role_name in team_role_names(user_id, team.id):
        raise Conflict(f"The user already has the {role_name} role in this team")
    return grant_team_role(team_id=team.id, user_id=user_id, role_name=role_name, actor=actor)


def team_role_remove(*, actor: str, team: Team, user_id: str, role_id: str) -> list[UserRole]:
    """Deactivate a user's TEAM role. `role_id` is the id of the role (from /v1/roles) or of the
    user's role grant (from the team's roles list). The last owner of a team cannot be removed."""
    existing_user(user_id)
    grants = get_repository(UserRole)
    role = get_repository(Role).get_by_id(role_id)
    if role is not None:
        role_name = role.name
    else:
        grant = grants.get_by_id(role_id)
        if grant is None or grant.team_id != team.id or grant.user_id != user_id:
            raise NotFound("Role not found", about="role_id")
        role_name = grant.role_name
    assert role_name is not None
    _require_role_manager(actor=actor, team_id=team.id, role_name=role_name)
    held = [g for g in grants.get_by_user(user_id, team_id=team.id) if g.role_name == role_name]
    if not held:
        raise NotFound("The user does not have this role in this team", about="role_id")
    if role_name == RoleName.OWNER.value:
        owners = {g.user_id for g in grants.get_by_team(team.id) if g.role_name == RoleName.OWNER.value}
        if owners <= {user_id}:
            raise Conflict("A team keeps at least one owner")
    removed: list[Any] = []
    for grant in held:
        removed.append(grants.update(grant.id, {"is_active": False}, actor=actor))
    return removed
