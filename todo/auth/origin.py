"""The origin check of cookie-authenticated writes.

A browser attaches the sign-in cookies to any request to this API, including one a hostile page
makes; the web client sends no CSRF token, so a state-changing request signed in by cookie is
accepted only when the page that made it is trusted: its `Origin` (or, when a browser sends
none, the origin of its `Referer`) is this API's own origin or one of `CSRF_TRUSTED_ORIGINS`.
Requests with a bearer token are not affected: a browser never adds one by itself.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from todo_project.config import origin_of

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class UntrustedOrigin(Exception):
    """A cookie-authenticated write came from a page whose origin is not trusted."""


def request_origin(request: HttpRequest) -> str | None:
    """The origin of the page that sent `request`: its Origin header, else its Referer's."""
    for header in ("HTTP_ORIGIN", "HTTP_REFERER"):
        value = request.META.get(header)
        if value and value != "null":
            try:
                return origin_of(value)
            except ValueError:
                return value  # not an http(s) origin: never trusted, reported as sent
    return None


def check_cookie_write(request: HttpRequest) -> None:
    """Raise UntrustedOrigin unless `request` is safe or comes from a trusted origin."""
    if request.method in SAFE_METHODS:
        return
    origin = request_origin(request)
    if origin is None:
        raise UntrustedOrigin("a write signed in by cookie must come with an Origin or Referer header")
    own = f"{request.scheme}://{request.get_host()}"
    if origin != own.lower() and origin not in settings.CSRF_TRUSTED_ORIGINS:
        raise UntrustedOrigin("a write signed in by cookie from an origin that is not trusted")
