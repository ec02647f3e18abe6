"""A local stand-in for Google's sign-in endpoints, so that the whole sign-in flow runs in tests:
the consent page (`/auth`, which consents at once and sends the browser back to the callback with
a code), the token exchange (`/token`) and the user info (`/userinfo`)."""

from __future__ import annotations

import hashlib
import http.client
import json
import threading
from base64 import urlsafe_b64encode
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

GOOD_CODE = "good-code"


class StandInGoogle(BaseHTTPRequestHandler):
    """Like Google, the token endpoint insists on PKCE: the code's verifier must hash to the
    challenge the consent page received (S256)."""

    identity: dict[str, Any] = {}
    challenges: list[str] = []  # code challenges the consent page saw (the code stands for them)

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        verifier = (form.get("code_verifier") or [""])[0]
        challenge = urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        ok = (
            form.get("code") == [GOOD_CODE]
            and form.get("grant_type") == ["authorization_code"]
            and challenge in self.challenges
        )
        if ok:
            self._json(200, {"access_token": "provider-token", "token_type": "Bearer", "expires_in": 3600})
        else:
            self._json(400, {"error": "invalid_grant"})

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/auth":  # the consent page: consent at once, back to the callback
            query = parse_qs(url.query)
            assert query.get("code_challenge_method") == ["S256"], "sign-in without PKCE"
            self.challenges.append(query["code_challenge"][0])
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
    handler = type("Google", (StandInGoogle,), {"identity": dict(identity), "challenges": []})
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


def consent(location: str) -> dict[str, str]:
    """What a browser does at the consent page the login redirected to: returns the query the
    stand-in sends the browser back to the callback with ({"code", "state"})."""
    target = urlsplit(location)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=5)
    try:
        connection.request("GET", f"{target.path}?{target.query}")
        back = connection.getresponse().getheader("Location") or ""
    finally:
        connection.close()
    return {key: values[0] for key, values in parse_qs(urlsplit(back).query).items()}
