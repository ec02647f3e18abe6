"""`manage.py issue_token --email you@example.com [--name NAME]`: print an access token for local
use (the user is created when no user has that email).

With a real MONGODB_URI the user is looked up or created directly. With the in-process MongoDB
stand-in the data lives inside the running service, so the command asks the service
(`make run` first; --url if it is not on 127.0.0.1:8000), and starts no database itself.
`manage.py` starts none for this command (todo.db.startup): the direct path starts it here."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from todo.auth import local_secret
from todo.db.startup import start_database
from todo.phases import mongodb_in_process
from todo.services.local_token_service import InvalidEmail, local_token


class Command(BaseCommand):
    help = "Print a sign-in access token for a user (created if needed) for local use."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", default=None)
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000", help="the running service (in-process mode)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if mongodb_in_process():
            self.stdout.write(self._ask_service(options["url"], options["email"], options["name"]))
            return
        start_database()  # the user is written through the dual-write path, mirror included
        try:
            self.stdout.write(local_token(email=options["email"], name=options["name"]))
        except InvalidEmail as exc:
            raise CommandError(str(exc)) from None

    def _ask_service(self, url: str, email: str, name: str | None) -> str:
        secret = local_secret.read_secret()
        if secret is None:
            raise CommandError(
                f"no local secret in {local_secret.secret_path()}: with the in-process MongoDB, tokens come"
                " from the running service; start it with `make run`"
            )
        body = json.dumps({"email": email, **({"name": name} if name else {})}).encode()
        request = urllib.request.Request(
            f"{url.rstrip('/')}/v1/auth/local-token",
            data=body,
            headers={"Content-Type": "application/json", local_secret.HEADER: secret},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return str(json.loads(response.read())["token"])
        except urllib.error.HTTPError as exc:
            detail = json.loads(exc.read() or b"{}").get("message", exc.reason)
            raise CommandError(f"the service refused: {detail}") from None
        except (urllib.error.URLError, OSError):
            raise CommandError(
                f"no service at {url}: with the in-process MongoDB, tokens come from the running service;"
                " start it with `make run`"
            ) from None
