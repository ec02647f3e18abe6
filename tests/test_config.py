import subprocess
import sys
from pathlib import Path

import pytest

from todo_project.config import (
    EMBEDDED_POSTGRES_DEFAULT_PORT,
    EXTERNAL_POSTGRES_DEFAULT_PORT,
    ConfigError,
    load_config,
)

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_select_embedded_stores() -> None:
    config = load_config({})
    assert config.DUAL_WRITE_ENABLED is True
    assert config.DUAL_WRITE_RETRY_ATTEMPTS == 3
    assert config.DUAL_WRITE_RETRY_DELAY == 5.0
    assert config.embedded_postgres and config.in_process_mongodb
    assert config.postgres_port == EMBEDDED_POSTGRES_DEFAULT_PORT
    assert (config.POSTGRES_NAME, config.POSTGRES_USER) == ("todo_postgres", "todo_user")
    assert config.POSTGRES_SSLMODE == "prefer"
    assert (config.DUAL_WRITE_RETENTION_DAYS, config.DUAL_WRITE_PURGE_INTERVAL_SECONDS) == (30, 3600.0)
    assert config.DUAL_WRITE_DRAIN_SECONDS == 10.0


def test_values_are_parsed_and_typed() -> None:
    config = load_config(
        {
            "DUAL_WRITE_ENABLED": "false",
            "DUAL_WRITE_RETRY_ATTEMPTS": "7",
            "DUAL_WRITE_RETRY_DELAY": "0.5",
            "POSTGRES_HOST": "db.internal",
            "POSTGRES_SSLMODE": "require",
            "MONGODB_URI": "mongodb://a:27017,b:27017/?replicaSet=rs0",
            "DUAL_WRITE_RETENTION_DAYS": "7",
            "DUAL_WRITE_PURGE_INTERVAL_SECONDS": "60",
            "DUAL_WRITE_DRAIN_SECONDS": "0",
        }
    )
    assert config.DUAL_WRITE_DRAIN_SECONDS == 0.0
    assert (config.DUAL_WRITE_RETENTION_DAYS, config.DUAL_WRITE_PURGE_INTERVAL_SECONDS) == (7, 60.0)
    assert config.DUAL_WRITE_ENABLED is False
    assert config.DUAL_WRITE_RETRY_ATTEMPTS == 7
    assert config.DUAL_WRITE_RETRY_DELAY == 0.5
    assert not config.embedded_postgres and not config.in_process_mongodb
    assert config.postgres_port == EXTERNAL_POSTGRES_DEFAULT_PORT
    assert config.POSTGRES_SSLMODE == "require"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DUAL_WRITE_RETRY_ATTEMPTS", "abc", "an integer from 1 to 100"),
        ("DUAL_WRITE_RETRY_ATTEMPTS", "0", "an integer from 1 to 100"),
        ("DUAL_WRITE_RETRY_DELAY", "-1", "a number of seconds from 0 to 86400"),
        ("DUAL_WRITE_ENABLED", "maybe", "true or false"),
        ("POSTGRES_PORT", "99999", "an integer from 1 to 65535"),
        ("POSTGRES_SSLMODE", "sometimes", "one of disable, allow, prefer"),
        ("MONGODB_URI", "http://example.com", "a mongodb:// or mongodb+srv:// URI"),
        ("MONGODB_URI", "mongodb://host:notaport", "a mongodb:// or mongodb+srv:// URI"),
        ("SECRET_KEY", "short", "at least 20 characters"),
        ("DUAL_WRITE_RETENTION_DAYS", "0", "a whole number of days from 1 to 3650"),
        ("DUAL_WRITE_RETENTION_DAYS", "2.5", "a whole number of days from 1 to 3650"),
        ("DUAL_WRITE_PURGE_INTERVAL_SECONDS", "0", "a number of seconds above 0 and at most 604800"),
        ("DUAL_WRITE_DRAIN_SECONDS", "-1", "a number of seconds from 0 to 3600"),
        ("DUAL_WRITE_DRAIN_SECONDS", "3601", "a number of seconds from 0 to 3600"),
    ],
)
def test_bad_value_names_the_variable_and_what_it_accepts(name: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config({name: value})
    message = str(info.value)
    assert message.startswith(f"invalid setting {name}: expected ")
    assert expected in message
    assert "\n" not in message
    assert value not in message or value in expected  # values are not echoed (they may be secrets)


def test_password_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"MONGODB_URI": "mongodb://user:s3cretpass@host:bad/"})
    assert "s3cretpass" not in str(info.value)


def test_bad_setting_stops_startup_with_one_line_and_no_traceback() -> None:
    env = {"PATH": "/usr/bin:/bin", "DUAL_WRITE_RETRY_ATTEMPTS": "abc"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["error: invalid setting DUAL_WRITE_RETRY_ATTEMPTS: expected an integer from 1 to 100"]
    assert "Traceback" not in result.stdout + result.stderr


def test_web_client_origins_default_to_the_frontend_url() -> None:
    default = load_config({})
    assert default.cors_allowed_origins == ["http://localhost:3000"] == default.csrf_trusted_origins
    deployed = load_config({"FRONTEND_URL": "https://App.Example.com/", "COOKIE_SECURE": "true"})
    assert deployed.FRONTEND_URL == "https://App.Example.com"
    assert deployed.cors_allowed_origins == ["https://app.example.com"]
    both = load_config(
        {
            "CORS_ALLOWED_ORIGINS": "https://app.example.com, http://localhost:3000",
            "CSRF_TRUSTED_ORIGINS": "https://app.example.com",
        }
    )
    assert both.cors_allowed_origins == ["https://app.example.com", "http://localhost:3000"]
    assert both.csrf_trusted_origins == ["https://app.example.com"]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            {"CORS_ALLOWED_ORIGINS": "https://app.example.com/dashboard"},
            "invalid setting CORS_ALLOWED_ORIGINS",
        ),
        ({"CORS_ALLOWED_ORIGINS": "*"}, "invalid setting CORS_ALLOWED_ORIGINS"),
        ({"CSRF_TRUSTED_ORIGINS": "app.example.com"}, "invalid setting CSRF_TRUSTED_ORIGINS"),
        ({"FRONTEND_URL": "javascript:alert(1)"}, "invalid setting FRONTEND_URL"),
        ({"COOKIE_SAMESITE": "lax"}, "invalid setting COOKIE_SAMESITE"),
        ({"COOKIE_SAMESITE": "None"}, "COOKIE_SAMESITE=None needs COOKIE_SECURE=true"),
    ],
)
def test_bad_web_client_settings_are_refused_with_one_line(environ: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(environ)
    assert expected in str(refused.value) and "\n" not in str(refused.value)


def test_retired_mongodb_keeps_the_embedded_postgres_data() -> None:
    retired = load_config({"MIGRATION_PHASE": "postgres_only", "MONGODB_RETIRED": "true"})
    assert not retired.in_process_mongodb  # Postgres is the only store: never a throw-away folder
    with pytest.raises(ConfigError, match="MONGODB_RETIRED=true needs MIGRATION_PHASE=postgres_only"):
        load_config({"MONGODB_RETIRED": "true"})
