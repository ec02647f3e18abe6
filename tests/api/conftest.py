from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from todo.auth import tokens
from todo.models.documents import User
from todo.repositories.factory import get_repository


@pytest.fixture
def make_user(mongo_db: Any, settings: Any) -> Callable[..., User]:
    settings.DUAL_WRITE_RETRY_DELAY = 0

    def make(name: str = "Ada", email: str | None = None) -> User:
        email = email or f"{name.lower()}@example.com"
        return get_repository(User).create({"name": name, "email_id": email, "google_id": f"g-{email}"})

    return make


@pytest.fixture
def user(make_user: Callable[..., User]) -> User:
    return make_user()


def bearer(user: User) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {tokens.issue(user.id)}"}


@pytest.fixture
def api(user: User) -> Client:
    """A client signed in as `user` with a bearer token."""
    return Client(**bearer(user))
