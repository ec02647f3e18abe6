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


@pytest.fixture
def service(tmp_path: Path):
    http_port = _free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATA_DIR": str(tmp_path / "data"),
        "POSTGRES_PORT": str(_free_port()),
    }
    log = (tmp_path / "serve.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(http_port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process, f"http://127.0.0.1:{http_port}", tmp_path / "data", log
    if process.poll() is None:
        process.kill()
        process.wait(10)


def test_serve_starts_stores_answers_health_and_stops_its_postgres(service) -> None:
    process, base, data_dir, log = service
    deadline = time.monotonic() + 90
    status = None
    while time.monotonic() < deadline and process.poll() is None:
        try:
            status, body = _get(f"{base}/v1/health")
            break
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.3)
    assert status == 200, "service did not answer /v1/health"
    assert body["status"] == "UP"

    log.seek(0)
    banner = log.read()
    assert "EMBEDDED DATA IS NOT KEPT" in banner

    pid_file = data_dir / "postgres" / "pgdata" / "postmaster.pid"
    assert pid_file.exists()
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    assert not pid_file.exists(), "the embedded PostgreSQL outlived the service"
