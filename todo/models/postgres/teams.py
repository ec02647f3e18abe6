from django.db import models

from todo.models.postgres.base import MirrorModel, mirror_constraints, outbox_index, unique_live


class PostgresTeam(MirrorModel):
    name = models.TextField(null=True)
    description = models.TextField(null=True)
    poc_id = models.CharField(max_length=24, null=True)
    invite_code = models.TextField(null=True)
    created_by = models.CharField(max_length=24, null=True)
    updated_by = models.CharField(max_length=24, null=True)
    created_at = models.DateTimeField(null=True)
    updated_at = models.DateTimeField(null=True)
    is_deleted = models.BooleanField(default=False)

    class Meta:
        db_table = "postgres_teams"
        constraints = mirror_constraints()
        indexes = [
            outbox_index("pg_teams"),
            models.Index(fields=["invite_code"], name="postgres_teams_invite_code_idx"),
        ]


class PostgresUserTeamDetails(MirrorModel):
    """A membership of a user in a team."""

    user_id = models.CharField(max_length=24, null=True)
    team_id = models.CharField(max_length=24, null=True)
    is_active = models.BooleanField(default=True)
    created_by = models.CharField(max_length=24, null=True)
    updated_by = models.CharField(max_length=24, null=True)
    created_at = models.DateTimeField(null=True)
    updated_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "postgres_user_team_details"
        constraints = mirror_constraints(unique_live("user_id", "team_id"))
        indexes = [outbox_index("pg_utd"), models.Index(fields=["team_id"], name="postgres_utd_team_idx")]


class PostgresTeamCreationInviteCode(MirrorModel):
    code = models.TextField(null=True)
    description = models.TextField(null=True)
    created_by = models.CharField(max_length=24, null=True)
    created_at = models.DateTimeField(null=True)
    is_used = models.BooleanField(default=False)
    used_by = models.CharField(max_length=24, null=True)
    used_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "postgres_team_creation_invite_codes"
        indexes = [outbox_index("pg_tcic")]
        constraints = mirror_constraints(unique_live("code"))
