"""Tried as the web client does it, in headless Chromium: a page served from its own origin signs in
through the whole Google flow (a local stand-in plays Google), then lists, creates and edits a task
through the API with `fetch(..., {credentials: "include"})`; a page of an untrusted origin cannot.

The page and the API are two origins of one site (localhost:<port> each), as in the README's local
example: the cookies are SameSite=Lax and reach the API from the page's fetch calls."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.contract.helpers import mirrored_everywhere
from tests.google_provider import stand_in_google

pytestmark = pytest.mark.django_db(transaction=True)

# The client page: a helper that makes one API call the way the web client does (JSON body with
# Content-Type only when there is a body, cookies included, no other headers).
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>client</title></head><body>
<script>
window.api = async (base, method, path, body) => {
  const init = {method, credentials: "include"};
  if (body !== undefined) {
    init.headers = {"Content-Type": "application/json"};
    init.body = JSON.stringify(body);
  }
  try {
    const response = await fetch(base + path, init);
    const text = await response.text();
    return {status: response.status, body: text ? JSON.parse(text) : null};
  } catch (error) {
    return {status: 0, error: String(error)};  // what a CORS refusal looks like to the page
  }
};
// A forged write as a hostile page can send it without a preflight (no-cors, text/plain).
window.blind = async (url, body) => {
  await fetch(url, {method: "POST", mode: "no-cors", credentials: "include",
                    headers: {"Content-Type": "text/plain"}, body: JSON.stringify(body)});
};
</script></body></html>"""


class ClientPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        data = PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def serve_pages() -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ClientPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://localhost:{server.server_port}"


@pytest.fixture
def api_server(transactional_db: Any) -> Iterator[str]:
    """The API served on localhost for this test only (pytest-django's `live_server` lives for
    the whole session, and its thread would outlive the Postgres restarts of the fault tests)."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread

    thread = LiveServerThread("localhost", StaticFilesHandler, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://localhost:{thread.port}"
    thread.terminate()


@pytest.fixture
def client_site(settings: Any) -> Iterator[str]:
    """The web client's origin, trusted by the API."""
    server, origin = serve_pages()
    settings.FRONTEND_URL = origin
    settings.CORS_ALLOWED_ORIGINS = [origin]
    settings.CSRF_TRUSTED_ORIGINS = [origin]
    yield origin
    server.shutdown()
    server.server_close()


@pytest.fixture
def hostile_site() -> Iterator[str]:
    server, origin = serve_pages()
    yield origin
    server.shutdown()
    server.server_close()


def test_a_page_of_another_origin_signs_in_lists_creates_and_edits_a_task(
    mongo_db: Any, api_server: str, settings: Any, chromium: Any, client_site: str, hostile_site: str
) -> None:
    api = api_server
    settings.GOOGLE_REDIRECT_URI = f"{api}/v1/auth/google/callback"
    identity = {
        "sub": "g-ada",
        "email": "ada@example.com",
        "email_verified": True,
        "name": "Ada Lovelace",
        "picture": "",
    }
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)

    def call(method: str, path: str, body: Any = None, on: Any = page) -> dict[str, Any]:
        return on.evaluate("([b, m, p, x]) => api(b, m, p, x ?? undefined)", [api, method, path, body])

    # Signed out: the profile call answers 401 and the page can read that (CORS on the 401).
    page.goto(f"{client_site}/")
    assert call("GET", "/v1/users?profile=true")["status"] == 401

    # Sign in as the client does: a whole-page navigation; it ends on the client's dashboard.
    with stand_in_google(settings, identity):
        page.goto(f"{api}/v1/auth/google/login")
        page.wait_for_url(f"{client_site}/dashboard?success=true")
    profile = call("GET", "/v1/users?profile=true")
    assert profile["status"] == 200, profile
    me = profile["body"]["data"]
    assert (me["name"], me["email"]) == ("Ada Lovelace", "ada@example.com")
    cookies = {c["name"]: c for c in context.cookies(api)}
    assert cookies["todo-access"]["httpOnly"] and cookies["todo-refresh"]["httpOnly"]

    # Create (the create form's flat body), list, edit.
    created = call(
        "POST",
        "/v1/tasks",
        {
            "title": "Fix login",
            "description": "",
            "priority": "LOW",
            "status": "TODO",
            "dueAt": "2099-12-20T18:30:00.000Z",
            "labels": [],
            "assignee_id": me["id"],
            "user_type": "user",
            "timezone": "Asia/Kolkata",
        },
    )
    assert created["status"] == 201, created
    task = created["body"]["data"]
    assert task["assignee"]["assignee_id"] == me["id"] and task["assignee"]["user_type"] == "user"
    listed = call("GET", "/v1/tasks")
    assert listed["status"] == 200 and [t["id"] for t in listed["body"]["tasks"]] == [task["id"]]
    edited = call(
        "PATCH", f"/v1/tasks/{task['id']}/update", {"title": "Fix login for good", "priority": "HIGH"}
    )
    assert edited["status"] == 200, edited
    assert (edited["body"]["title"], edited["body"]["priority"]) == ("Fix login for good", "HIGH")
    assert call("GET", "/v1/tasks")["body"]["tasks"][0]["title"] == "Fix login for good"
    assert mirrored_everywhere() == {}

    # A page of an untrusted origin in the same browser: its write is refused and its reads are
    # hidden from it (no CORS headers), although the browser sends the cookies.
    other = context.new_page()
    other.goto(f"{hostile_site}/")
    planted = call("POST", "/v1/tasks", {"title": "planted"}, on=other)
    assert planted["status"] == 0
    assert call("GET", "/v1/tasks", on=other)["status"] == 0
    other.evaluate("([u, b]) => blind(u, b)", [f"{api}/v1/tasks", {"title": "planted blind"}])
    titles = [t["title"] for t in call("GET", "/v1/tasks")["body"]["tasks"]]
    assert titles == ["Fix login for good"]
    assert mongo_db.get_collection("tasks").count_documents({}) == 1

    # Sign out: the cookies are gone and the session with them.
    assert call("POST", "/v1/auth/logout")["status"] == 200
    assert call("GET", "/v1/users?profile=true")["status"] == 401
    context.close()
