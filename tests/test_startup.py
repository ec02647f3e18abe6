"""Start-up does only what the command needs: real `manage.py` processes, each with its own DATA_DIR.

`manage.py help` and `issue_token` (in-process MongoDB) start no PostgreSQL; copies of the project
with different DATA_DIRs and no POSTGRES_PORT all start, the later ones on another port when the
default (54329) is taken; processes of one DATA_DIR share its server; an explicitly set, taken
POSTGRES_PORT is a one-line error naming the port, the data dir and that data dir's server log."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from todo.db.embedded_postgres import EmbeddedPostgres, EmbeddedPostgresSpec, free_port
from todo.db.startup import command_needs_database
from todo_project.config import EMBEDDED_POSTGRES_DEFAULT_PORT

ROOT = Path(__file__).resolve().parent.parent

# Connects, prints the port the connection reached, then waits for a line on stdin (so that the
# server of this process stays up while others start).
HOLD = (
    "import sys\n"
    "from django.db import connection\n"
    "with connection.cursor() as cursor:\n"
    "    cursor.execute('SELECT inet_server_port()')\n"
    "    print('PORT', cursor.fetchone()[0], flush=True)\n"
    "sys.stdin.readline()\n"
)


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    # No POSTGRES_HOST, MONGODB_URI or POSTGRES_PORT: the embedded defaults, as `make run`.
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "todo_project.settings",
        "DATA_DIR": str(data_dir),
        **extra,
    }


def _manage(data_dir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=_env(data_dir, **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _stop_leftover(data_dir: Path) -> None:
    """Stop a server a failed test left behind (its owner process killed)."""
    spec = EmbeddedPostgresSpec(
        data_dir=data_dir / "postgres", port=1, database="x", user="x", password="x", fresh=False
    )
    EmbeddedPostgres(spec).stop()


@contextlib.contextmanager
def _holding(data_dir: Path) -> Iterator[tuple[int, str]]:
    """A `manage.py shell` of `data_dir` connected to its server; yields (port reached, stderr line)."""
    process = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "--verbosity", "0", "-c", HOLD],
        cwd=ROOT,
        env=_env(data_dir),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        line = process.stdout.readline()
        if not line.startswith("PORT "):
            process.kill()
            output = process.communicate(timeout=10)
            _stop_leftover(data_dir)
            pytest.fail(f"no connection from {data_dir}: {line!r} {output}")
        stderr_line = process.stderr.readline().strip() if _owns(data_dir, process.pid) else ""
        yield int(line.split()[1]), stderr_line
    finally:
        if process.poll() is None:
            assert process.stdin is not None
            process.stdin.write("\n")
            process.stdin.flush()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
                _stop_leftover(data_dir)


def _owns(data_dir: Path, pid: int) -> bool:
    owner = data_dir / "postgres" / "pgdata.owner"
    return owner.exists() and owner.read_text().strip() == str(pid)


def _postmaster_running(data_dir: Path) -> bool:
    return (data_dir / "postgres" / "pgdata" / "postmaster.pid").exists()


@contextlib.contextmanager
def _default_port_taken() -> Iterator[None]:
    """The default embedded port held by another program: this test's socket, or, when something
    on this machine (another copy of the project) already listens there, that one."""
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", EMBEDDED_POSTGRES_DEFAULT_PORT))
        sock.listen()
    except OSError:
        pass  # taken already: the case under test
    try:
        yield
    finally:
        sock.close()


@pytest.mark.parametrize(
    ("argv", "needed"),
    [
        (["manage.py"], False),
        (["manage.py", "help"], False),
        (["manage.py", "help", "migrate"], False),
        (["manage.py", "--version"], False),
        (["manage.py", "migrate", "--help"], False),
        (["manage.py", "issue_token", "--email", "a@b.c"], False),
        (["manage.py", "check"], False),
        (["manage.py", "check", "--database", "default"], True),
        (["manage.py", "migrate"], True),
        (["manage.py", "serve"], True),
        (["manage.py", "prepare"], True),
        (["manage.py", "dualwrite", "status"], True),
        (["manage.py", "createsuperuser"], True),
        (["manage.py", "makemigrations", "--check", "--dry-run"], True),
    ],
)
def test_which_commands_start_the_database(argv: list[str], needed: bool) -> None:
    assert command_needs_database(argv) is needed


def test_help_and_issue_token_start_no_postgres(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = _manage(data_dir, "help")
    assert result.returncode == 0, result.stderr
    assert "issue_token" in result.stdout
    token = _manage(
        data_dir, "issue_token", "--email", "ada@example.com", "--url", f"http://127.0.0.1:{free_port()}"
    )
    assert token.returncode == 1 and "no local secret" in token.stderr, token.stderr
    assert not (data_dir / "postgres").exists()  # no initdb, no server, not even its folder


def test_copies_with_their_own_data_dirs_start_on_free_ports_and_share_within_a_data_dir(
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    with _default_port_taken():
        with _holding(first) as (port_1, line_1):
            assert port_1 != EMBEDDED_POSTGRES_DEFAULT_PORT
            assert line_1 == (
                f"embedded PostgreSQL: port {port_1} ({EMBEDDED_POSTGRES_DEFAULT_PORT} is taken by another"
                f" program; POSTGRES_PORT is not set), data {first / 'postgres' / 'pgdata'},"
                f" log {first / 'postgres' / 'pgdata' / 'server.log'}"
            )
            assert (first / "postgres" / "port").read_text().strip() == str(port_1)
            with _holding(second) as (port_2, line_2):
                assert port_2 not in (port_1, EMBEDDED_POSTGRES_DEFAULT_PORT)
                assert f"port {port_2} " in line_2
                # Another process of the first DATA_DIR (as `dualwrite ...` beside `serve`) joins
                # its server on the port it moved to, and stops nothing when it ends.
                with _holding(first) as (joined, joined_line):
                    assert joined == port_1 and joined_line == ""
                assert _postmaster_running(first)
        assert not _postmaster_running(first) and not _postmaster_running(second)


def test_an_explicit_taken_port_is_one_line_naming_port_data_dir_and_log(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = _manage(data_dir, "shell", "-c", "pass", POSTGRES_PORT=str(port))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0] == (
        f"error: embedded PostgreSQL: port {port} (POSTGRES_PORT) is taken by another program;"
        f" data dir {data_dir / 'postgres'}; server log: {data_dir / 'postgres' / 'pgdata' / 'server.log'};"
        " free the port or set another POSTGRES_PORT"
    )
    assert not _postmaster_running(data_dir)
