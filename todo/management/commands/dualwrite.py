"""`manage.py dualwrite <worker|retry|cleanup|backfill|verify|status|phase|readiness|doctor>`: thin wrappers
over the engine and the runtime flags. In postgres_only, `worker` writes Postgres rows back to MongoDB and `verify --reverse`
compares in that direction.

Operator mistakes end with one line and a non-zero exit (CommandError), never a traceback; the
operations commands (backfill, verify, status) check their arguments and that both stores answer
before they change anything, and exit 2 for a mistake. `verify` exits 1 when it finds drift;
`readiness` and a refused `phase --set/--reads` exit 1 with the reasons. `doctor` reads MongoDB
only and exits 1 when something blocks a backfill (see todo.services.doctor), 2 when MongoDB
cannot be read.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import re
import signal
import threading
from typing import Any, TextIO

import psycopg
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.db import DatabaseError
from pymongo.errors import PyMongoError

from dualwrite.backfill import MAX_BATCH_SIZE
from dualwrite.checkpoint import Shard
from dualwrite.errors import DualWriteError
from dualwrite.mapping import CollectionMapping
from dualwrite.transform import normalise_mongo_id
from todo import runtime_flags
from todo.management.progress import Progress
from todo.mappings import get_registry
from todo.phases import (
    PHASES,
    POSTGRES_ONLY,
    PhaseNotReady,
    current_phase,
    mongodb_in_process,
    mongodb_retired,
    reverse_mirroring,
)
from todo.services import doctor, flag_service, phase_service, readiness
from todo.services.background import BackgroundWorker
from todo.services.flag_service import InvalidFlag
from todo.services.health_service import check_health
from todo.services.retention import purge_all
from todo.wiring import (
    build_backfiller,
    build_reverse_mirror,
    build_status,
    build_verifier,
    build_worker,
    dual_write_engine,
    history_sampler,
    reverse_verify,
)

# Exit code of an operator mistake in the operations commands (verify: 0 equal, 1 drift).
MISTAKE = 2
STORE_ERRORS = (DatabaseError, psycopg.Error, PyMongoError)
# How long `retry` holds each document's queue record while it re-applies it.
MANUAL_RETRY_LEASE_SECONDS = 60

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> dt.timedelta:
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise CommandError(f"invalid duration {text!r}: use a positive number with s, m, h or d (e.g. 30d)")
    return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def parse_since(text: str) -> dt.datetime:
    """An ISO-8601 date-time (naive is UTC) or an age such as 24h (that long ago)."""
    if _DURATION.match(text.strip()):
        return dt.datetime.now(dt.UTC) - parse_duration(text)
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(
            f"invalid --since {text[:40]!r}: use an ISO-8601 date-time or an age such as 24h",
            returncode=MISTAKE,
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _raw(wrapper: OutputWrapper) -> TextIO:
    """The stream under Django's OutputWrapper: a progress bar's redraws must not end in the
    newline the wrapper adds to every write."""
    # OutputWrapper keeps the stream in `_out`; django-stubs does not declare it (its __getattr__
    # answers Callable).
    return wrapper._out  # type: ignore[return-value]


def _json_default(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


class Command(BaseCommand):
    help = "Dual-write operations: worker, retry, cleanup, backfill, verify, status."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(
            dest="action", required=True, metavar="{worker,retry,cleanup,backfill,verify,status}"
        )
        worker = sub.add_parser("worker", help="re-apply recorded failures until stopped")
        worker.add_argument("--once", action="store_true", help="drain what is due, then exit")
        worker.add_argument("--poll-interval", type=float, default=1.0)
        retry = sub.add_parser("retry", help="re-apply failed writes now")
        which = retry.add_mutually_exclusive_group(required=True)
        which.add_argument("--all", action="store_true", help="every unresolved record")
        which.add_argument("--collection", help="unresolved records of one collection")
        which.add_argument("--id", dest="mongo_id", help="one document (with --in)")
        retry.add_argument("--in", dest="in_collection", help="collection of --id")
        cleanup = sub.add_parser(
            "cleanup", help="purge old operations records now (what the worker purges every interval)"
        )
        cleanup.add_argument("--older-than", help="age such as 30d, 12h (default: DUAL_WRITE_RETENTION_DAYS)")
        backfill = sub.add_parser("backfill", help="copy existing MongoDB documents into Postgres")
        backfill.add_argument("--collection", help="one collection (default: all)")
        backfill.add_argument(
            "--batch-size", type=int, default=5000, help="documents per batch (default 5000)"
        )
        backfill.add_argument("--shard", default="0/1", help="i/N: this run's share of the _id range")
        backfill.add_argument("--restart", action="store_true", help="ignore a saved position")
        verify = sub.add_parser("verify", help="compare MongoDB with Postgres; exit 1 on drift")
        verify.add_argument("--collection", help="one collection (default: all)")
        verify.add_argument("--repair", action="store_true", help="mend from MongoDB, then verify again")
        verify.add_argument("--since", help="only documents created since (ISO date-time or age, e.g. 24h)")
        verify.add_argument("--json", action="store_true", help="print a machine-readable report")
        verify.add_argument(
            "--reverse", action="store_true", help="postgres_only: compare Postgres (the truth) with MongoDB"
        )
        phase = sub.add_parser(
            "phase", help="the migration phase and read sources (runtime flags): show or change them"
        )
        change = phase.add_mutually_exclusive_group()
        change.add_argument(
            "--enter", action="store_true", help="record MIGRATION_PHASE if ready (a start does)"
        )
        change.add_argument(
            "--set", dest="set_phase", choices=PHASES, help="move every process to this phase"
        )
        change.add_argument(
            "--reads", metavar="COLLECTION=SOURCE[:PERCENT]",
            help="move a collection's reads, e.g. tasks=shadow, tasks=postgres:25, tasks=mongo",
        )  # fmt: skip
        phase.add_argument(
            "--force", action="store_true", help="even when not ready (audited with the reasons)"
        )
        ready = sub.add_parser(
            "readiness", help="cut-over readiness per collection; exit 0 when all are ready"
        )
        ready.add_argument("--collection", help="one collection (default: all)")
        ready.add_argument("--json", action="store_true", help="print JSON")
        diagnose = sub.add_parser(
            "doctor", help="read the MongoDB database (read-only): what backfill will make of it"
        )
        diagnose.add_argument("--collection", help="one collection (default: all)")
        diagnose.add_argument("--json", action="store_true", help="print JSON")
        status = sub.add_parser("status", help="per collection: documents, rows, backlog, last verify")
        status.add_argument("--json", action="store_true", help="print JSON")

    def run_from_argv(self, argv: list[str]) -> None:
        """From the command line, with the in-process MongoDB stand-in, this process would see an
        empty MongoDB of its own (the data lives inside the running service): verify --repair
        would tombstone every row. Refuse; inside the service (call_command) all is well."""
        if mongodb_in_process():
            self.stderr.write(
                "error: MONGODB_URI is unset: the in-process MongoDB lives inside the running service,"
                " so this separate process would see it empty. Use the dashboard (/ops/sync) or set MONGODB_URI."
            )
            raise SystemExit(2)
        super().run_from_argv(argv)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except DualWriteError as exc:
            raise CommandError(str(exc)) from None

    # -- operations: backfill, verify, status --------------------------------------------------
    def _mappings(self, options: dict[str, Any]) -> list[CollectionMapping]:
        registry = get_registry()
        if options.get("collection"):
            try:
                return [registry.get(options["collection"])]
            except DualWriteError as exc:
                raise CommandError(str(exc), returncode=MISTAKE) from None
        return list(registry)

    def _require_stores(self, action: str) -> None:
        report = check_health()
        for name, component in report.components.items():
            if component.status != "UP":
                raise CommandError(
                    f"cannot {action}: {name} is down: {component.reason}; nothing was changed",
                    returncode=MISTAKE,
                )

    def _backfill(self, options: dict[str, Any]) -> None:
        try:
            shard = Shard.parse(options["shard"])
        except DualWriteError as exc:
            raise CommandError(str(exc), returncode=MISTAKE) from None
        if not 1 <= options["batch_size"] <= MAX_BATCH_SIZE:
            raise CommandError(f"--batch-size must be from 1 to {MAX_BATCH_SIZE}", returncode=MISTAKE)
        mappings = self._mappings(options)
        self._require_stores("backfill")
        backfiller = build_backfiller(options["batch_size"])
        for mapping in mappings:
            # The raw stream: Django's OutputWrapper would end every bar redraw with a newline.
            progress = Progress(_raw(self.stdout), f"backfill {mapping.collection} {shard}")
            try:
                report = backfiller.run(mapping, shard=shard, restart=options["restart"], progress=progress)
            except STORE_ERRORS as exc:
                raise CommandError(
                    f"backfill of {mapping.collection} stopped: {type(exc).__name__}; its position is saved,"
                    " run the same command again to resume"
                ) from None
            finally:
                progress.close()
            resumed = f", resumed after {report.resumed_after}" if report.resumed_after else ""
            self.stdout.write(
                f"{mapping.collection} {report.shard}: {report.processed} documents, {report.written} written,"
                f" {report.kept} kept (newer in Postgres), {report.rejected} rejected"
                f" ({report.duplicates} duplicates: not mirrored, the oldest of each key is)"
                f" in {report.seconds:.1f} s{resumed}"
            )

    def _verify(self, options: dict[str, Any]) -> None:
        if options["reverse"]:
            self._verify_reverse(options)
            return
        since = parse_since(options["since"]) if options["since"] else None
        mappings = self._mappings(options)
        self._require_stores("verify")
        verifier = build_verifier()
        reports = []
        for mapping in mappings:
            stream = self.stderr if options["json"] else self.stdout  # --json: stdout holds only JSON
            progress = Progress(_raw(stream), f"verify {mapping.collection}")
            try:
                report = verifier.run(mapping, since=since, repair=options["repair"], progress=progress)
            except STORE_ERRORS as exc:
                raise CommandError(f"verify of {mapping.collection} stopped: {type(exc).__name__}") from None
            finally:
                progress.close()
            reports.append(report)
            if not options["json"]:
                self._print_verify(report)
        drifting = [r.collection for r in reports if not r.equal]
        if options["json"]:
            body = {"equal": not drifting, "collections": [r.as_dict() for r in reports]}
            self.stdout.write(json.dumps(body, default=_json_default, indent=2))
        if drifting:
            raise CommandError(f"drift in {len(drifting)} collection(s): {', '.join(drifting)}", returncode=1)

    def _verify_reverse(self, options: dict[str, Any]) -> None:
        if not reverse_mirroring():
            raise CommandError(
                "verify --reverse needs MIGRATION_PHASE=postgres_only with MongoDB not retired",
                returncode=MISTAKE,
            )
        mappings = self._mappings(options)
        self._require_stores("verify")
        diffs = []
        for mapping in mappings:
            try:
                diff = reverse_verify(mapping, repair=options["repair"])
            except STORE_ERRORS as exc:
                raise CommandError(
                    f"reverse verify of {mapping.collection} stopped: {type(exc).__name__}"
                ) from None
            diffs.append(diff)
            verdict = (
                "equal"
                if not diff.drift
                else (
                    f"DRIFT {diff.drift} (missing {len(diff.missing)}, extra {len(diff.extra)},"
                    f" differing {len(diff.differing)})"
                )
            )
            repaired = (
                f"; repaired {diff.repaired} (the worker writes them back)" if options["repair"] else ""
            )
            self.stdout.write(f"{mapping.collection}: {diff.checked} checked: {verdict}{repaired}")
        drifting = [d.collection for d in diffs if d.drift and not options["repair"]]
        if drifting:
            raise CommandError(f"drift in {len(drifting)} collection(s): {', '.join(drifting)}", returncode=1)

    def _phase(self, options: dict[str, Any]) -> None:
        actor = f"cli:{getpass.getuser()}"
        try:
            if options["reads"]:
                self._reads(options["reads"], actor, options["force"])
                return
            if options["set_phase"]:
                change = phase_service.change_phase(options["set_phase"], actor=actor, force=options["force"])
                done = "entered" if change.changes else "already in"
                self.stdout.write(f"{done} {change.target} (every process follows within a few seconds)")
                return
            change = (
                phase_service.enter(force=options["force"]) if options["enter"] else phase_service.check()
            )
        except PhaseNotReady as exc:
            raise CommandError(str(exc), returncode=1) from None
        except InvalidFlag as exc:
            raise CommandError(str(exc), returncode=MISTAKE) from None
        verb = "entered" if options["enter"] and change.changes else "requested"
        self.stdout.write(f"recorded: {change.recorded or 'none'}; {verb}: {change.target}")
        routes = {m.collection: str(runtime_flags.read_route(m.collection)) for m in get_registry()}
        moved = ", ".join(f"{name}={route}" for name, route in routes.items() if route != "mongo")
        self.stdout.write(f"reads (in read_migration): {moved or 'all from mongo'}")
        if change.changes and not options["enter"]:
            self.stdout.write("ready" if change.ready else "NOT READY: " + "; ".join(change.reasons))
            if not change.ready:
                raise CommandError("not ready for the requested phase", returncode=1)

    def _reads(self, text: str, actor: str, force: bool) -> None:
        collection, sep, rest = text.partition("=")
        source, _, percent = rest.partition(":")
        if not sep:
            raise InvalidFlag("--reads expects COLLECTION=SOURCE[:PERCENT], e.g. tasks=shadow")
        route = flag_service.parse_route(source.strip(), percent.strip() or None)
        changed = flag_service.set_read_route(collection.strip(), route, actor=actor, force=force)
        state = "now" if changed else "already"
        self.stdout.write(
            f"{collection.strip()} reads: {state} {route} (in read_migration; phase: {current_phase()})"
        )

    def _readiness(self, options: dict[str, Any]) -> None:
        names = [m.collection for m in self._mappings(options)]
        report = readiness.build_report(names)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self.stdout.write(f"phase: {report.phase}")
            for item in report.collections:
                self.stdout.write(
                    f"{item.collection}: {'READY' if item.ready else 'not ready'} (reads: {item.route})"
                )
                for check in item.checks.values():
                    self.stdout.write(f"  {'ok ' if check.ok else 'NO '} {check.name}: {check.detail}")
        if not report.ready:
            waiting = [c.collection for c in report.collections if not c.ready]
            raise CommandError(f"not ready: {', '.join(waiting)}", returncode=1)

    def _print_verify(self, report: Any) -> None:
        head = f"{report.collection}: {report.documents} documents, {report.rows} rows"
        if report.found_before_repair is not None:
            found = sum(report.found_before_repair.values())
            head += f"; repair: {found} found, {report.repaired} mended"
        if report.equal:
            self.stdout.write(f"{head}: equal")
            return
        counts = ", ".join(f"{kind} {n}" for kind, n in report.counts.items() if n)
        fields = ", ".join(report.fields)
        self.stdout.write(
            f"{head}: DRIFT {report.drift} ({counts})" + (f"; fields: {fields}" if fields else "")
        )
        for drift in report.samples[:10]:
            named = f" [{', '.join(drift.fields)}]" if drift.fields else ""
            self.stdout.write(f"  {drift.kind} {drift.mongo_id}{named}")

    def _doctor(self, options: dict[str, Any]) -> None:
        names = [m.collection for m in self._mappings(options)]
        try:
            found = doctor.diagnose(names)
        except doctor.DoctorError as exc:
            raise CommandError(f"doctor: {exc}", returncode=MISTAKE) from None
        if options["json"]:
            self.stdout.write(json.dumps(found.as_dict(), indent=2))
        else:
            for line in doctor_lines(found):
                self.stdout.write(line)
        if not found.ok:
            raise CommandError(f"backfill blocked: {'; '.join(found.blocking)}", returncode=1)

    def _status(self, options: dict[str, Any]) -> None:
        self._require_stores("read the status")
        try:
            rows = [s.as_dict() for s in build_status().collections()]
        except STORE_ERRORS as exc:
            raise CommandError(f"status unavailable: {type(exc).__name__}") from None
        if options["json"]:
            self.stdout.write(json.dumps(rows, default=_json_default, indent=2))
            return
        header = (
            "collection",
            "documents",
            "rows",
            "tombstones",
            "pending",
            "failed",
            "oldest pending",
            "unmirrored",
            "last verify",
        )
        lines = [header]
        for row in rows:
            age = row["oldest_pending_age_seconds"]
            verify = row["last_verify"]
            verdict = (
                "never" if verify is None else ("equal" if verify["equal"] else f"drift {verify['drift']}")
            )
            if verify is not None and verify.get("finished_at"):
                verdict += f" at {verify['finished_at']:%Y-%m-%d %H:%M}"
            lines.append((
                row["collection"], str(row["documents"]), str(row["rows"]), str(row["tombstones"]),
                str(row["pending"]), str(row["failed"]), "-" if age is None else f"{age:.0f} s",
                str(row["unmirrored"]), verdict,
            ))  # fmt: skip
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        for line in lines:
            self.stdout.write(
                "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
            )

    def _worker(self, options: dict[str, Any]) -> None:
        if options["once"]:
            self._worker_once()
            return
        if mongodb_retired():
            raise CommandError("MongoDB is retired: nothing is written back to it", returncode=MISTAKE)
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        worker = BackgroundWorker()
        self.stdout.write(
            f"background worker {worker.owner} running in {current_phase()} (it follows the phase); Ctrl-C to stop"
        )
        history_stop = history_sampler().start()
        try:
            worker.run(stop, poll_interval=options["poll_interval"])
        finally:
            history_stop.set()

    def _worker_once(self) -> None:
        if current_phase() != POSTGRES_ONLY:
            report = build_worker().run_once(limit=1_000_000, sweep=True)
            self.stdout.write(
                f"applied {report.succeeded}, failed {report.failed}, postponed {report.postponed},"
                f" swept {report.swept}, mended {report.mended}"
            )
            return
        if mongodb_retired():
            raise CommandError("MongoDB is retired: nothing is written back to it", returncode=MISTAKE)
        pushed = build_reverse_mirror().drain()
        self.stdout.write(f"written back {pushed.pushed}, postponed {pushed.failed}")

    def _retry(self, options: dict[str, Any]) -> None:
        engine = dual_write_engine()
        if options["mongo_id"]:
            if not options["in_collection"]:
                raise CommandError("--id needs --in COLLECTION")
            target = (
                engine.registry.get(options["in_collection"]).collection,
                normalise_mongo_id(options["mongo_id"]),
            )
            outcome = engine.retry_documents([target], lease_seconds=MANUAL_RETRY_LEASE_SECONDS)
        else:
            collection = (
                engine.registry.get(options["collection"]).collection if options["collection"] else None
            )
            outcome = engine.retry_unresolved(collection=collection, lease_seconds=MANUAL_RETRY_LEASE_SECONDS)
        self.stdout.write(
            f"retried {outcome.attempted}: {outcome.applied} applied, {outcome.still_failing} still failing"
        )
        if outcome.still_failing:
            raise CommandError(f"{outcome.still_failing} document(s) still failing; see get_sync_failures()")

    def _cleanup(self, options: dict[str, Any]) -> None:
        age = parse_duration(options["older_than"]) if options["older_than"] else None
        result = purge_all(age)
        self.stdout.write(result.summary())
        if result.failed:
            raise CommandError(f"purge failed for: {', '.join(result.failed)} (see the log)")


def doctor_lines(found: doctor.Diagnosis) -> list[str]:
    """The doctor's report as text: counts, field names and ids, never values."""
    lines = [f"database {found.database}"]
    for c in found.collections:
        plan = c.backfill
        absent = "" if c.exists else " (no such MongoDB collection)"
        lines.append(
            f"{c.collection} <- {c.mongo_collection}{absent}: {c.documents} documents; backfill would write"
            f" {plan['write']}, skip {plan['skip_invalid']} invalid, {plan['skip_duplicates']} duplicates"
        )
        for u in c.unmappable:
            lines.append(f"  unmappable {u.field}: {u.reason} ({u.count}; e.g. {', '.join(u.ids)})")
        for d in c.duplicates:
            if d.groups:
                examples = "; ".join(f"{e['winner']} wins over {', '.join(e['losers'])}" for e in d.examples)
                lines.append(
                    f"  duplicates by {', '.join(d.fields)}: {d.groups} groups, {d.documents} documents"
                    f" (e.g. {examples})"
                )
        for name, forms in c.id_forms.items():
            if forms["string"] and forms["objectid"]:
                lines.append(f"  id forms of {name}: {forms['string']} string, {forms['objectid']} ObjectId")
        if c.blocking:
            lines.append(f"  BLOCKING: {c.blocking}")
    if found.other_collections:
        lines.append(f"collections no mapping reads: {', '.join(found.other_collections)}")
    lines.append("backfill can proceed" if found.ok else "backfill blocked")
    return lines
