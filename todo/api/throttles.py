"""Rate limits of what is worth guessing at (DRF's throttling; 429 in the common error shape):
sign-in, the renewal of a session from its refresh cookie, and everything that takes an invite
code. Counted per user when signed in,
per client address otherwise, in the process's cache (several web processes: per process)."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

SIGN_IN, INVITE_CODE, TOKEN_REFRESH = "sign_in", "invite_code", "token_refresh"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class WritesThrottle(ScopedRateThrottle):
    """The view's scope, for its state-changing requests only (a team list is not an attempt)."""

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)


class RefreshThrottle(SimpleRateThrottle):
    """Renewals of the access cookie from a refresh cookie, per client address (the renewal
    happens inside authentication, before any view's throttles)."""

    scope = TOKEN_REFRESH

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
