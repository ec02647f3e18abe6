"""The one place that reads the environment.

Every setting has a type, a default and a one-line comment. `load_config()` validates them all at
start-up and raises `ConfigError` with one line naming the variable and what it accepts; the
entry points (manage.py, wsgi) print that line and exit instead of showing a traceback.
Nothing else in the project reads os.environ: code reads `django.conf.settings`.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Port of the embedded PostgreSQL when POSTGRES_HOST is unset and POSTGRES_PORT is not given.
EMBEDDED_POSTGRES_DEFAULT_PORT = 54329
# Port of an external PostgreSQL when POSTGRES_PORT is not given.
EXTERNAL_POSTGRES_DEFAULT_PORT = 5432

SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]


class ConfigError(Exception):
    """A setting in the environment has a value the service cannot use."""


READ_SOURCES = ("mongo", "shadow", "postgres")


def parse_read_sources(text: str) -> dict[str, str]:
    """ "tasks=shadow, users=postgres" → {"tasks": "shadow", "users": "postgres"} (ValueError if bad)."""
    sources: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        collection, sep, source = (piece.strip() for piece in item.partition("="))
        if not sep or not collection or source not in READ_SOURCES or collection in sources:
            raise ValueError("expected collection=mongo|shadow|postgres pairs")
        sources[collection] = source
    return sources


COLLECTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,119}$")


def parse_collection_names(text: str) -> dict[str, str]:
    """ "watchlists=watchlist" → {"watchlists": "watchlist"} (ValueError if bad)."""
    names: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, physical = (piece.strip() for piece in item.partition("="))
        if not sep or not COLLECTION_NAME.match(name) or not COLLECTION_NAME.match(physical) or name in names:
            raise ValueError("expected name=collection pairs")
        names[name] = physical
    return names


def origin_of(url: str) -> str:
    """ "https://App.example.com/dashboard" -> "https://app.example.com" (ValueError if no origin)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http(s) URL")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError("bad port") from exc
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def parse_origins(text: str) -> list[str]:
    """ "https://a.x, http://localhost:3000" -> the origins, each exactly scheme://host[:port]."""
    origins = [part.strip() for part in text.split(",") if part.strip()]
    for origin in origins:
        if origin_of(origin) != origin:
            raise ValueError("an origin is scheme://host[:port] in lower case, without a path")
    return origins


class EnvConfig(BaseModel):
    """Typed view of the environment variables the service understands."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    # Mirror every MongoDB write into PostgreSQL (false: MongoDB only, skipped writes counted).
    DUAL_WRITE_ENABLED: bool = True
    # Attempts for a failed Postgres write before its retry record is marked FAILED.
    DUAL_WRITE_RETRY_ATTEMPTS: int = Field(default=3, ge=1, le=100)
    # Base delay in seconds between retries; doubles each attempt, with jitter.
    DUAL_WRITE_RETRY_DELAY: float = Field(default=5.0, ge=0, le=86400)

    # Dotted path of a callable(event: dict) called when a write is given up on (CRITICAL).
    DUAL_WRITE_ALERT_HOOK: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+$")
    # Seconds a retry worker holds a claimed record before another worker may take it.
    DUAL_WRITE_LEASE_SECONDS: float = Field(default=30.0, gt=0, le=3600)
    # Bound (ms) on waiting for a row or table lock in a mirror write; then the write is queued.
    DUAL_WRITE_LOCK_TIMEOUT_MS: int = Field(default=200, ge=1, le=60000)
    # Bound (ms) on a mirror write statement; then the write is queued.
    DUAL_WRITE_STATEMENT_TIMEOUT_MS: int = Field(default=2000, ge=100, le=600000)
    # Run the retry worker as a thread of `manage.py serve` (required with the in-process MongoDB).
    DUAL_WRITE_WORKER_IN_PROCESS: bool = True
    # Days resolved retry records, verify reports, finished backfill checkpoints and write history are kept.
    DUAL_WRITE_RETENTION_DAYS: int = Field(default=30, ge=1, le=3650)
    # Seconds between two purges of what is older than DUAL_WRITE_RETENTION_DAYS, run by the worker.
    DUAL_WRITE_PURGE_INTERVAL_SECONDS: float = Field(default=3600.0, gt=0, le=7 * 86400)
    # Seconds a graceful stop of `manage.py serve` (SIGTERM, Ctrl-C) spends draining the retry
    # queue into Postgres before it ends (0: no drain).
    DUAL_WRITE_DRAIN_SECONDS: float = Field(default=10.0, ge=0, le=3600)

    # Migration phase: dual_write (read MongoDB), read_migration (per-collection read source),
    # postgres_only (read and write Postgres; MongoDB is a read-only backup).
    MIGRATION_PHASE: Literal["dual_write", "read_migration", "postgres_only"] = "dual_write"
    # In read_migration: per-collection read source, e.g. "tasks=shadow,users=postgres" (unlisted: mongo).
    DUAL_WRITE_READ_SOURCE: str = ""
    # Start in MIGRATION_PHASE even when the data is not ready for it (backlog, drift): see
    # "Rolling back" in the README before using it.
    MIGRATION_PHASE_FORCE: bool = False
    # Seconds within which every process applies a runtime flag changed elsewhere (the phase and
    # the read sources are stored in Postgres; each process re-reads them this often).
    RUNTIME_FLAGS_REFRESH_SECONDS: float = Field(default=2.0, ge=0.1, le=60)
    # Cut-over readiness: the last verify of a collection must be this recent (hours) and equal.
    READINESS_VERIFY_MAX_AGE_HOURS: float = Field(default=24.0, gt=0, le=24 * 365)
    # Cut-over readiness: this many of the collection's latest shadow reads compared with zero
    # mismatches before its reads may move to Postgres (0: shadow reads not required).
    READINESS_SHADOW_READS: int = Field(default=100, ge=0, le=1_000_000)
    # postgres_only only: MongoDB is gone; nothing connects to it (MONGODB_URI may be unset) and
    # Postgres writes are not mirrored back to it (no way back).
    MONGODB_RETIRED: bool = False

    # RS256 key pair (PEM text) for sign-in tokens; unset generates one into DATA_DIR/jwt/ once.
    JWT_PRIVATE_KEY: str | None = None
    # Public half of JWT_PRIVATE_KEY (PEM text).
    JWT_PUBLIC_KEY: str | None = None
    # `iss` claim of issued tokens, checked on every request.
    JWT_ISSUER: str = Field(default="todo-backend", min_length=1)
    # Lifetime of access tokens in seconds.
    JWT_ACCESS_TTL: int = Field(default=3600, ge=60, le=86400)
    # Lifetime of refresh tokens in seconds.
    JWT_REFRESH_TTL: int = Field(default=14 * 86400, ge=3600, le=90 * 86400)
    # Mark the sign-in cookies Secure (HTTPS only); keep on in production.
    COOKIE_SECURE: bool = False
    # SameSite of the sign-in cookies: Lax or Strict when the web client and this API are the same
    # site (e.g. app.x and api.x); None (requires COOKIE_SECURE=true) for a cross-site client.
    COOKIE_SAMESITE: Literal["Lax", "Strict", "None"] = "Lax"
    # Domain of the sign-in cookies (e.g. .example.com); unset: this API's host only.
    COOKIE_DOMAIN: str | None = None
    # Names of the access and refresh token cookies.
    ACCESS_TOKEN_COOKIE_NAME: str = Field(default="todo-access", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    REFRESH_TOKEN_COOKIE_NAME: str = Field(default="todo-refresh", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    # Google OAuth client id and secret for sign-in.
    GOOGLE_CLIENT_ID: str = ""
    GOOGLE_CLIENT_SECRET: str = ""
    # Where Google sends the user back: this service's /v1/auth/google/callback.
    GOOGLE_REDIRECT_URI: str = "http://127.0.0.1:8000/v1/auth/google/callback"
    # Google's endpoints (configurable so that a local stand-in provider can be used).
    GOOGLE_AUTH_URL: str = "https://accounts.google.com/o/oauth2/v2/auth"
    GOOGLE_TOKEN_URL: str = "https://oauth2.googleapis.com/token"
    GOOGLE_USERINFO_URL: str = "https://openidconnect.googleapis.com/v1/userinfo"
    # Comma-separated emails whose users become admins (GLOBAL moderator role) when they sign in.
    ADMIN_EMAILS: str = ""
    # Base URL of the web client (scheme://host[:port]); sign-in ends on FRONTEND_URL/FRONTEND_REDIRECT_PATH.
    FRONTEND_URL: str = "http://localhost:3000"
    # Client page the sign-in callback redirects to (with ?success=true or ?error=<reason>).
    FRONTEND_REDIRECT_PATH: str = Field(default="dashboard", pattern=r"^[A-Za-z0-9_./-]*$")
    # Comma-separated origins (scheme://host[:port]) whose pages may call the API with cookies
    # (CORS); unset: FRONTEND_URL's origin.
    CORS_ALLOWED_ORIGINS: str | None = None
    # Comma-separated origins from which cookie-authenticated writes are accepted; unset: the
    # CORS_ALLOWED_ORIGINS.
    CSRF_TRUSTED_ORIGINS: str | None = None

    # PostgreSQL host; unset starts an embedded PostgreSQL under DATA_DIR.
    POSTGRES_HOST: str | None = None
    # PostgreSQL port (5432 for an external server, 54329 for the embedded one).
    POSTGRES_PORT: int | None = Field(default=None, ge=1, le=65535)
    # PostgreSQL database name.
    POSTGRES_NAME: str = Field(default="todo_postgres", min_length=1, max_length=63)
    # PostgreSQL user.
    POSTGRES_USER: str = Field(default="todo_user", min_length=1, max_length=63)
    # PostgreSQL password.
    POSTGRES_PASSWORD: str = "todo_password"
    # libpq sslmode for PostgreSQL connections.
    POSTGRES_SSLMODE: SslMode = "prefer"
    # Prepare the dual-write statements on the server (plans reused per connection). Turn off
    # behind a pooler that cannot hold prepared statements (PgBouncer before 1.21 in transaction
    # mode): the statements then run unnamed, planned on every call.
    POSTGRES_PREPARED_STATEMENTS: bool = True

    # MongoDB connection URI (mongodb:// or mongodb+srv://); unset uses the in-process stand-in.
    MONGODB_URI: str | None = None
    # MongoDB database name.
    MONGODB_DB: str = Field(default="todo", min_length=1, max_length=63)
    # MongoDB collections of the mapped collections, where they differ from the defaults (the
    # existing app's: task_assignments in "task_details", watchlists in "watchlist"), e.g.
    # "task_assignments=task_assignments,watchlists=watchlists" for a database of this service's
    # earlier versions.
    MONGODB_COLLECTION_NAMES: str = ""

    # Django secret key; unset generates one into DATA_DIR on first start.
    SECRET_KEY: str | None = Field(default=None, min_length=20)
    # Host names this service answers to (comma-separated; also with DEBUG on).
    ALLOWED_HOSTS: str = Field(default="127.0.0.1,localhost,[::1]", min_length=1)
    # Django debug mode (never in production).
    DEBUG: bool = False
    # Folder for the embedded PostgreSQL data and generated keys.
    DATA_DIR: Path = PROJECT_ROOT / ".data"
    # Log level of the service's own loggers.
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    # Bearer token GET /metrics requires; unset: only clients in METRICS_ALLOWED_NETWORKS may scrape.
    METRICS_TOKEN: str | None = Field(default=None, min_length=16)
    # Several web processes (gunicorn): an empty folder shared by all of them, where
    # prometheus-client keeps each process's counters so that /metrics adds them up.
    PROMETHEUS_MULTIPROC_DIR: Path | None = None
    # Comma-separated networks (CIDR) allowed to scrape /metrics when METRICS_TOKEN is unset.
    METRICS_ALLOWED_NETWORKS: str = "127.0.0.0/8,::1/128"

    @field_validator(
        "POSTGRES_HOST",
        "MONGODB_URI",
        "SECRET_KEY",
        "JWT_PRIVATE_KEY",
        "JWT_PUBLIC_KEY",
        "COOKIE_DOMAIN",
        "CORS_ALLOWED_ORIGINS",
        "CSRF_TRUSTED_ORIGINS",
        "DUAL_WRITE_ALERT_HOOK",
        "METRICS_TOKEN",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("MONGODB_URI")
    @classmethod
    def _mongodb_uri_parses(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("mongodb", "mongodb+srv") or not parts.netloc:
            raise ValueError("not a mongodb:// or mongodb+srv:// URI")
        if parts.scheme == "mongodb":
            # Full syntax check without connecting (SRV URIs would need DNS, so only mongodb://).
            from pymongo.uri_parser import parse_uri

            try:
                parse_uri(value)
            except Exception as exc:  # pymongo raises several types for a bad URI
                raise ValueError("not a valid MongoDB URI") from exc
        return value

    @field_validator("FRONTEND_URL")
    @classmethod
    def _frontend_url_parses(cls, value: str) -> str:
        origin_of(value)
        return value.rstrip("/")

    @field_validator("CORS_ALLOWED_ORIGINS", "CSRF_TRUSTED_ORIGINS")
    @classmethod
    def _origins_parse(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return ",".join(parse_origins(value))

    @model_validator(mode="after")
    def _retired_only_in_postgres_only(self) -> EnvConfig:
        if self.MONGODB_RETIRED and self.MIGRATION_PHASE != "postgres_only":
            raise ValueError("MONGODB_RETIRED=true needs MIGRATION_PHASE=postgres_only")
        return self

    @model_validator(mode="after")
    def _samesite_none_needs_secure(self) -> EnvConfig:
        if self.COOKIE_SAMESITE == "None" and not self.COOKIE_SECURE:
            raise ValueError("COOKIE_SAMESITE=None needs COOKIE_SECURE=true")
        return self

    @property
    def cors_allowed_origins(self) -> list[str]:
        if self.CORS_ALLOWED_ORIGINS is None:
            return [origin_of(self.FRONTEND_URL)]
        return self.CORS_ALLOWED_ORIGINS.split(",")

    @property
    def csrf_trusted_origins(self) -> list[str]:
        if self.CSRF_TRUSTED_ORIGINS is None:
            return self.cors_allowed_origins
        return self.CSRF_TRUSTED_ORIGINS.split(",")

    @field_validator("METRICS_ALLOWED_NETWORKS")
    @classmethod
    def _networks_parse(cls, value: str) -> str:
        networks = [part.strip() for part in value.split(",") if part.strip()]
        if not networks:
            raise ValueError("no network")
        for network in networks:
            ipaddress.ip_network(network, strict=False)  # ValueError for a bad one
        return ",".join(networks)

    @property
    def metrics_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(n, strict=False) for n in self.METRICS_ALLOWED_NETWORKS.split(",")]

    @field_validator("DUAL_WRITE_READ_SOURCE")
    @classmethod
    def _read_sources_parse(cls, value: str) -> str:
        parse_read_sources(value)
        return value

    @field_validator("MONGODB_COLLECTION_NAMES")
    @classmethod
    def _collection_names_parse(cls, value: str) -> str:
        parse_collection_names(value)
        return value

    @property
    def mongodb_collection_names(self) -> dict[str, str]:
        return parse_collection_names(self.MONGODB_COLLECTION_NAMES)

    @property
    def read_sources(self) -> dict[str, str]:
        return parse_read_sources(self.DUAL_WRITE_READ_SOURCE)

    @property
    def admin_emails(self) -> frozenset[str]:
        return frozenset(e.strip().lower() for e in self.ADMIN_EMAILS.split(",") if e.strip())

    @property
    def embedded_postgres(self) -> bool:
        """True when no PostgreSQL host is configured and the embedded server is used."""
        return self.POSTGRES_HOST is None

    @property
    def in_process_mongodb(self) -> bool:
        """True when no MongoDB URI is configured and the in-process stand-in is used (not when
        MongoDB is retired: then Postgres is the only store, and its data is kept)."""
        return self.MONGODB_URI is None and not self.MONGODB_RETIRED

    @property
    def postgres_port(self) -> int:
        if self.POSTGRES_PORT is not None:
            return self.POSTGRES_PORT
        if self.embedded_postgres:
            return EMBEDDED_POSTGRES_DEFAULT_PORT
        return EXTERNAL_POSTGRES_DEFAULT_PORT


_ACCEPTS = {
    "DUAL_WRITE_ENABLED": "true or false",
    "DUAL_WRITE_RETRY_ATTEMPTS": "an integer from 1 to 100",
    "DUAL_WRITE_RETRY_DELAY": "a number of seconds from 0 to 86400",
    "DUAL_WRITE_ALERT_HOOK": "a dotted path such as myproject.alerts.page_oncall",
    "DUAL_WRITE_LEASE_SECONDS": "a number of seconds above 0 and at most 3600",
    "DUAL_WRITE_WORKER_IN_PROCESS": "true or false",
    "DUAL_WRITE_RETENTION_DAYS": "a whole number of days from 1 to 3650",
    "DUAL_WRITE_PURGE_INTERVAL_SECONDS": "a number of seconds above 0 and at most 604800",
    "DUAL_WRITE_DRAIN_SECONDS": "a number of seconds from 0 to 3600",
    "DUAL_WRITE_LOCK_TIMEOUT_MS": "milliseconds from 1 to 60000",
    "DUAL_WRITE_STATEMENT_TIMEOUT_MS": "milliseconds from 100 to 600000",
    "POSTGRES_PORT": "an integer from 1 to 65535",
    "POSTGRES_NAME": "a name of 1 to 63 characters",
    "POSTGRES_USER": "a name of 1 to 63 characters",
    "POSTGRES_SSLMODE": "one of disable, allow, prefer, require, verify-ca, verify-full",
    "POSTGRES_PREPARED_STATEMENTS": "true or false",
    "MONGODB_URI": "a mongodb:// or mongodb+srv:// URI",
    "MONGODB_DB": "a name of 1 to 63 characters",
    "MONGODB_COLLECTION_NAMES": "comma-separated name=collection pairs such as watchlists=watchlist",
    "SECRET_KEY": "a string of at least 20 characters",
    "DEBUG": "true or false",
    "ALLOWED_HOSTS": "comma-separated host names such as api.example.com",
    "DATA_DIR": "a folder path",
    "LOG_LEVEL": "one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
    "METRICS_TOKEN": "a token of at least 16 characters",
    "JWT_ISSUER": "a non-empty string",
    "JWT_ACCESS_TTL": "a number of seconds from 60 to 86400",
    "JWT_REFRESH_TTL": "a number of seconds from 3600 to 7776000",
    "COOKIE_SECURE": "true or false",
    "COOKIE_SAMESITE": "one of Lax, Strict, None (None needs COOKIE_SECURE=true)",
    "COOKIE_DOMAIN": "a domain such as .example.com",
    "ACCESS_TOKEN_COOKIE_NAME": "a cookie name of letters, digits, _ . -",
    "REFRESH_TOKEN_COOKIE_NAME": "a cookie name of letters, digits, _ . -",
    "FRONTEND_URL": "an http(s) URL such as https://app.example.com",
    "FRONTEND_REDIRECT_PATH": "a path such as dashboard",
    "CORS_ALLOWED_ORIGINS": "comma-separated origins such as https://app.example.com,http://localhost:3000",
    "CSRF_TRUSTED_ORIGINS": "comma-separated origins such as https://app.example.com",
    "MIGRATION_PHASE": "one of dual_write, read_migration, postgres_only",
    "MIGRATION_PHASE_FORCE": "true or false",
    "MONGODB_RETIRED": "true or false",
    "RUNTIME_FLAGS_REFRESH_SECONDS": "a number of seconds from 0.1 to 60",
    "READINESS_VERIFY_MAX_AGE_HOURS": "a number of hours above 0 and at most 8760",
    "READINESS_SHADOW_READS": "an integer from 0 to 1000000",
    "DUAL_WRITE_READ_SOURCE": "comma-separated collection=mongo|shadow|postgres pairs, each collection once",
    "METRICS_ALLOWED_NETWORKS": "comma-separated networks such as 127.0.0.0/8,10.0.0.0/8",
    "PROMETHEUS_MULTIPROC_DIR": "a folder path",
}


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    if not first["loc"]:  # a rule across settings (model validator): its message names them
        return "invalid settings: " + str(first["msg"]).removeprefix("Value error, ")
    name = str(first["loc"][0])
    accepts = _ACCEPTS.get(name, first["msg"])
    # The value itself is not echoed: it may be a password or a URI with credentials.
    return f"invalid setting {name}: expected {accepts}"


def load_config(environ: dict[str, str] | None = None) -> EnvConfig:
    """Read and validate all settings from `environ` (default: the process environment)."""
    source = dict(os.environ if environ is None else environ)
    known = {k: v for k, v in source.items() if k in EnvConfig.model_fields}
    try:
        return EnvConfig.model_validate(known)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
