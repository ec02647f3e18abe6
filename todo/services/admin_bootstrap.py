"""The first admins: users whose email is listed in ADMIN_EMAILS get the GLOBAL moderator role
when they sign in (Google or issue_token), so that a fresh deployment can generate team-creation
invite codes without editing the store by hand."""

from __future__ import annotations

from django.conf import settings

from todo.models.documents import User, UserRole
from todo.models.enums import RoleName, RoleScope
from todo.repositories.abstract_repository import now
from todo.repositories.factory import get_repository
from todo.selectors.roles import is_moderator


def grant_admin_if_listed(user: User) -> bool:
    """Grant the GLOBAL moderator role to a listed user who lacks it; True when granted."""
    email = (user.email_id or "").strip().lower()
    if not email or email not in settings.ADMIN_EMAILS or is_moderator(user.id):
        return False
    get_repository(UserRole).create(
        {
            "user_id": user.id,
            "role_name": RoleName.MODERATOR.value,
            "scope": RoleScope.GLOBAL.value,
            "is_active": True,
            "created_at": now(),
            "created_by": "system",
        }
    )
    return True
