"""The service as `make run` starts it: a separate process with its own embedded PostgreSQL."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _start(
    tmp_path: Path, extra_env: dict[str, str], args: tuple[str, ...] = ()
) -> tuple[subprocess.Popen[bytes], str, dict[str, str], Any]:
    http_port = _free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATA_DIR": str(tmp_path / "data"),
        "POSTGRES_PORT": str(_free_port()),
        **extra_env,
    }
    log = (tmp_path / "serve.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(http_port), *args],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return process, f"http://127.0.0.1:{http_port}", env, log


@pytest.fixture
def service(tmp_path: Path):
    process, base, _, log = _start(tmp_path, {})
    yield process, base, tmp_path / "data", log
    if process.poll() is None:
        process.kill()
        process.wait(10)


def _wait_healthy(process: subprocess.Popen[bytes], base: str, log: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    status, body = None, {}
    while time.monotonic() < deadline and process.poll() is None:
        try:
            status, body = _get(f"{base}/v1/health")
            break
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.3)
    log.seek(0)
    assert status == 200, log.read()
    return body


def test_serve_starts_stores_answers_health_and_stops_its_postgres(service) -> None:
    process, base, data_dir, log = service
    body = _wait_healthy(process, base, log)
    assert body["status"] == "UP"

    log.seek(0)
    banner = log.read()
    assert "KEPT across restarts" in banner
    assert "rebuilt from the PostgreSQL mirror" in banner

    pid_file = data_dir / "postgres" / "pgdata" / "postmaster.pid"
    assert pid_file.exists()
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    assert not pid_file.exists(), "the embedded PostgreSQL outlived the service"


def _call(method: str, url: str, token: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize(
    "mongodb",
    [
        # MongoDB still configured but not answering: the service serves; writes back wait.
        {"MONGODB_URI": "mongodb://127.0.0.1:9/todo?serverSelectionTimeoutMS=300"},
        # MongoDB retired: nothing connects to it.
        {"MONGODB_RETIRED": "true"},
    ],
    ids=["mongodb-down", "mongodb-retired"],
)
def test_postgres_only_serves_without_mongodb(tmp_path: Path, mongodb: dict[str, str]) -> None:
    process, base, env, log = _start(tmp_path, {"MIGRATION_PHASE": "postgres_only", **mongodb})
    try:
        body = _wait_healthy(process, base, log)
        assert body["components"]["postgres"]["status"] == "UP"
        # A user signs in (the token command writes the user to Postgres, the store of record).
        token = subprocess.run(
            [sys.executable, "manage.py", "issue_token", "--email", "ada@example.com"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
        ).stdout.strip()  # fmt: skip
        code, created = _call(
            "POST", f"{base}/v1/tasks", token,
            {"title": "made without MongoDB", "dueAt": "2099-01-01T00:00:00.000Z", "timezone": "UTC"},
        )  # fmt: skip
        assert code == 201, created
        assert created["data"]["displayId"] == "#1"
        code, found = _call("GET", f"{base}/v1/tasks/{created['data']['id']}", token)
        assert code == 200 and found["data"]["title"] == "made without MongoDB"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    # Postgres is the store of record: a restart keeps its data.
    process, base, _, log = _start(tmp_path, {"MIGRATION_PHASE": "postgres_only", **mongodb})
    try:
        _wait_healthy(process, base, log)
        code, found = _call("GET", f"{base}/v1/tasks/{created['data']['id']}", token)
        assert code == 200 and found["data"]["title"] == "made without MongoDB"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def test_slow_clients_do_not_stop_the_service(service) -> None:
    """150 connections that never finish their request (the waitress default allowed 100) leave
    the service answering; a body far above the API's limit is refused before it is read."""
    process, base, _, log = service
    _wait_healthy(process, base, log)
    port = int(base.rsplit(":", 1)[1])
    idle = []
    try:
        for _ in range(150):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never ends the headers
            idle.append(sock)
        started = time.monotonic()
        for _ in range(5):
            status, _ = _get(f"{base}/v1/health")
            assert status == 200
        assert time.monotonic() - started < 10
        big = socket.create_connection(("127.0.0.1", port), timeout=10)
        big.sendall(
            b"POST /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 104857600\r\n\r\n" + b"x" * 65536
        )
        answer = big.recv(200)
        big.close()
        assert answer.startswith(b"HTTP/1.1 413"), answer
    finally:
        for sock in idle:
            sock.close()
    process.send_signal(signal.SIGTERM)
    process.wait(30)
