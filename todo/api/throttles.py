"""Rate limits of the endpoints worth guessing at (DRF's scoped throttling; 429 in the common
error shape): sign-in, and everything that takes an invite code. Counted per user when signed in,
per client address otherwise, in the process's cache (several web processes: per process)."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle

SIGN_IN, INVITE_CODE = "sign_in", "invite_code"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class WritesThrottle(ScopedRateThrottle):
    """The view's scope, for its state-changing requests only (a team list is not an attempt)."""

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)
