"""Every OS process of the cross-process scenarios is started here, and only here, as an operator
would start it: `manage.py serve` web processes, `manage.py dualwrite worker` processes and the
one-shot commands (`dualwrite verify|status|retry|backfill`, `issue_token`). Changing how the web
processes run (e.g. gunicorn instead of `manage.py serve`) is a change of `WEB_COMMAND`.

The stores: one wire-protocol MongoDB server (tests/wire) and one embedded PostgreSQL that this
test process starts and owns (so that SIGKILLing a web process never takes the database with it);
every process gets the same `DATA_DIR` and `POSTGRES_PORT` and joins that server, exactly as a
second `manage.py` process joins the one `make run` started. Each scenario has its own MongoDB
database and Postgres database on those shared servers.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from todo.db.embedded_postgres import EmbeddedPostgres, EmbeddedPostgresSpec

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
POSTGRES_USER = "todo_user"
POSTGRES_PASSWORD = "todo_password"

# The one place the web process's command line lives (`{port}` is filled in): as the README's
# "Running in production" starts it, gunicorn after `manage.py prepare`.
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
WEB_COMMAND = [GUNICORN, "-c", "todo_project/gunicorn_conf.py", "--workers", "1", "--threads", "8",
               "--bind", "127.0.0.1:{port}", "todo_project.wsgi:application"]  # fmt: skip
WORKER_COMMAND = [PYTHON, "manage.py", "dualwrite", "worker", "--poll-interval", "0.2"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SharedPostgres:
    """The embedded PostgreSQL every process of a run joins; this (test) process owns it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.server = EmbeddedPostgres(
            EmbeddedPostgresSpec(
                data_dir=data_dir / "postgres",
                port=self.port,
                database="postgres_crossprocess",
                user=POSTGRES_USER,
                password=POSTGRES_PASSWORD,
                fresh=False,
            )
        )

    def start(self) -> None:
        self.server.ensure_started()

    def stop(self) -> None:
        self.server.stop_if_owned()

    def kill(self) -> None:
        """SIGKILL the postmaster, as a crash would."""
        self.server.kill()

    def restart(self) -> None:
        """Start it again on the same data (crash recovery)."""
        self.server.start()

    def create_database(self, name: str) -> None:
        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:  # todo_user has CREATEDB
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(POSTGRES_USER)
                )
            )

    def conninfo(self, database: str, user: str = POSTGRES_USER) -> str:
        return (
            f"host=127.0.0.1 port={self.port} user={user} password={POSTGRES_PASSWORD} dbname={database}"
            " connect_timeout=5"
        )

    def connect(self, database: str) -> psycopg.Connection[Any]:
        return psycopg.connect(self.conninfo(database), autocommit=True)


@dataclass
class Process:
    """A started OS process with its combined output in a log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    base_url: str | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def sigkill(self) -> None:
        """SIGKILL of the process and its children (gunicorn's master and workers): no handler, no
        atexit, no cleanup — a crash."""
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, as an operator stops it; SIGKILL if it does not end in time."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                return self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
        return self.popen.wait(10)

    def wait_healthy(self, timeout: float = 120.0) -> dict[str, Any]:
        """Block until the web process answers /v1/health (any JSON answer)."""
        assert self.base_url is not None, f"{self.name} is not a web process"
        stop_at = time.monotonic() + timeout
        while time.monotonic() < stop_at:
            if not self.alive():
                raise AssertionError(f"{self.name} exited ({self.popen.returncode}):\n{self.log()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/v1/health", timeout=5) as answer:
                    return dict(json.loads(answer.read()))
            except urllib.error.HTTPError as exc:
                return dict(json.loads(exc.read()))
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise AssertionError(f"{self.name} did not answer in {timeout} s:\n{self.log()[-4000:]}")


@dataclass(frozen=True)
class CommandResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float


@dataclass
class Deployment:
    """One scenario's service: its stores and every process it started (stopped by `close`)."""

    postgres: SharedPostgres
    mongodb_uri: str
    name: str  # the MongoDB and Postgres database of this scenario
    logs: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)
    prepared: bool = False

    def env(self, **overrides: str) -> dict[str, str]:
        """The environment an operator would set: nothing of the test process leaks in."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "DJANGO_SETTINGS_MODULE": "todo_project.settings",
            "DATA_DIR": str(self.postgres.data_dir),
            "POSTGRES_PORT": str(self.postgres.port),
            "POSTGRES_NAME": self.name,
            "MONGODB_URI": self.mongodb_uri,
            "MONGODB_DB": self.name,
            "DUAL_WRITE_WORKER_IN_PROCESS": "false",
            "DUAL_WRITE_RETRY_DELAY": "0",
            "LOG_LEVEL": "WARNING",
            **self.extra_env,
            **overrides,
        }

    def _popen(
        self, name: str, command: list[str], env: dict[str, str]
    ) -> tuple[subprocess.Popen[bytes], Path]:
        log_path = self.logs / f"{name}.log"
        with log_path.open("ab") as log:
            popen = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return popen, log_path

    def start_web(self, name: str, *, wait: bool = True, **env: str) -> Process:
        """A web process on a free port; waits until it answers. The deployment is prepared once
        (migrate, phase, indexes, seed) before its first web process, as the README says."""
        if not self.prepared:
            result = self.run("prepare")
            assert result.returncode == 0, result.stderr
            self.prepared = True
        port = free_port()
        command = [part.format(port=port) for part in WEB_COMMAND]
        popen, log_path = self._popen(name, command, self.env(**env))
        process = Process(name, popen, log_path, f"http://127.0.0.1:{port}")
        self.processes.append(process)
        if wait:
            process.wait_healthy()
        return process

    def start_worker(self, name: str, *extra: str, **env: str) -> Process:
        popen, log_path = self._popen(name, [*WORKER_COMMAND, *extra], self.env(**env))
        process = Process(name, popen, log_path)
        self.processes.append(process)
        return process

    def spawn(self, name: str, *args: str, **env: str) -> Process:
        """A one-shot `manage.py` command started in the background (see `finish`)."""
        popen, log_path = self._popen(name, [PYTHON, "manage.py", *args], self.env(**env))
        process = Process(name, popen, log_path)
        self.processes.append(process)
        return process

    def run(self, *args: str, timeout: float = 120.0, **env: str) -> CommandResult:
        """A one-shot `manage.py` command, run to its end."""
        started = time.monotonic()
        done = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return CommandResult(
            list(args), done.returncode, done.stdout, done.stderr, time.monotonic() - started
        )

    def issue_token(self, email: str) -> str:
        result = self.run("issue_token", "--email", email)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()[-1]

    def close(self) -> None:
        for process in reversed(self.processes):
            if process.alive():
                process.sigkill()
