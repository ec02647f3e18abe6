"""Reference data every deployment starts with, written idempotently at start-up (`manage.py serve`,
`manage.py seed`): the default labels and the four roles. Running it again creates nothing that
exists already (labels by live name, roles by name and scope)."""

from __future__ import annotations

from dataclasses import dataclass

from todo.models.documents import Label, Role
from todo.models.enums import RoleName, RoleScope
from todo.repositories.abstract_repository import now
from todo.repositories.factory import get_repository

SYSTEM = "system"
LABELS: tuple[tuple[str, str], ...] = (
    ("Feature", "#22c55e"),
    ("Bug", "#ef4444"),
    ("Refactoring/Optimization", "#f59e0b"),
    ("API", "#3b82f6"),
    ("UI/UX", "#8b5cf6"),
    ("Testing", "#06b6d4"),
    ("Documentation", "#64748b"),
    ("Review", "#ec4899"),
)
ROLES: tuple[tuple[str, str, str], ...] = (
    (
        RoleName.MODERATOR.value,
        RoleScope.GLOBAL.value,
        "Moderates the application; may issue team-creation invite codes",
    ),
    (RoleName.OWNER.value, RoleScope.TEAM.value, "Owns the team"),
    (RoleName.ADMIN.value, RoleScope.TEAM.value, "Administers the team and its roles"),
    (RoleName.MEMBER.value, RoleScope.TEAM.value, "Member of the team"),
)


@dataclass(frozen=True)
class SeedResult:
    labels_created: int
    roles_created: int


def seed_reference_data() -> SeedResult:
    """Create the default labels and roles that do not exist yet; returns how many were created."""
    labels = get_repository(Label)
    labels_created = 0
    for name, color in LABELS:
        if labels.find_one({"name": name, "isDeleted": False}) is None:
            moment = now()
            labels.create(
                {"name": name, "color": color, "description": None, "isDeleted": False,
                 "createdAt": moment, "updatedAt": moment, "createdBy": SYSTEM, "updatedBy": SYSTEM}
            )  # fmt: skip
            labels_created += 1
    roles = get_repository(Role)
    roles_created = 0
    for name, scope, description in ROLES:
        if roles.find_one({"name": name, "scope": scope}) is None:
            moment = now()
            roles.create(
                {"name": name, "scope": scope, "description": description, "is_active": True,
                 "created_by": SYSTEM, "created_at": moment, "updated_by": SYSTEM, "updated_at": moment}
            )  # fmt: skip
            roles_created += 1
    return SeedResult(labels_created, roles_created)
