"""No secret is reachable from a settings name Django's error report shows (the DEBUG page)."""

from __future__ import annotations

from typing import Any

from django.views.debug import get_exception_reporter_filter


def test_the_error_report_shows_no_secret(settings: Any, rf: Any) -> None:
    secrets = {
        "GOOGLE_CLIENT_SECRET": "google-secret-value",
        "METRICS_TOKEN": "metrics-token-value-123",
        "MONGODB_URI": "mongodb://admin:mongo-password-value@db:27017/",
        "JWT_PRIVATE_KEY": "-----BEGIN PRIVATE KEY----- jwt-key-value",
    }
    for name, value in secrets.items():
        setattr(settings, name, value)
    # DATABASES is left as it is (the test run's connections use it): its password must not show.
    database_password = settings.DATABASES["default"]["PASSWORD"]
    assert database_password
    shown = repr(get_exception_reporter_filter(rf.get("/")).get_safe_settings())
    for value in [*secrets.values(), database_password, "mongo-password-value"]:
        assert value not in shown
    assert "CONFIG" not in get_exception_reporter_filter(rf.get("/")).get_safe_settings()
