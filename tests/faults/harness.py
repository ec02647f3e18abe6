"""Concurrent HTTP clients for the fault suite: each client signs in over the real API, then
creates, changes, deletes and reads its own tasks, and every request's outcome is recorded.

An acknowledged write is a 2xx answer; the client keeps, per task, the state its last acknowledged
write left (title, priority, status, deleted), so that after the fault the suite can check that no
acknowledged write was lost. A task whose latest write attempt was not acknowledged is "dirty": its
state is what the last acknowledged write left only if the failed write left no trace.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

PRIORITIES = ("HIGH", "MEDIUM", "LOW")
STATUSES = ("TODO", "IN_PROGRESS", "BLOCKED", "DONE")
REQUEST_TIMEOUT = 30.0


@dataclass(frozen=True)
class Outcome:
    client: int
    kind: str  # create, update, delete, read, list
    status: int  # HTTP status; 0 when no answer came
    started: float  # time.monotonic() when sent
    seconds: float
    task_id: str | None = None
    content_type: str = ""
    body: Any = None  # the JSON answer of a failed request (None when not JSON)
    error: str | None = None  # transport error

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def write(self) -> bool:
        return self.kind in ("create", "update", "delete")


@dataclass
class TaskState:
    """What the last acknowledged write of a task left."""

    title: str
    priority: str
    status: str
    deleted: bool = False


@dataclass
class Client:
    index: int
    token: str
    tasks: dict[str, TaskState] = field(default_factory=dict)  # acknowledged state per task
    dirty: set[str] = field(default_factory=set)  # latest write attempt not acknowledged
    failed_creates: list[str] = field(default_factory=list)  # titles of creates not acknowledged


def sign_in(base_url: str, email: str) -> str:
    """An access token from the local sign-in, with the service's local secret (creates the user when new)."""
    from todo.auth import local_secret

    answer = requests.post(
        f"{base_url}/v1/auth/local-token",
        json={"email": email},
        headers={local_secret.HEADER: local_secret.read_secret() or ""},
        timeout=REQUEST_TIMEOUT,
    )
    answer.raise_for_status()
    return str(answer.json()["token"])


class Fleet:
    """N clients, each a thread with its own HTTP session, doing `operations` requests each."""

    def __init__(self, base_url: str, tokens: list[str], *, operations: int, seed: int = 0) -> None:
        self.base_url = base_url
        self.clients = [Client(i, token) for i, token in enumerate(tokens)]
        self.operations = operations
        self.seed = seed
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.stop = threading.Event()

    # -- running -------------------------------------------------------------------------------
    def start(self) -> Fleet:
        for client in self.clients:
            thread = threading.Thread(target=self._run, args=(client,), name=f"client-{client.index}")
            thread.start()
            self._threads.append(thread)
        return self

    def join(self, timeout: float = 120.0) -> None:
        stop_at = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, stop_at - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            self.stop.set()
            raise AssertionError(f"clients still running after {timeout} s: {alive}")

    def run(self, timeout: float = 120.0) -> Fleet:
        self.start().join(timeout)
        return self

    def wait_for(self, completed: int, timeout: float = 60.0) -> None:
        """Block until `completed` requests have been answered (or all clients ended)."""
        stop_at = time.monotonic() + timeout
        while len(self.outcomes) < completed and any(t.is_alive() for t in self._threads):
            if time.monotonic() > stop_at:
                raise AssertionError(f"only {len(self.outcomes)} of {completed} requests in {timeout} s")
            time.sleep(0.01)

    @property
    def total(self) -> int:
        return self.operations * len(self.clients)

    def _run(self, client: Client) -> None:
        rng = random.Random(self.seed * 1000 + client.index)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {client.token}"
        for number in range(self.operations):
            if self.stop.is_set():
                return
            live = [i for i, s in client.tasks.items() if not s.deleted]
            draw = rng.random()
            if not live or draw < 0.30:
                self._create(session, client, rng, number)
            elif draw < 0.60:
                self._update(session, client, rng, rng.choice(live), number)
            elif draw < 0.67:
                self._delete(session, client, rng.choice(live))
            elif draw < 0.85:
                self._send(session, client, "read", "GET", f"/v1/tasks/{rng.choice(live)}")
            else:
                self._send(session, client, "list", "GET", "/v1/tasks?limit=20")

    def _create(self, session: requests.Session, client: Client, rng: random.Random, number: int) -> None:
        state = TaskState(f"c{client.index}-{number}", rng.choice(PRIORITIES), rng.choice(STATUSES))
        body = {"title": state.title, "priority": state.priority, "status": state.status}
        outcome, data = self._send(session, client, "create", "POST", "/v1/tasks", body)
        if outcome.ok:
            client.tasks[data["data"]["id"]] = state
        else:
            client.failed_creates.append(state.title)

    def _update(
        self, session: requests.Session, client: Client, rng: random.Random, task_id: str, number: int
    ) -> None:
        state = TaskState(f"u{client.index}-{number}", rng.choice(PRIORITIES), rng.choice(STATUSES))
        body = {"title": state.title, "priority": state.priority, "status": state.status}
        outcome, _ = self._send(session, client, "update", "PATCH", f"/v1/tasks/{task_id}", body, task_id)
        if outcome.ok:
            client.tasks[task_id] = state
            client.dirty.discard(task_id)  # every field the suite checks was written again
        else:
            client.dirty.add(task_id)

    def _delete(self, session: requests.Session, client: Client, task_id: str) -> None:
        outcome, _ = self._send(session, client, "delete", "DELETE", f"/v1/tasks/{task_id}", None, task_id)
        if outcome.ok:
            client.tasks[task_id].deleted = True
            client.dirty.discard(task_id)
        else:
            client.dirty.add(task_id)

    def _send(
        self,
        session: requests.Session,
        client: Client,
        kind: str,
        method: str,
        path: str,
        body: Any = None,
        task_id: str | None = None,
    ) -> tuple[Outcome, Any]:
        started = time.monotonic()
        try:
            answer = session.request(method, f"{self.base_url}{path}", json=body, timeout=REQUEST_TIMEOUT)
        except requests.RequestException as exc:
            outcome = Outcome(client.index, kind, 0, started, time.monotonic() - started, task_id,
                              error=type(exc).__name__)  # fmt: skip
            self._note(outcome)
            return outcome, None
        seconds = time.monotonic() - started
        content_type = answer.headers.get("Content-Type", "")
        try:
            data = answer.json() if answer.content else None
        except ValueError:
            data = None
        ok = 200 <= answer.status_code < 300
        outcome = Outcome(client.index, kind, answer.status_code, started, seconds, task_id, content_type,
                          None if ok else (data if data is not None else answer.text[:200]))  # fmt: skip
        self._note(outcome)
        return outcome, data

    def _note(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes.append(outcome)

    # -- results -------------------------------------------------------------------------------
    def acknowledged(self) -> dict[str, TaskState]:
        """Every task with an acknowledged write, and the state its last one left."""
        return {task_id: state for c in self.clients for task_id, state in c.tasks.items()}

    def dirty(self) -> set[str]:
        return {task_id for c in self.clients for task_id in c.dirty}

    def failed_creates(self) -> list[str]:
        return [title for c in self.clients for title in c.failed_creates]

    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    def writes(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.write]

    def summary(self, label: str, outcomes: list[Outcome] | None = None) -> str:
        chosen = self.outcomes if outcomes is None else outcomes
        latencies = sorted(o.seconds for o in chosen) or [0.0]
        writes = [o for o in chosen if o.write and o.ok]
        return (
            f"[{label}] clients={len(self.clients)} requests={len(chosen)} acknowledged writes={len(writes)}"
            f" failed={sum(not o.ok for o in chosen)} p50={statistics.median(latencies) * 1000:.0f} ms"
            f" p99={percentile(latencies, 0.99) * 1000:.0f} ms max={latencies[-1] * 1000:.0f} ms"
        )


def percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
