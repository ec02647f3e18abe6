"""Guessing the staff password at the admin login (the sync dashboard's sign-in) is throttled:
after LOGIN_FAILURES failed attempts from one client address within LOGIN_WINDOW seconds, further
attempts get 429 until the window has passed. Counted in the cache (per process)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

LOGIN_FAILURES = 5
LOGIN_WINDOW = 15 * 60


def _key(request: HttpRequest) -> str:
    return f"admin-login-failures:{request.META.get('REMOTE_ADDR', '')}"


def throttled(login: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap the admin site's login view."""

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return login(request, *args, **kwargs)
        if cache.get(_key(request), 0) >= LOGIN_FAILURES:
            response = HttpResponse("Too many failed sign-ins; try again later.\n", status=429,
                                    content_type="text/plain")  # fmt: skip
            response["Retry-After"] = str(LOGIN_WINDOW)
            return response
        response = login(request, *args, **kwargs)
        if response.status_code == 200:  # the form again: the attempt failed
            cache.add(_key(request), 0, LOGIN_WINDOW)
            cache.incr(_key(request))
        return response

    return view
