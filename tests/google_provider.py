"""A local stand-in for Google's sign-in endpoints, so that the whole sign-in flow runs in tests:
the consent page (`/auth`, which consents at once and sends the browser back to the callback with
a code), the token exchange (`/token`) and the user info (`/userinfo`)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

GOOD_CODE = "good-code"


class StandInGoogle(BaseHTTPRequestHandler):
    identity: dict[str, Any] = {}

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        ok = form.get("code") == [GOOD_CODE] and form.get("grant_type") == ["authorization_code"]
        self._json(200, {"access_token": "provider-token"} if ok else {"error": "invalid_grant"})

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/auth":  # the consent page: consent at once, back to the callback
            query = parse_qs(url.query)
            back = {"code": GOOD_CODE, "state": query["state"][0]}
            self.send_response(302)
            self.send_header("Location", f"{query['redirect_uri'][0]}?{urlencode(back)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.headers.get("Authorization") == "Bearer provider-token":
            self._json(200, self.identity)
        else:
            self._json(401, {"error": "unauthorized"})

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def stand_in_google(settings: Any, identity: dict[str, Any]) -> Iterator[type[StandInGoogle]]:
    """Serve the stand-in and point the GOOGLE_* settings at it for the duration."""
    handler = type("Google", (StandInGoogle,), {"identity": dict(identity)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    settings.GOOGLE_AUTH_URL = f"{base}/auth"
    settings.GOOGLE_TOKEN_URL, settings.GOOGLE_USERINFO_URL = f"{base}/token", f"{base}/userinfo"
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()
