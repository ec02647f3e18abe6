"""Scenario 4: the operator's commands (`dualwrite status|verify|retry|backfill`), each a separate
process, against the stores of a running web process: status counts its documents, verify finds
drift made directly in Postgres, retry and verify --repair mend it, backfill is safe meanwhile."""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.crossprocess.conftest import figures, mongo, verify
from tests.crossprocess.processes import Deployment

pytestmark = pytest.mark.crossprocess

TASKS = 8


def test_operator_commands_as_processes_see_the_running_services_data(deployment: Deployment) -> None:
    started = time.monotonic()
    web = deployment.start_web("web")
    token = deployment.issue_token("ops@example.com")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    ids = []
    for number in range(TASKS):
        answer = session.post(f"{web.base_url}/v1/tasks", json={"title": f"ops-{number}"}, timeout=30)
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["data"]["id"])

    status = deployment.run("dualwrite", "status", "--json")
    assert status.returncode == 0, status.stderr
    tasks_row = next(r for r in json.loads(status.stdout) if r["collection"] == "tasks")
    assert (tasks_row["documents"], tasks_row["rows"]) == (TASKS, TASKS)
    assert verify(deployment).drift == 0

    tampered, removed, stale = ids[0], ids[1], ids[2]
    with deployment.postgres.connect(deployment.name) as conn:
        conn.execute("UPDATE postgres_tasks SET title = 'tampered' WHERE mongo_id = %s", [tampered])
        conn.execute("UPDATE postgres_tasks SET priority = 1, title = 'old' WHERE mongo_id = %s", [stale])
        conn.execute("DELETE FROM postgres_tasks WHERE mongo_id = %s", [removed])
    found = verify(deployment)
    assert found.result.returncode == 1
    assert found.by_collection == {"tasks": 3}, found.result.stdout[-2000:]

    retried = deployment.run("dualwrite", "retry", "--id", tampered, "--in", "tasks")
    assert retried.returncode == 0, retried.stderr
    after_retry = verify(deployment)
    assert after_retry.by_collection == {"tasks": 2}
    repaired = deployment.run("dualwrite", "verify", "--repair")
    assert repaired.returncode == 0, repaired.stdout[-2000:]
    backfill = deployment.run("dualwrite", "backfill", "--collection", "tasks", "--restart")
    assert backfill.returncode == 0, backfill.stderr[-2000:]
    final = verify(deployment)
    with deployment.postgres.connect(deployment.name) as conn:
        titles = dict(
            conn.execute("SELECT mongo_id, title FROM postgres_tasks WHERE mongo_id = ANY(%s)", [ids])
        )
    held = {str(d["_id"]): d["title"] for d in mongo(deployment)["tasks"].find({}, {"title": 1})}
    figures(
        "4 commands",
        processes="1 web + status/verify x5/retry/verify --repair/backfill",
        documents=tasks_row["documents"],
        drift_introduced=found.drift,
        after_retry=after_retry.drift,
        after_repair=final.drift,
        seconds=f"{time.monotonic() - started:.1f}",
    )
    assert final.drift == 0, final.result.stdout[-2000:]
    assert titles == held
