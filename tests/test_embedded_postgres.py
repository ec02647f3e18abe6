"""The embedded PostgreSQL keeps its data unless told to start fresh, and stops with its owner."""

import socket
from pathlib import Path

import psycopg

from todo.db.embedded_postgres import EmbeddedPostgres, EmbeddedPostgresSpec


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _spec(data_dir: Path, port: int, fresh: bool) -> EmbeddedPostgresSpec:
    return EmbeddedPostgresSpec(
        data_dir=data_dir, port=port, database="keepdb", user="keeper", password="pw", fresh=fresh
    )


def _conninfo(port: int) -> str:
    return f"host=127.0.0.1 port={port} dbname=keepdb user=keeper password=pw connect_timeout=5"


def _tables(port: int) -> list[str]:
    with psycopg.connect(_conninfo(port)) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return [row[0] for row in rows]


def test_data_is_kept_across_restarts_unless_fresh(tmp_path: Path) -> None:
    port = _free_port()
    first = EmbeddedPostgres(_spec(tmp_path, port, fresh=False))
    first.ensure_started()
    try:
        with psycopg.connect(_conninfo(port)) as conn:
            conn.execute("CREATE TABLE kept (id int)")
    finally:
        first.stop_if_owned()
    assert not first.is_running()

    second = EmbeddedPostgres(_spec(tmp_path, port, fresh=False))
    second.ensure_started()
    try:
        assert _tables(port) == ["kept"]
    finally:
        second.stop_if_owned()

    fresh = EmbeddedPostgres(_spec(tmp_path, port, fresh=True))
    fresh.ensure_started()
    try:
        assert _tables(port) == []
    finally:
        fresh.stop_if_owned()


def test_server_left_by_a_dead_owner_is_replaced(tmp_path: Path) -> None:
    port = _free_port()
    orphaned = EmbeddedPostgres(_spec(tmp_path, port, fresh=True))
    orphaned.ensure_started()
    (tmp_path / "pgdata.owner").write_text("999999")  # an owner that no longer exists
    successor = EmbeddedPostgres(_spec(tmp_path, port, fresh=True))
    successor.ensure_started()
    try:
        assert successor.owned and successor.is_running()
        assert _tables(port) == []
    finally:
        successor.stop_if_owned()
    assert not successor.is_running()


def test_every_connection_needs_a_password_the_superuser_included(tmp_path: Path) -> None:
    """Security: the embedded server no longer trusts local connections (another account on the
    machine reached it as superuser); the superuser's random password is in a 0600 file."""
    import pytest

    port = _free_port()
    server = EmbeddedPostgres(_spec(tmp_path, port, fresh=True))
    server.ensure_started()
    try:
        for conninfo in (
            f"host=127.0.0.1 port={port} dbname=postgres user=postgres connect_timeout=5",
            f"host=127.0.0.1 port={port} dbname=keepdb user=keeper connect_timeout=5",
            f"host=127.0.0.1 port={port} dbname=keepdb user=keeper password=wrong connect_timeout=5",
        ):
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect(conninfo).close()
        psycopg.connect(_conninfo(port)).close()
        assert (tmp_path / "superuser.password").stat().st_mode & 0o777 == 0o600
    finally:
        server.stop_if_owned()
