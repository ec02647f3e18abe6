"""One team's work through the API only, as the client's screens drive it: the task side (create
for the team, the POC hands it to a member, the member moves it on) shows up in the team's
timeline with names, and the team's Todos tab follows the task. Checks both areas together."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.conftest import call
from tests.contract.helpers import mirrored_everywhere
from tests.contract.test_teams import create_team, timeline

pytestmark = pytest.mark.django_db(transaction=True)

TOMORROW_ISH = "2099-01-01T18:30:00.000Z"


def test_a_team_task_from_creation_to_done_in_the_timeline(signed_in: Any) -> None:
    ada, ada_api = signed_in("Ada")
    bob, bob_api = signed_in("Bob")
    team = create_team(ada_api, ada, [bob], name="Platform")  # Ada is the POC
    created = call(
        ada_api,
        "post",
        "/v1/tasks",
        {"title": "Ship the importer", "description": "", "priority": "MEDIUM", "status": "TODO",
         "dueAt": TOMORROW_ISH, "labels": [], "assignee_id": team["id"], "user_type": "team",
         "timezone": "Europe/Berlin"},
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    task = created.json()["data"]
    assert (task["assignee"]["user_type"], task["assignee"]["assignee_name"]) == ("team", "Platform")
    # The POC's own list shows team tasks of teams they are the POC of; the team tab shows it.
    assert [t["id"] for t in call(ada_api, "get", "/v1/tasks").json()["tasks"]] == [task["id"]]
    team_tab = call(bob_api, "get", f"/v1/tasks?teamId={team['id']}").json()["tasks"]
    assert [t["id"] for t in team_tab] == [task["id"]]

    handed = call(ada_api, "patch", f"/v1/task-assignments/{task['id']}", {"executor_id": bob.id})
    assert handed.status_code == 200, handed.json()
    mine = call(bob_api, "get", "/v1/tasks").json()["tasks"]
    assert [(t["id"], t["assignee"]["assignee_id"]) for t in mine] == [(task["id"], bob.id)]
    assert [t["id"] for t in call(bob_api, "get", f"/v1/tasks?teamId={team['id']}").json()["tasks"]] == [
        task["id"]
    ]

    for status in ("IN_PROGRESS", "DONE"):
        moved = call(bob_api, "patch", f"/v1/tasks/{task['id']}/update", {"status": status})
        assert moved.status_code == 200, moved.json()
    # Done: hidden by default, listed with "Include Done".
    assert call(bob_api, "get", f"/v1/tasks?teamId={team['id']}").json()["tasks"] == []
    done = call(bob_api, "get", f"/v1/tasks?teamId={team['id']}&status=DONE").json()["tasks"]
    assert [(t["id"], t["status"]) for t in done] == [(task["id"], "DONE")]

    entries = [e for e in timeline(bob_api, team["id"]) if e.get("task_title")]
    assert [e["action"] for e in entries] == [
        "status_changed", "status_changed", "reassign_executor", "assigned_to_team",
    ]  # fmt: skip
    assert all(e["task_title"] == "Ship the importer" and e["team_name"] == "Platform" for e in entries)
    assert [(e["status_from"], e["status_to"], e["performed_by_name"]) for e in entries[:2]] == [
        ("IN_PROGRESS", "DONE", "Bob"),
        ("TODO", "IN_PROGRESS", "Bob"),
    ]
    handover = entries[2]
    assert (handover["spoc_name"], handover["new_executor_name"]) == ("Ada", "Bob")
    assert entries[3]["performed_by_name"] == "Ada"
    assert mirrored_everywhere() == {}
