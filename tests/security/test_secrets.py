"""No secrets or document contents in logs; Postgres connections honour POSTGRES_SSLMODE."""

from __future__ import annotations

import logging

import psycopg
import pytest
from django.db import connection
from django.test import Client

from tests.api.conftest import bearer
from todo.auth import tokens

pytestmark = pytest.mark.django_db(transaction=True)

SECRET_TITLE = "Quarterly-Salaries-Secret-8f3a"
SECRET_EMAIL = "hidden.person.7c1e@example.com"


def test_a_full_run_logs_no_tokens_emails_or_titles(make_user, embedded_postgres, caplog, settings) -> None:
    settings.DUAL_WRITE_RETRY_DELAY = 0
    caplog.set_level(logging.DEBUG)
    user = make_user("Hidden", email=SECRET_EMAIL)
    token = tokens.issue(user.id)
    api = Client(**bearer(user))
    created = api.post(
        "/v1/tasks", {"title": SECRET_TITLE, "priority": "HIGH"}, content_type="application/json"
    )
    task_id = created.json()["data"]["id"]
    api.patch(f"/v1/tasks/{task_id}", {"title": SECRET_TITLE + "-2"}, content_type="application/json")
    api.post("/v1/tasks", {"title": {"$gt": SECRET_TITLE}}, content_type="application/json")  # rejected
    Client(HTTP_AUTHORIZATION=f"Bearer {token}x").get("/v1/tasks")  # a broken token
    embedded_postgres.stop()  # failures get logged: they must not carry contents either
    try:
        api.patch(f"/v1/tasks/{task_id}", {"title": SECRET_TITLE + "-3"}, content_type="application/json")
    finally:
        embedded_postgres.start()
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert caplog.records, "the run logged nothing: the check would prove nothing"
    assert "dual-write failed" in logged  # the failure was logged...
    for secret in (token, SECRET_TITLE, SECRET_EMAIL, "todo_password"):
        assert secret not in logged  # ...without contents, tokens or passwords


def test_connections_use_the_configured_sslmode(settings) -> None:
    assert (
        connection.get_connection_params()["sslmode"] == settings.DATABASES["default"]["OPTIONS"]["sslmode"]
    )
    params = {**connection.get_connection_params(), "sslmode": "require", "connect_timeout": 3}
    # The embedded server has no TLS: with sslmode=require the client refuses to connect at all.
    with pytest.raises(psycopg.OperationalError, match=r"(?i)ssl"):
        psycopg.connect(**params).close()


def test_one_switch_makes_every_cookie_secure_and_turns_on_hsts() -> None:
    import subprocess
    import sys
    from pathlib import Path

    probe = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='todo_project.settings';"
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0, s.SECURE_PROXY_SSL_HEADER)"
    )
    root = Path(__file__).resolve().parents[2]
    env = {"PATH": "/usr/bin:/bin", "COOKIE_SECURE": "true", "DATA_DIR": str(root / ".data")}
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["True", "True", "True", "('HTTP_X_FORWARDED_PROTO',", "'https')"]
