"""`migrate` on an empty database creates exactly the mirror tables, with their guards."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

MIRROR_TABLES = {
    "postgres_users",
    "postgres_tasks",
    "postgres_teams",
    "postgres_labels",
    "postgres_roles",
    "postgres_task_assignments",
    "postgres_watchlists",
    "postgres_user_team_details",
    "postgres_user_roles",
    "postgres_audit_logs",
    "postgres_team_creation_invite_codes",
}
CHILD_TABLES = {"postgres_task_labels", "postgres_deferred_details"}


def _tables() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'postgres%%'"
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db
def test_migrate_creates_exactly_the_mirror_and_child_tables() -> None:
    assert _tables() == MIRROR_TABLES | CHILD_TABLES


@pytest.mark.django_db
def test_every_mirror_table_has_id_version_and_sync_metadata() -> None:
    wanted = {"mongo_id", "source_version", "source_deleted", "sync_status", "sync_error", "last_sync_at"}
    with connection.cursor() as cursor:
        for table in MIRROR_TABLES:
            cursor.execute(
                "SELECT column_name, is_nullable, character_maximum_length FROM information_schema.columns"
                " WHERE table_name = %s",
                [table],
            )
            columns = {name: (nullable, length) for name, nullable, length in cursor.fetchall()}
            assert wanted <= set(columns), table
            assert columns["mongo_id"] == ("NO", 24), table
            cursor.execute(
                "SELECT 1 FROM pg_indexes WHERE tablename = %s AND indexdef LIKE 'CREATE UNIQUE INDEX%%(mongo_id)'",
                [table],
            )
            assert cursor.fetchone(), f"{table}.mongo_id is not unique"


@pytest.mark.django_db
def test_uniqueness_is_scoped_to_live_rows() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'postgres_users' AND indexdef LIKE '%%google_id%%'"
        )
        (definition,) = cursor.fetchone()
    assert "UNIQUE" in definition and "WHERE (NOT source_deleted)" in definition


@pytest.mark.django_db
def test_committed_migrations_match_the_models() -> None:
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
