"""Guessing is throttled: sign-in per client address, invite codes per user; 429 in the JSON error
shape, with Retry-After."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.throttling import ScopedRateThrottle

from tests.api.conftest import bearer
from todo.api.throttles import RefreshThrottle
from todo.auth import tokens

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rates(monkeypatch: pytest.MonkeyPatch) -> None:
    rates = {"sign_in": "3/min", "invite_code": "3/min", "token_refresh": "3/min"}
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(RefreshThrottle, "THROTTLE_RATES", rates)
    cache.clear()
    yield
    cache.clear()


def test_sign_in_is_throttled_per_client_address(rates: None, mongo_db: Any) -> None:
    client = Client(REMOTE_ADDR="10.0.0.7")
    answers = [
        client.get("/v1/auth/google/callback", {"code": "x", "state": "y"}).status_code for _ in range(4)
    ]
    assert answers == [302, 302, 302, 429]
    refused = client.get("/v1/auth/google/login")
    assert refused.status_code == 429 and refused.json()["statusCode"] == 429 and refused["Retry-After"]
    assert Client(REMOTE_ADDR="10.0.0.8").get("/v1/auth/google/login").status_code == 302  # another address


def test_invite_code_guessing_is_throttled_per_user(rates: None, make_user: Any) -> None:
    guesser = Client(**bearer(make_user("Guesser")))
    codes = [guesser.post("/v1/teams/join-by-invite", {"invite_code": f"GUESS{n}"}, content_type="application/json")
             for n in range(3)]  # fmt: skip
    assert [r.status_code for r in codes] == [400, 400, 400]
    fourth = guesser.post(
        "/v1/teams/join-by-invite", {"invite_code": "GUESS9"}, content_type="application/json"
    )
    assert fourth.status_code == 429 and fourth.json()["statusCode"] == 429
    verify = guesser.post("/v1/team-invite-codes/verify", {"code": "ABCDEF"}, content_type="application/json")
    assert verify.status_code in (400, 429)  # its own count (same scope: 4th attempt overall → 429)
    # Listing teams is not an attempt.
    assert guesser.get("/v1/teams").status_code == 200


def test_the_staff_login_is_throttled_per_client_address(django_user_model: Any, mongo_db: Any) -> None:
    django_user_model.objects.create_superuser("ops", "ops@example.com", "a-long-password-1")
    cache.clear()
    guesser = Client(REMOTE_ADDR="10.0.0.9")
    form = {"username": "ops", "password": "wrong", "next": "/ops/sync"}
    answers = [guesser.post("/admin/login/", form).status_code for _ in range(6)]
    assert answers == [200, 200, 200, 200, 200, 429]
    # Even the right password waits now; another address is not affected.
    assert guesser.post("/admin/login/", {**form, "password": "a-long-password-1"}).status_code == 429
    other = Client(REMOTE_ADDR="10.0.0.10")
    assert other.post("/admin/login/", {**form, "password": "a-long-password-1"}).status_code == 302
    cache.clear()


def test_renewing_from_the_refresh_cookie_is_throttled(rates: None, make_user: Any) -> None:
    user = make_user("Ada")
    answers = []
    for _ in range(4):
        client = Client(REMOTE_ADDR="10.0.0.11")
        client.cookies["todo-refresh"] = tokens.issue(user.id, tokens.REFRESH)
        answers.append(client.get("/v1/users?profile=true").status_code)
    assert answers == [200, 200, 200, 429]
