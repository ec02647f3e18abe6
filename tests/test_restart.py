"""The embedded defaults keep their data: the real `serve` process (in-process MongoDB stand-in,
embedded PostgreSQL in its own DATA_DIR, free ports) is stopped and started twice with writes in
between, made through the HTTP API as the web client makes them; every acknowledged write is
there after each restart, a verify of every collection (a dashboard job, run inside the service,
which holds the stand-in) finds both stores equal, and `serve --fresh` starts from empty stores."""

from __future__ import annotations

import http.cookiejar
import json
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.test_serve import ROOT, _call, _start, _wait_healthy
from todo.mappings import get_registry

pytestmark = pytest.mark.stand_in_only(reason="the in-process mode's restarts")

ADMIN = "ada@example.com"
STAFF_PASSWORD = "restart-test-staff-password"
ENV = {"ADMIN_EMAILS": ADMIN, "DUAL_WRITE_DRAIN_SECONDS": "15"}


class Service:
    """One `serve` process over the test's DATA_DIR."""

    def __init__(self, tmp_path: Path, args: tuple[str, ...] = ()) -> None:
        self.process, self.base, self.env, self.log = _start(tmp_path, ENV, args)
        _wait_healthy(self.process, self.base, self.log)

    def output(self) -> str:
        self.log.seek(0)
        return str(self.log.read())

    def stop(self) -> str:
        """SIGTERM (as `make run`'s Ctrl-C or a supervisor): exit 0; returns the whole log."""
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(60) == 0, self.output()
        return self.output()

    def manage(self, *args: str, extra_env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env={**self.env, **(extra_env or {})},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()


def _create_task(service: Service, token: str, title: str) -> dict[str, Any]:
    code, body = _call(
        "POST", f"{service.base}/v1/tasks", token,
        {"title": title, "dueAt": "2099-01-01T00:00:00.000Z", "timezone": "UTC"},
    )  # fmt: skip
    assert code == 201, body
    return dict(body["data"])


def _create_team(service: Service, token: str, name: str) -> str:
    code, body = _call("POST", f"{service.base}/v1/team-invite-codes/generate", token, {"description": name})
    assert code == 201, body
    code, body = _call(
        "POST", f"{service.base}/v1/teams", token, {"name": name, "team_invite_code": body["code"]}
    )
    assert code == 201, body
    return str(body["team"]["id"])


class Acknowledged:
    """What the service acknowledged (2xx): the state every later start must show."""

    def __init__(self) -> None:
        self.tasks: dict[str, tuple[str, str]] = {}  # id → (title, displayId)
        self.deleted: set[str] = set()
        self.teams: dict[str, str] = {}  # id → name
        self.watched: set[str] = set()

    def write_round(self, service: Service, token: str, round_no: int) -> None:
        made = [_create_task(service, token, f"round {round_no} task {i}") for i in range(4)]
        for task in made:
            self.tasks[task["id"]] = (task["title"], task["displayId"])
        edited = made[0]["id"]
        code, body = _call(
            "PATCH", f"{service.base}/v1/tasks/{edited}", token, {"title": f"edited in {round_no}"}
        )
        assert code == 200, body
        self.tasks[edited] = (f"edited in {round_no}", self.tasks[edited][1])
        gone = made[1]["id"]
        request = urllib.request.Request(f"{service.base}/v1/tasks/{gone}", method="DELETE")
        request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 204
        self.deleted.add(gone)
        del self.tasks[gone]
        code, body = _call("POST", f"{service.base}/v1/watchlist/tasks", token, {"taskId": made[2]["id"]})
        assert code == 201, body
        self.watched.add(made[2]["id"])
        self.teams[_create_team(service, token, f"Team of round {round_no}")] = f"Team of round {round_no}"
        if self.tasks:  # a task of an earlier round changed too
            older = sorted(self.tasks)[0]
            code, body = _call("PATCH", f"{service.base}/v1/tasks/{older}", token, {"priority": "HIGH"})
            assert code == 200, body

    def check(self, service: Service, token: str) -> None:
        for task_id, (title, display_id) in self.tasks.items():
            code, body = _call("GET", f"{service.base}/v1/tasks/{task_id}", token)
            assert code == 200, (task_id, body)
            assert (body["data"]["title"], body["data"]["displayId"]) == (title, display_id)
        for task_id in self.deleted:
            code, _ = _call("GET", f"{service.base}/v1/tasks/{task_id}", token)
            assert code == 404, task_id
        code, body = _call("GET", f"{service.base}/v1/teams", token)
        assert code == 200
        assert {t["id"]: t["name"] for t in body["teams"]} == self.teams
        code, body = _call("GET", f"{service.base}/v1/watchlist/tasks", token)
        assert code == 200
        assert {t["taskId"] for t in body["tasks"]} == self.watched


def _verify_every_collection(service: Service) -> list[dict[str, Any]]:
    """As staff: start a verify of every collection on the dashboard and wait for the jobs."""
    service.manage(
        "createsuperuser", "--noinput", "--username", "staff", "--email", "staff@example.com",
        extra_env={"DJANGO_SUPERUSER_PASSWORD": STAFF_PASSWORD},
    )  # fmt: skip
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def csrf() -> str:
        return next(c.value for c in jar if c.name == "csrftoken")

    def post(path: str, fields: dict[str, str]) -> None:
        data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": csrf()}).encode()
        request = urllib.request.Request(f"{service.base}{path}", data=data, method="POST")
        request.add_header("Referer", f"{service.base}{path}")
        with opener.open(request, timeout=30) as response:
            assert response.status == 200

    opener.open(f"{service.base}/admin/login/", timeout=30).read()
    post(
        "/admin/login/?next=/ops/sync", {"username": "staff", "password": STAFF_PASSWORD, "next": "/ops/sync"}
    )
    post("/ops/jobs", {"kind": "verify", "collection": "__all__"})
    deadline = time.monotonic() + 120
    while True:
        with opener.open(f"{service.base}/ops/jobs.json", timeout=30) as response:
            jobs = json.loads(response.read())
        if jobs["jobs"] and not jobs["active"]:
            return list(jobs["jobs"])
        assert time.monotonic() < deadline, jobs
        time.sleep(0.5)


def test_two_restarts_keep_every_acknowledged_write_and_the_stores_verify_equal(tmp_path: Path) -> None:
    acknowledged = Acknowledged()
    first = Service(tmp_path)
    try:
        token = first.manage("issue_token", "--email", ADMIN, "--url", first.base)
        acknowledged.write_round(first, token, 1)
        acknowledged.check(first, token)
    finally:
        log = first.stop()
    assert "Stop: retry queue drained" in log and "nothing left" in log, log

    second = Service(tmp_path)
    try:
        assert re.search(r"rebuilt from the PostgreSQL mirror, \d+ documents", second.output())
        acknowledged.check(second, token)  # the same token: keys and the user's session are kept
        acknowledged.write_round(second, token, 2)
        acknowledged.check(second, token)
    finally:
        second.stop()

    third = Service(tmp_path)
    try:
        acknowledged.check(third, token)
        numbers = sorted(int(display[1:]) for _, display in acknowledged.tasks.values())
        newest = _create_task(third, token, "after two restarts")
        assert int(newest["displayId"][1:]) == 9  # 8 made before (2 deleted): none handed out twice
        assert numbers[-1] == 8
        jobs = _verify_every_collection(third)
        assert {job["collection"] for job in jobs} == set(get_registry().collections)
        assert {job["collection"]: job["summary"] for job in jobs} == {
            name: "equal" for name in get_registry().collections
        }
    finally:
        third.stop()

    fresh = Service(tmp_path, ("--fresh",))
    try:
        assert "every PostgreSQL table emptied" in fresh.output()
        assert "rebuilt from the PostgreSQL mirror, 0 documents" in fresh.output()
        code, _ = _call("GET", f"{fresh.base}/v1/tasks/{sorted(acknowledged.tasks)[0]}", token)
        assert code == 401  # the user is gone with everything else
        new_token = fresh.manage("issue_token", "--email", ADMIN, "--url", fresh.base)
        code, _ = _call("GET", f"{fresh.base}/v1/tasks/{sorted(acknowledged.tasks)[0]}", new_token)
        assert code == 404
    finally:
        fresh.stop()
