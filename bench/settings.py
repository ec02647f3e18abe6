"""Settings of the benchmarks: the app's settings with an embedded PostgreSQL of their own (a fresh
data folder per process, a free port), so a benchmark never touches the service's or the tests'."""

from __future__ import annotations

import os
import socket

from todo_project.settings import *  # noqa: F403
from todo_project.settings import DATA_DIR, DATABASES, EMBEDDED_POSTGRES
from todo_project.settings import _config as CONFIG  # renamed in the settings (secrets never listed)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if CONFIG.embedded_postgres:
    EMBEDDED_POSTGRES = {
        **EMBEDDED_POSTGRES,
        "DATA_DIR": DATA_DIR / "bench-postgres" / str(os.getpid()),
        "FRESH": True,
    }
    if CONFIG.POSTGRES_PORT is None:
        DATABASES["default"]["PORT"] = _free_port()
