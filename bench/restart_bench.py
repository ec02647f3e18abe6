"""Start-up time of `manage.py serve` with the embedded defaults, empty and with N tasks in the mirror.

Run: `.venv/bin/python bench/restart_bench.py [--tasks 10000] [--starts 3]`

Everything lives in a temporary DATA_DIR with free ports (never the service's `.data` or port
8000/54329). Steps:
1. one start on an empty data folder (the baseline), stopped with SIGTERM;
2. a filler process (this script with `--fill N`, Django set up on the same DATA_DIR) writes N task
   documents and their user into the mirror through the mapping and the sink (`document_to_rows`,
   `PostgresSink.upsert`: the rows a live dual write leaves), then stops its PostgreSQL;
3. `--starts` starts of `serve`: each timed from the spawn to the first 200 of /v1/health (the
   service takes requests only after the stand-in is rebuilt), with the rebuild's own time as
   `serve` prints it, then a SIGTERM stop (timed too).
The load average (`os.getloadavg()`) is printed before and after: the figures are wall-clock
times on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REBUILT = re.compile(r"rebuilt from the PostgreSQL mirror, (\d+) documents in ([\d.]+) s")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "DATA_DIR": str(data_dir), "POSTGRES_PORT": str(free_port()), "LOG_LEVEL": "WARNING"}
    for name in ("MONGODB_URI", "POSTGRES_HOST", "DJANGO_SETTINGS_MODULE", "MONGODB_RETIRED"):
        env.pop(name, None)  # the embedded defaults
    return env


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/v1/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def timed_start(data_dir: Path, log_name: str) -> tuple[float, float | None, int | None, float]:
    """(seconds to the first healthy answer, rebuild seconds, documents rebuilt, stop seconds)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = data_dir.parent / log_name
    with log_path.open("w+") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port)],
            cwd=ROOT, env=_env(data_dir), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            while not _healthy(url):
                if process.poll() is not None:
                    raise SystemExit(f"serve exited ({process.returncode}); see {log_path}")
                if time.perf_counter() - started > 600:
                    raise SystemExit(f"serve did not answer within 600 s; see {log_path}")
                time.sleep(0.05)
            ready = time.perf_counter() - started
        finally:
            stopping = time.perf_counter()
            process.send_signal(signal.SIGTERM)
            process.wait(120)
            stopped = time.perf_counter() - stopping
        log.seek(0)
        found = REBUILT.search(log.read())
    if found is None:
        return ready, None, None, stopped
    return ready, float(found.group(2)), int(found.group(1)), stopped


def fill(count: int) -> None:
    """In this process: write `count` tasks (and their creator) into the mirror of DATA_DIR."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
    sys.path.insert(0, str(ROOT))  # run as a script from bench/: the project's packages
    import django

    django.setup()
    from todo.db.startup import start_database

    start_database()  # django.setup() starts no database server
    import datetime as dt

    from bson import ObjectId
    from django.core.management import call_command

    from dualwrite.sink import PostgresSink
    from dualwrite.transform import document_to_rows
    from todo.db.embedded_postgres import current_embedded_postgres
    from todo.mappings import get_registry

    call_command("migrate", interactive=False, verbosity=0)
    registry, sink = get_registry(), PostgresSink()
    now = dt.datetime.now(dt.UTC)
    user = ObjectId()
    users = registry.get("users")
    sink.upsert(users, [document_to_rows(users, {
        "_id": user, "_v": 1, "_gen": ObjectId(), "google_id": "bench", "email_id": "bench@example.com",
        "name": "Bench", "created_at": now, "updated_at": now,
    })])  # fmt: skip
    tasks = registry.get("tasks")
    labels = [ObjectId() for _ in range(3)]
    batch = []
    for number in range(1, count + 1):
        batch.append(document_to_rows(tasks, {
            "_id": ObjectId(), "_v": 1 + number % 3, "_gen": ObjectId(), "displayId": f"#{number}",
            "title": f"benchmark task {number}", "description": "restart benchmark", "priority": 1 + number % 3,
            "status": "TODO", "labels": labels[: number % 4], "dueAt": now + dt.timedelta(days=30),
            "createdAt": now, "updatedAt": now, "createdBy": user, "updatedBy": user,
        }))  # fmt: skip
        if len(batch) == 2000:
            sink.upsert(tasks, batch)
            batch = []
    if batch:
        sink.upsert(tasks, batch)
    server = current_embedded_postgres()
    if server is not None:
        server.stop_if_owned()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--fill", type=int, default=None, help=argparse.SUPPRESS)  # the filler process
    args = parser.parse_args()
    if args.fill is not None:
        fill(args.fill)
        return
    print(f"cores: {os.cpu_count()}, load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="restart-bench-") as folder:
        data_dir = Path(folder) / "data"
        ready, rebuild, documents, stop = timed_start(data_dir, "serve-empty.log")
        print(
            f"empty mirror:  ready in {ready:.2f} s (rebuild {rebuild} s, {documents} documents), stop {stop:.2f} s"
        )
        started = time.perf_counter()
        env = {**_env(data_dir), "DJANGO_SETTINGS_MODULE": "todo_project.settings"}
        subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--fill", str(args.tasks)],
            cwd=ROOT, env=env, check=True,
        )  # fmt: skip
        print(f"filled the mirror with {args.tasks} tasks in {time.perf_counter() - started:.1f} s")
        for run in range(1, args.starts + 1):
            ready, rebuild, documents, stop = timed_start(data_dir, f"serve-{run}.log")
            print(
                f"start {run}: ready in {ready:.2f} s (rebuild {rebuild} s, {documents} documents),"
                f" stop {stop:.2f} s; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}"
            )
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
