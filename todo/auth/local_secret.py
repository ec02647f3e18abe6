"""The secret of local sign-in (in-process MongoDB mode only): written by the service into its data
folder (mode 0600, a new one at every start) and read by `manage.py issue_token` on the same
machine and account. `/v1/auth/local-token` answers only a request carrying it, so that neither
another account on the machine, a local proxy nor a web page (DNS rebinding) can mint tokens."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from django.conf import settings

HEADER = "X-Local-Token-Secret"


def secret_path() -> Path:
    return Path(settings.DATA_DIR) / "local-token.secret"


def write_new_secret() -> None:
    """A fresh secret, readable by this account only."""
    path = secret_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_urlsafe(32))
    path.chmod(0o600)


def read_secret() -> str | None:
    try:
        return secret_path().read_text().strip() or None
    except FileNotFoundError:
        return None


def matches(given: str | None) -> bool:
    expected = read_secret()
    if not given or expected is None:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())
