"""JSON answers for what never reaches an API view: unknown paths and crashes. The web client
reads an HTML body where it expects JSON as an empty object, so every answer is JSON in the
common error shape."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from todo.api.errors import error_body


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Django's handler404, and the last route under /v1/ (so that it is JSON with DEBUG on too)."""
    return JsonResponse(error_body(404, f"No route for {request.method} {request.path}", []), status=404)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Django's handler400 (e.g. a Host header that is not allowed)."""
    return JsonResponse(error_body(400, "Bad request", []), status=400)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Django's handler403."""
    return JsonResponse(error_body(403, "Forbidden", []), status=403)


def server_error(request: HttpRequest) -> JsonResponse:
    """Django's handler500 (the error itself is logged by Django, not shown)."""
    return JsonResponse(error_body(500, "Internal server error", []), status=500)
