"""Load benchmark of the HTTP API with dual-write ON vs OFF (issue: fault-injection and load suite).

Run: `.venv/bin/python bench/load_bench.py [--requests N] [--clients 8 32] [--threads 8]`

For each setting of DUAL_WRITE_ENABLED (true, then false) it starts the service as a subprocess
(`manage.py serve` on a free port, with DATA_DIR in a temporary folder and a free POSTGRES_PORT,
so a fresh embedded PostgreSQL of its own; MongoDB is the in-process stand-in of that service),
and for each client count runs N concurrent clients over HTTP. Each client signs in through the
loopback-only POST /v1/auth/local-token, creates a few tasks to work on (not timed), then sends its
share of `--requests` requests: 70 % reads (50 % GET /v1/tasks/{id}, 20 % GET /v1/tasks), 30 %
writes (10 % POST /v1/tasks, 20 % PATCH /v1/tasks/{id}). Prints one table: throughput, p50/p99
latency, errors, and the retry backlog GET /v1/health reports at the end (dualWrite.pending).

The clients run in this process (Python threads) on the same machine as the service: on a small
machine they compete with the service for the CPU, so absolute figures are a floor; the ON/OFF
ratio is what the benchmark is for (target: ON keeps >= 75 % of OFF's throughput, no errors).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
PRIORITIES = ("HIGH", "MEDIUM", "LOW")
STATUSES = ("TODO", "IN_PROGRESS", "BLOCKED", "DONE")
SEED_TASKS = 5


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Service:
    """`manage.py serve` in a subprocess with its own data folder and PostgreSQL port."""

    def __init__(self, *, dual_write: bool, threads: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._folder = tempfile.TemporaryDirectory(prefix="load-bench-")
        env = {
            **os.environ,
            "DATA_DIR": self._folder.name,
            "POSTGRES_PORT": str(free_port()),
            "DUAL_WRITE_ENABLED": "true" if dual_write else "false",
            "LOG_LEVEL": "WARNING",
        }
        for name in ("MONGODB_URI", "POSTGRES_HOST", "DJANGO_SETTINGS_MODULE"):
            env.pop(name, None)  # the embedded defaults: the in-process MongoDB, embedded PostgreSQL
        self._log = open(Path(self._folder.name) / "serve.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(self.port), "--threads", str(threads)],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 120.0) -> None:
        stop_at = time.monotonic() + timeout
        while time.monotonic() < stop_at:
            if self.process.poll() is not None:
                raise SystemExit(f"the service exited ({self.process.returncode}); see {self._log.name}")
            try:
                if requests.get(f"{self.url}/v1/health", timeout=2).status_code == 200:
                    # One sign-in before the concurrent ones: the service generates its token key
                    # pair lazily on first use, and concurrent first uses race (todo/auth/tokens.py).
                    warm = requests.post(
                        f"{self.url}/v1/auth/local-token",
                        json={"email": "warm@example.com"},
                        headers=self.local_headers,
                    )
                    warm.raise_for_status()
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise SystemExit(f"the service did not answer /v1/health within {timeout} s")

    @property
    def local_headers(self) -> dict[str, str]:
        """The local-token endpoint answers only with the secret the service writes at start."""
        secret = Path(self._folder.name) / "local-token.secret"
        return {"X-Local-Token-Secret": secret.read_text().strip()} if secret.exists() else {}

    def backlog(self) -> Any:
        return requests.get(f"{self.url}/v1/health", timeout=5).json().get("dualWrite", {}).get("pending")

    def stop(self) -> None:
        self.process.terminate()  # SIGTERM: serve stops its embedded PostgreSQL
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()
        log = Path(self._log.name)
        if "Traceback" in log.read_text(errors="replace"):
            kept = Path(tempfile.mkdtemp(prefix="load-bench-")) / "serve.log"
            shutil.copy(log, kept)
            print(f"the service logged an exception: its log is kept at {kept}", file=sys.stderr)
        self._folder.cleanup()


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies.append(seconds)
            if error:
                self.errors[error] = self.errors.get(error, 0) + 1


def _set_up(url: str, session: requests.Session, email: str, local_headers: dict[str, str]) -> list[str]:
    """Sign in and create the tasks this client works on (not timed)."""
    token = session.post(
        f"{url}/v1/auth/local-token", json={"email": email}, headers=local_headers, timeout=30
    )
    if not token.ok:
        raise RuntimeError(f"sign-in: {token.status_code} {token.text[:200]}")
    session.headers["Authorization"] = f"Bearer {token.json()['token']}"
    tasks = []
    for number in range(SEED_TASKS):
        created = session.post(f"{url}/v1/tasks", json={"title": f"seed {number}"}, timeout=30)
        if not created.ok:
            raise RuntimeError(f"seed task: {created.status_code} {created.text[:200]}")
        tasks.append(created.json()["data"]["id"])
    return tasks


def client(
    service: Service, index: int, requests_to_send: int, start: threading.Barrier, tally: Tally, run: str
) -> None:
    url = service.url
    rng = random.Random(index)
    session = requests.Session()
    try:
        tasks = _set_up(url, session, f"{run}-c{index}@example.com", service.local_headers)
    except Exception:
        start.abort()  # the run cannot be measured; every waiting thread is released
        raise
    start.wait()
    for number in range(requests_to_send):
        draw = rng.random()
        body = {
            "title": f"t{index}-{number}",
            "priority": rng.choice(PRIORITIES),
            "status": rng.choice(STATUSES),
        }
        if draw < 0.50:
            method, path, body = "GET", f"/v1/tasks/{rng.choice(tasks)}", None
        elif draw < 0.70:
            method, path, body = "GET", "/v1/tasks?limit=20", None
        elif draw < 0.80:
            method, path = "POST", "/v1/tasks"
        else:
            method, path = "PATCH", f"/v1/tasks/{rng.choice(tasks)}"
        started = time.perf_counter()
        try:
            answer = session.request(method, f"{url}{path}", json=body, timeout=30)
            error = None if answer.ok else f"{method} {answer.status_code}"
            if method == "POST" and answer.ok:
                tasks.append(answer.json()["data"]["id"])
        except requests.RequestException as exc:
            error = f"{method} {type(exc).__name__}"
        tally.add(time.perf_counter() - started, error)


def measure(service: Service, clients: int, total: int, run: str) -> dict[str, Any]:
    tally = Tally()
    start = threading.Barrier(clients + 1)
    per_client = total // clients
    threads = [
        threading.Thread(target=client, args=(service, i, per_client, start, tally, run))
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    ordered = sorted(tally.latencies)
    return {
        "requests": len(ordered),
        "seconds": seconds,
        "throughput": len(ordered) / seconds,
        "p50": statistics.median(ordered) * 1000,
        "p99": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))] * 1000,
        "errors": sum(tally.errors.values()),
        "error_kinds": tally.errors,
        "backlog": service.backlog(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000, help="timed requests per run (all clients)")
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--threads", type=int, default=8, help="waitress threads of the service")
    args = parser.parse_args()
    load_start = os.getloadavg()
    results: dict[tuple[int, bool], dict[str, Any]] = {}
    for dual_write in (True, False):
        service = Service(dual_write=dual_write, threads=args.threads)
        try:
            service.wait_ready()
            for clients in args.clients:
                run = f"{'on' if dual_write else 'off'}{clients}"
                results[(clients, dual_write)] = measure(service, clients, args.requests, run)
                print(f"done: {clients} clients, dual-write {'ON' if dual_write else 'OFF'}", file=sys.stderr)
        finally:
            service.stop()
    print(f"Load benchmark: {args.requests} requests per run, 70 % reads / 30 % writes, "
          f"service with {args.threads} threads, {os.cpu_count()} cores")  # fmt: skip
    load_end = os.getloadavg()
    print("load average (1/5/15 min) at start " + " ".join(f"{v:.2f}" for v in load_start)
          + ", at end " + " ".join(f"{v:.2f}" for v in load_end))  # fmt: skip
    print()
    print(
        "| clients | dual-write | req/s | p50 ms | p99 ms | errors | backlog at end | ON vs OFF throughput |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for clients in args.clients:
        for dual_write in (True, False):
            r = results[(clients, dual_write)]
            ratio = ""
            if dual_write:
                off = results[(clients, False)]["throughput"]
                ratio = (
                    f"{r['throughput'] / off * 100:.0f} % (cost {100 - r['throughput'] / off * 100:.0f} %)"
                )
            print(
                f"| {clients} | {'ON' if dual_write else 'OFF'} | {r['throughput']:.0f} | {r['p50']:.1f} |"
                f" {r['p99']:.1f} | {r['errors']} | {r['backlog']} | {ratio} |"
            )
    kinds = {k: v for r in results.values() for k, v in r["error_kinds"].items()}
    if kinds:
        print(f"\nerrors by kind: {kinds}")


if __name__ == "__main__":
    main()
