"""Reads of roles: who is an application admin (a GLOBAL moderator, or listed in ADMIN_EMAILS) and
which team roles a user holds (the rules that use them are in todo/services/role_service.py)."""

from __future__ import annotations

from django.conf import settings

from todo.models.documents import User, UserRole
from todo.models.enums import RoleName, RoleScope
from todo.repositories.factory import get_repository


def is_moderator(user_id: str) -> bool:
    """True when the user holds the GLOBAL moderator role (an application admin)."""
    return get_repository(UserRole).exists(
        {"user_id": user_id, "role_name": RoleName.MODERATOR.value, "scope": RoleScope.GLOBAL.value,
         "is_active": True}
    )  # fmt: skip


def is_listed_admin(user_id: str) -> bool:
    """True when the user's email is in the ADMIN_EMAILS setting (compared ignoring case)."""
    listed = {email.strip().lower() for email in settings.ADMIN_EMAILS}
    if not listed:
        return False
    found = get_repository(User).get_by_id(user_id)
    email = (found.email_id or "").strip().lower() if found is not None else ""
    return bool(email) and email in listed


def is_admin(user_id: str) -> bool:
    """An application admin: a GLOBAL moderator, or a user listed in ADMIN_EMAILS."""
    return is_moderator(user_id) or is_listed_admin(user_id)


def team_role_names(user_id: str, team_id: str) -> set[str]:
    """The active TEAM roles the user holds in the team."""
    grants = get_repository(UserRole).get_by_user(user_id, team_id=team_id)
    return {g.role_name for g in grants if g.scope == RoleScope.TEAM.value and g.role_name}
