"""`manage.py dualwrite <worker|retry|cleanup>`: thin wrappers over the engine.

Operator mistakes end with one line and a non-zero exit (CommandError), never a traceback.
"""

from __future__ import annotations

import datetime as dt
import re
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dualwrite.errors import DualWriteError
from dualwrite.queue import QUEUE_COLLECTION
from dualwrite.transform import normalise_mongo_id
from todo.services.dual_write_setup import build_engine, build_worker

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> dt.timedelta:
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise CommandError(f"invalid duration {text!r}: use a positive number with s, m, h or d (e.g. 30d)")
    return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class Command(BaseCommand):
    help = "Dual-write operations: worker, retry, cleanup."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{worker,retry,cleanup}")
        worker = sub.add_parser("worker", help="re-apply recorded failures until stopped")
        worker.add_argument("--once", action="store_true", help="drain what is due, then exit")
        worker.add_argument("--poll-interval", type=float, default=1.0)
        retry = sub.add_parser("retry", help="re-apply failed writes now")
        which = retry.add_mutually_exclusive_group(required=True)
        which.add_argument("--all", action="store_true", help="every unresolved record")
        which.add_argument("--collection", help="unresolved records of one collection")
        which.add_argument("--id", dest="mongo_id", help="one document (with --in)")
        retry.add_argument("--in", dest="in_collection", help="collection of --id")
        cleanup = sub.add_parser("cleanup", help="purge resolved failure records")
        cleanup.add_argument("--older-than", default="30d", help="age such as 30d, 12h (default 30d)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except DualWriteError as exc:
            raise CommandError(str(exc)) from None

    def _worker(self, options: dict[str, Any]) -> None:
        worker = build_worker()
        if options["once"]:
            report = worker.run_once(limit=1_000_000)
            self.stdout.write(
                f"applied {report.succeeded}, failed {report.failed}, postponed {report.postponed}"
            )
            return
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write(f"retry worker {worker.owner} running; Ctrl-C to stop")
        worker.run(stop, poll_interval=options["poll_interval"])

    def _retry(self, options: dict[str, Any]) -> None:
        engine = build_engine()
        registry = engine.registry
        if options["mongo_id"]:
            if not options["in_collection"]:
                raise CommandError("--id needs --in COLLECTION")
            targets = [
                (registry.get(options["in_collection"]).collection, normalise_mongo_id(options["mongo_id"]))
            ]
        elif options["collection"]:
            collection = registry.get(options["collection"]).collection
            targets = engine.queue.unresolved_ids({"collection": collection})
        else:
            targets = engine.queue.unresolved_ids({})
        applied = 0
        for collection, mongo_id in targets:
            if engine.retry_document(collection, mongo_id, owner="manual-retry", lease_seconds=60):
                applied += 1
        self.stdout.write(
            f"retried {len(targets)}: {applied} applied, {len(targets) - applied} still failing"
        )
        if applied < len(targets):
            raise CommandError(f"{len(targets) - applied} document(s) still failing; see get_sync_failures()")

    def _cleanup(self, options: dict[str, Any]) -> None:
        age = parse_duration(options["older_than"])
        purged = build_engine().queue.purge_resolved(age)
        self.stdout.write(
            f"purged {purged} resolved record(s) older than {options['older_than']} from {QUEUE_COLLECTION}"
        )
