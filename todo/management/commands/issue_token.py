"""`manage.py issue_token --email you@example.com [--name NAME]`: print an access token for local
use (the user is created when no user has that email)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from todo.auth import tokens
from todo.models.documents import User
from todo.repositories.abstract_repository import now
from todo.repositories.factory import get_repository


class Command(BaseCommand):
    help = "Print a sign-in access token for a user (created if needed) for local use."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", default=None)
        parser.add_argument("--refresh", action="store_true", help="print a refresh token instead")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip()
        if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
            raise CommandError(f"not an email address: {email[:60]!r}")
        users = get_repository(User)
        user = users.get_by_email(email)
        if user is None:
            moment = now()
            user = users.create(
                {"email_id": email, "name": options["name"] or email.split("@")[0], "google_id": f"local:{email}",
                 "created_at": moment, "updated_at": moment}
            )  # fmt: skip
        self.stdout.write(tokens.issue(user.id, tokens.REFRESH if options["refresh"] else tokens.ACCESS))
