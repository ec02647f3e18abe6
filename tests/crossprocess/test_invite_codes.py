"""Scenario 5: one team-creation invite code sent by concurrent requests to two web processes:
exactly one team is created per code (the code is consumed by one conditional update in MongoDB,
not under a lock of one process), and both stores agree afterwards."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.crossprocess.conftest import figures, mongo, verify, wait_drained
from tests.crossprocess.processes import Deployment

pytestmark = pytest.mark.crossprocess

CODES = 3
REQUESTS_PER_CODE = 6  # half to each web process, released together


def _create_team(base_url: str, token: str, code: str, start: threading.Barrier) -> int:
    start.wait(30)
    answer = requests.post(
        f"{base_url}/v1/teams",
        json={"name": f"team-{code}", "team_invite_code": code},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    return answer.status_code


def test_one_invite_code_sent_to_two_web_processes_creates_exactly_one_team(deployment: Deployment) -> None:
    started = time.monotonic()
    deployment.extra_env["ADMIN_EMAILS"] = "admin@example.com"
    web = [deployment.start_web("web-a"), deployment.start_web("web-b")]
    admin = deployment.issue_token("admin@example.com")
    tokens = [deployment.issue_token(f"founder{i}@example.com") for i in range(REQUESTS_PER_CODE)]
    statuses: dict[str, list[int]] = {}
    for _ in range(CODES):
        made = requests.post(
            f"{web[0].base_url}/v1/team-invite-codes/generate",
            json={"description": "race"},
            headers={"Authorization": f"Bearer {admin}"},
            timeout=30,
        )
        assert made.status_code == 201, made.text
        code = made.json()["code"]
        start = threading.Barrier(REQUESTS_PER_CODE)
        with ThreadPoolExecutor(REQUESTS_PER_CODE) as pool:
            futures = [
                pool.submit(_create_team, web[i % 2].base_url or "", tokens[i], code, start)
                for i in range(REQUESTS_PER_CODE)
            ]
            statuses[code] = sorted(f.result() for f in futures)
    db = mongo(deployment)
    teams = {code: db["teams"].count_documents({"name": f"team-{code}"}) for code in statuses}
    owners = db["user_roles"].count_documents({"role_name": "owner"})
    wait_drained(db)
    verdict = verify(deployment)
    figures(
        "5 invite code",
        processes="2 web + verify",
        requests=CODES * REQUESTS_PER_CODE,
        created=sum(s.count(201) for s in statuses.values()),
        refused=sum(s.count(400) for s in statuses.values()),
        teams=sum(teams.values()),
        drift=verdict.drift,
        seconds=f"{time.monotonic() - started:.1f}",
    )
    for code, answers in statuses.items():
        assert answers == [201] + [400] * (REQUESTS_PER_CODE - 1), (code, answers)
    assert teams == dict.fromkeys(statuses, 1)
    assert owners == CODES  # one owner grant per team, none of a lost race
    assert verdict.drift == 0, verdict.result.stdout[-3000:]
