"""`manage.py serve`: migrate (and, with the in-process MongoDB stand-in, rebuild it from the kept
Postgres mirror), then serve the API with waitress in this one process; a graceful stop (SIGTERM,
Ctrl-C) drains the retry queue within DUAL_WRITE_DRAIN_SECONDS before the process ends.

One process with threads: with the in-process MongoDB stand-in, everything that must share MongoDB
(requests, background work) has to live in the same process.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from pymongo.errors import PyMongoError

from dualwrite.drain import DrainOutcome, drain
from todo.auth import local_secret
from todo.phases import (
    current_phase,
    mongodb_in_process,
    mongodb_retired,
    reverse_mirroring,
)
from todo.services import stand_in
from todo.services.background import BackgroundWorker
from todo.wiring import build_worker, history_sampler


def _banner() -> list[str]:
    db = settings.DATABASES["default"]
    lines = [f"Migration phase: {current_phase()}"]
    if mongodb_retired():
        lines.append("MongoDB: retired (MONGODB_RETIRED=true); Postgres is the only store")
    elif settings.MONGODB_URI is None:
        lines.append(
            "MongoDB: in-process stand-in (mongomock), rebuilt at every start from the PostgreSQL mirror."
            " KEPT across restarts: every write the mirror holds. LOST by a crash (or a stop that"
            " cannot drain the retry queue): writes whose mirror write was still queued."
        )
    else:
        lines.append(f"MongoDB: {settings.MONGODB_DB} on the server of MONGODB_URI")
    if settings.EMBEDDED_POSTGRES["ENABLED"]:
        kept = (
            "started empty, NOT KEPT"
            if settings.EMBEDDED_POSTGRES["FRESH"]
            else f"kept in {settings.EMBEDDED_POSTGRES['DATA_DIR']} (`serve --fresh` or `make clean` starts empty)"
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
    # Turn SIGTERM into a normal exit: waitress ends its loop as on Ctrl-C, then the retry queue
    # is drained and atexit handlers (embedded PostgreSQL stop) run.
    sys.exit(0)


# Seconds the background worker gets to end its round at a stop (it holds leases meanwhile).
WORKER_STOP_SECONDS = 5.0


class Command(BaseCommand):
    help = "Apply migrations and serve the API (waitress, one process, threads)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument(
            "--fresh",
            action="store_true",
            help="start from empty stores: delete every row of the embedded PostgreSQL first"
            " (only with the in-process MongoDB stand-in and the embedded PostgreSQL)",
        )

    def _start_background_worker(self) -> tuple[BackgroundWorker, threading.Event] | None:
        if mongodb_retired():
            return None
        if not settings.DUAL_WRITE_WORKER_IN_PROCESS:
            where = (
                "run `manage.py dualwrite worker`"
                if settings.MONGODB_URI
                else "NOTHING retries failed writes until the drain at a graceful stop"
            )
            self.stdout.write(
                f"Background worker: not in this process (DUAL_WRITE_WORKER_IN_PROCESS=false); {where}"
            )
            return None
        worker = BackgroundWorker()
        stop = worker.start()
        what = "writes Postgres rows back to MongoDB" if reverse_mirroring() else "retries mirror writes"
        self.stdout.write(
            f"Background worker: {worker.owner}, a thread of this process ({what}; it follows the phase)"
        )
        return worker, stop

    def _wipe(self) -> None:
        """`--fresh`: every table emptied (schema kept), before the stand-in is rebuilt from it."""
        if not (mongodb_in_process() and settings.EMBEDDED_POSTGRES["ENABLED"]):
            raise CommandError(
                "--fresh is for the embedded defaults only (in-process MongoDB and embedded PostgreSQL):"
                " it would leave a real MongoDB and its mirror disagreeing"
            )
        call_command("migrate", interactive=False, verbosity=0)
        call_command("flush", interactive=False, verbosity=0)
        self.stdout.write("--fresh: every PostgreSQL table emptied; starting from empty stores")

    def handle(self, *args: Any, **options: Any) -> None:
        import waitress

        from todo_project.wsgi import application

        if options["fresh"]:
            self._wipe()
        call_command("prepare", stdout=self.stdout)  # migrate, rebuild the stand-in, phase, indexes, seed
        if mongodb_in_process():
            local_secret.write_new_secret()  # what `issue_token` shows /v1/auth/local-token
        if not mongodb_retired():
            history_sampler().start(settings.WRITE_HISTORY_INTERVAL)  # the dashboard's write history
        background = self._start_background_worker()
        for line in _banner():
            self.stdout.write(line)
        self.stdout.write(f"Serving on http://{options['host']}:{options['port']}/v1/health")
        self.stdout.flush()
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        # waitress ends its loop on SIGTERM (turned into SystemExit) and Ctrl-C alike, lets the
        # requests in flight finish (up to 5 s) and returns: then the retry queue is drained.
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
        self._stop(background)

    def _stop(self, background: tuple[BackgroundWorker, threading.Event] | None) -> None:
        """After the last request: stop the worker, drain the retry queue within
        DUAL_WRITE_DRAIN_SECONDS and say in one line what could not be drained (counts only)."""
        if mongodb_retired():
            return
        worker: BackgroundWorker | None = None
        if background is not None:
            worker, stop = background
            stop.set()
            if worker.thread is not None:
                worker.thread.join(WORKER_STOP_SECONDS)
        retry = worker.retry if worker is not None else build_worker(name=None)
        try:
            outcome = drain(retry, settings.DUAL_WRITE_DRAIN_SECONDS)
        except (KeyboardInterrupt, SystemExit):
            sys.stderr.write("Stop: the retry queue drain was interrupted by a second signal\n")
            return
        except DRAIN_ERRORS as exc:
            sys.stderr.write(f"Stop: the retry queue could not be drained ({type(exc).__name__})\n")
            return
        sys.stderr.write(_drain_line(outcome, settings.DUAL_WRITE_DRAIN_SECONDS) + "\n")
        if mongodb_in_process():
            try:
                stand_in.keep_counters()
            except DatabaseError as exc:
                sys.stderr.write(f"Stop: the display-id counter was not kept ({type(exc).__name__})\n")
        sys.stderr.flush()


# A store that fails during the drain ends it: what is left is then unknown (the line says so).
DRAIN_ERRORS = (DatabaseError, PyMongoError)


def _drain_line(outcome: DrainOutcome, seconds: float) -> str:
    """The one line a stop prints about the retry queue: counts, never document contents."""
    done = f"{outcome.applied} mirror write(s) applied in {outcome.seconds:.1f} s"
    if not outcome.left:
        return f"Stop: retry queue drained, {done}; nothing left"
    where = (
        "LOST: the in-process MongoDB ends with this process and is rebuilt from PostgreSQL"
        if mongodb_in_process()
        else "left in MongoDB's retry queue for the next worker"
    )
    why = (
        f"time up after {seconds:g} s (DUAL_WRITE_DRAIN_SECONDS)"
        if outcome.timed_out
        else "not mirrorable now"
    )
    return (
        f"Stop: retry queue NOT drained ({why}), {done}; {outcome.pending} pending, {outcome.failed} failed,"
        f" {outcome.unmirrored} unmirrored write(s) could not reach PostgreSQL: {where}"
    )
