"""Settings for mypy's django-stubs plugin, which calls django.setup(): the test settings without
the embedded PostgreSQL, so that type checking starts no database server (`make typecheck`)."""

from __future__ import annotations

from todo_project.test_settings import *  # noqa: F403
from todo_project.test_settings import EMBEDDED_POSTGRES

EMBEDDED_POSTGRES = {**EMBEDDED_POSTGRES, "ENABLED": False}
