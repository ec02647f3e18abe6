"""`manage.py serve`: migrate, then serve the API with waitress in this one process.

One process with threads: with the in-process MongoDB stand-in, everything that must share MongoDB
(requests, background work) has to live in the same process.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from todo.auth import local_secret
from todo.phases import (
    current_phase,
    mongodb_in_process,
    mongodb_retired,
    reverse_mirroring,
)
from todo.services.background import BackgroundWorker
from todo.services.operations_setup import history_sampler


def _banner() -> list[str]:
    db = settings.DATABASES["default"]
    lines = [f"Migration phase: {current_phase()}"]
    if mongodb_retired():
        lines.append("MongoDB: retired (MONGODB_RETIRED=true); Postgres is the only store")
    elif settings.MONGODB_URI is None:
        lines.append(
            "MongoDB: in-process stand-in (mongomock). EMBEDDED DATA IS NOT KEPT: "
            "everything is lost when the service stops."
        )
    else:
        lines.append(f"MongoDB: {settings.MONGODB_DB} on the server of MONGODB_URI")
    if settings.EMBEDDED_POSTGRES["ENABLED"]:
        kept = (
            "started empty, NOT KEPT (MongoDB is in-process)"
            if settings.EMBEDDED_POSTGRES["FRESH"]
            else f"kept in {settings.EMBEDDED_POSTGRES['DATA_DIR']}"
        )
        lines.append(f"PostgreSQL: embedded server on {db['HOST']}:{db['PORT']}, data {kept}")
    else:
        sslmode = db["OPTIONS"]["sslmode"]
        lines.append(f"PostgreSQL: {db['NAME']} on {db['HOST']}:{db['PORT']} (sslmode {sslmode})")
    return lines


# waitress limits (its defaults: 120 s idle, 100 connections, 1 GiB bodies, 256 KiB headers).
CHANNEL_TIMEOUT = 20
CONNECTION_LIMIT = 500
BODY_SLACK = 64 * 1024  # multipart/JSON framing above the API's own body limit
MAX_HEADER_BYTES = 64 * 1024


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM into a normal exit so that atexit handlers (embedded PostgreSQL stop) run.
    sys.exit(0)


class Command(BaseCommand):
    help = "Apply migrations and serve the API (waitress, one process, threads)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)

    def _start_background_worker(self) -> None:
        if mongodb_retired():
            return
        if not settings.DUAL_WRITE_WORKER_IN_PROCESS:
            where = (
                "run `manage.py dualwrite worker`"
                if settings.MONGODB_URI
                else "NOTHING retries failed writes"
            )
            self.stdout.write(
                f"Background worker: not in this process (DUAL_WRITE_WORKER_IN_PROCESS=false); {where}"
            )
            return
        worker = BackgroundWorker()
        worker.start()
        what = "writes Postgres rows back to MongoDB" if reverse_mirroring() else "retries mirror writes"
        self.stdout.write(
            f"Background worker: {worker.owner}, a thread of this process ({what}; it follows the phase)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        import waitress

        from todo_project.wsgi import application

        call_command("prepare", stdout=self.stdout)  # migrate, phase, indexes, seed
        if mongodb_in_process():
            local_secret.write_new_secret()  # what `issue_token` shows /v1/auth/local-token
        if not mongodb_retired():
            history_sampler().start(settings.WRITE_HISTORY_INTERVAL)  # the dashboard's write history
        self._start_background_worker()
        for line in _banner():
            self.stdout.write(line)
        self.stdout.write(f"Serving on http://{options['host']}:{options['port']}/v1/health")
        self.stdout.flush()
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        waitress.serve(
            application,
            host=options["host"],
            port=options["port"],
            threads=options["threads"],
            ident="todo",
            _quiet=False,
            # Slow or idle clients must not hold the service: idle connections close after
            # CHANNEL_TIMEOUT s, and a body larger than the API accepts is refused before it is
            # buffered (the API's own limit is DATA_UPLOAD_MAX_MEMORY_SIZE).
            channel_timeout=CHANNEL_TIMEOUT,
            connection_limit=CONNECTION_LIMIT,
            max_request_body_size=settings.DATA_UPLOAD_MAX_MEMORY_SIZE + BODY_SLACK,
            max_request_header_size=MAX_HEADER_BYTES,
            asyncore_use_poll=True,
        )
