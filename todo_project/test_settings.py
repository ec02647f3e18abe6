"""Settings for the test suite: the embedded PostgreSQL of the tests lives apart from the service's
and listens on a free port, so `make test` can run while `make run` serves."""

from __future__ import annotations

import os
import socket

from todo_project.settings import *  # noqa: F403
from todo_project.settings import DATA_DIR, DATABASES, EMBEDDED_POSTGRES, _config


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SECRET_KEY = "test-secret-key-not-for-production-use"

if _config.embedded_postgres:
    # One server per test run, so that runs in one checkout never share (or stop) each other's.
    EMBEDDED_POSTGRES = {
        **EMBEDDED_POSTGRES,
        "DATA_DIR": DATA_DIR / "test-postgres" / str(os.getpid()),
        "FRESH": True,
    }
    if _config.POSTGRES_PORT is None:
        DATABASES["default"]["PORT"] = _free_port()

# The suite calls sign-in and invite-code endpoints far more often than a person could; the
# throttling tests set their own rates (tests/security/test_throttling.py).
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {
        "sign_in": "100000/min",
        "invite_code": "100000/min",
        "token_refresh": "100000/min",
    },
}

ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]  # noqa: F405  (Django's test client)

# Runtime flags: a test's own changes are seen at once (they clear the process's cache); a refresh
# in a background thread would read outside the test's transaction, so only the tests of the
# refresh itself set a short period.
RUNTIME_FLAGS_REFRESH_SECONDS = 3600.0
