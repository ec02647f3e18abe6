from django.db import models

from todo.models.enums import RoleName, RoleScope
from todo.models.postgres.base import MirrorModel, mirror_constraints, one_of, outbox_index


class PostgresRole(MirrorModel):
    name = models.CharField(max_length=16, choices=RoleName.choices, null=True)
    description = models.TextField(null=True)
    scope = models.CharField(max_length=8, choices=RoleScope.choices, null=True)
    is_active = models.BooleanField(default=True)
    created_by = models.CharField(max_length=24, null=True)
    created_at = models.DateTimeField(null=True)
    updated_by = models.CharField(max_length=24, null=True)
    updated_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "postgres_roles"
        indexes = [outbox_index("pg_roles")]
        constraints = mirror_constraints(one_of("name", RoleName.values), one_of("scope", RoleScope.values))


class PostgresUserRole(MirrorModel):
    user_id = models.CharField(max_length=24, null=True)
    role_name = models.CharField(max_length=16, choices=RoleName.choices, null=True)
    scope = models.CharField(max_length=8, choices=RoleScope.choices, null=True)
    team_id = models.CharField(max_length=24, null=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(null=True)
    created_by = models.CharField(max_length=24, null=True)

    class Meta:
        db_table = "postgres_user_roles"
        constraints = mirror_constraints(
            one_of("role_name", RoleName.values), one_of("scope", RoleScope.values)
        )
        indexes = [
            outbox_index("pg_uroles"),
            models.Index(fields=["user_id", "team_id"], name="postgres_user_roles_user_idx"),
            models.Index(fields=["team_id"], name="postgres_user_roles_team_idx"),
        ]
