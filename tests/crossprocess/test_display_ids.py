"""Scenario 6: the display-id counter stays unique across processes: concurrent task creation on two
web processes hands out distinct `displayId`s."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.crossprocess.conftest import figures, mongo
from tests.crossprocess.processes import Deployment

pytestmark = pytest.mark.crossprocess

CLIENTS_PER_PROCESS = 3
CREATES_PER_CLIENT = 8


def _create_tasks(base_url: str, token: str, client: int) -> list[tuple[int, str | None]]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    answers = []
    for number in range(CREATES_PER_CLIENT):
        answer = session.post(f"{base_url}/v1/tasks", json={"title": f"d{client}-{number}"}, timeout=30)
        display_id = answer.json()["data"].get("displayId") if answer.status_code == 201 else None
        answers.append((answer.status_code, display_id))
    return answers


def test_concurrent_creates_on_two_web_processes_get_distinct_display_ids(deployment: Deployment) -> None:
    started = time.monotonic()
    web = [deployment.start_web("web-a"), deployment.start_web("web-b")]
    token = deployment.issue_token("ids@example.com")
    with ThreadPoolExecutor(2 * CLIENTS_PER_PROCESS) as pool:
        futures = [
            pool.submit(_create_tasks, web[i % 2].base_url or "", token, i)
            for i in range(2 * CLIENTS_PER_PROCESS)
        ]
        answers = [a for f in futures for a in f.result()]
    statuses = sorted({status for status, _ in answers})
    display_ids = [display_id for status, display_id in answers if status == 201]
    stored = [doc.get("displayId") for doc in mongo(deployment)["tasks"].find({}, {"displayId": 1})]
    figures(
        "6 display ids",
        processes=2,
        requests=len(answers),
        acknowledged=len(display_ids),
        distinct=len(set(display_ids)),
        stored_distinct=len(set(stored)),
        seconds=f"{time.monotonic() - started:.1f}",
    )
    assert statuses == [201]
    assert len(display_ids) == 2 * CLIENTS_PER_PROCESS * CREATES_PER_CLIENT
    assert len(set(display_ids)) == len(display_ids), "a display id was handed out twice"
    assert sorted(stored) == sorted(display_ids)
