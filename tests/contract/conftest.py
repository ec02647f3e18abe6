"""The web client as the API sees it (docs/frontend-contract.md): a browser page served from
another origin, signed in by the `todo-access` cookie only, sending JSON exactly as the client does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.api.conftest import make_user, user  # noqa: F401  (fixtures shared with the API tests)
from todo.auth import tokens
from todo.models.documents import User

CLIENT_ORIGIN = "http://app.todo.test"


def browser(person: User | None = None, origin: str = CLIENT_ORIGIN) -> Client:
    """A client that behaves like the browser running the web client: every request carries the
    page's `Origin`; when `person` is given it is signed in by the access cookie (no Authorization
    header, no CSRF header)."""
    client = Client(HTTP_ORIGIN=origin)
    if person is not None:
        client.cookies["todo-access"] = tokens.issue(person.id)
    return client


def call(client: Client, method: str, path: str, body: Any = None) -> Any:
    """One call as the client's HTTP library makes it: a JSON body with `Content-Type:
    application/json` when there is a body, no body and no Content-Type otherwise."""
    send = getattr(client, method.lower())
    if body is None:
        return send(path)
    return send(path, body, content_type="application/json")


@pytest.fixture(autouse=True)
def client_origin(settings: Any) -> str:
    """The web client is deployed at CLIENT_ORIGIN, and the API is configured for it."""
    settings.FRONTEND_URL = CLIENT_ORIGIN
    settings.CORS_ALLOWED_ORIGINS = [CLIENT_ORIGIN]
    settings.CSRF_TRUSTED_ORIGINS = [CLIENT_ORIGIN]
    return CLIENT_ORIGIN


@pytest.fixture
def signed_in(make_user: Callable[..., User]) -> Callable[..., tuple[User, Client]]:  # noqa: F811
    """signed_in("Ada") -> (the user, a browser client signed in as that user by cookie)."""

    def make(name: str = "Ada", email: str | None = None) -> tuple[User, Client]:
        person = make_user(name, email)
        return person, browser(person)

    return make
