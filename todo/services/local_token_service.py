"""Tokens for local use: `manage.py issue_token --email ...` signs in a user by email, creating
the user when no user has that email."""

from __future__ import annotations

from todo.auth import tokens
from todo.models.documents import User
from todo.repositories.abstract_repository import now
from todo.repositories.errors import DuplicateKey
from todo.repositories.factory import get_repository
from todo.services.admin_bootstrap import grant_admin_if_listed


class InvalidEmail(ValueError):
    """Not something that can be a user's email address."""


def local_token(*, email: str, name: str | None = None, token_type: str = tokens.ACCESS) -> str:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254 or any(c.isspace() or c == "\x00" for c in email):
        raise InvalidEmail(f"not an email address: {email[:60]!r}")
    users = get_repository(User)
    user = users.get_by_email(email)
    if user is None:
        moment = now()
        try:
            user = users.create(
                {
                    "email_id": email,
                    "name": name or email.split("@")[0],
                    "google_id": f"local:{email}",
                    "created_at": moment,
                    "updated_at": moment,
                }
            )
        except DuplicateKey:  # a concurrent request made this local user first
            user = users.get_by_google_id(f"local:{email}")
            if user is None:
                raise
    grant_admin_if_listed(user)
    return tokens.issue(user.id, token_type, version=user.token_version)
