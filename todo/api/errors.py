"""One error shape for every API error:
{"statusCode": 400, "message": "...", "errors": [{"source": {...}, "title": "...", "detail": "..."}]}
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from pymongo.errors import PyMongoError
from rest_framework import exceptions, status
from rest_framework.response import Response

from todo.api.domain_errors import error_entries, status_of
from todo.domain.errors import DomainError
from todo.repositories.errors import DuplicateKey

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An application error with an HTTP status, rendered in the common shape."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int = status.HTTP_400_BAD_REQUEST,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail=message)
        self.status_code = status_code
        self.message = message
        self.errors = errors or []


def error_body(status_code: int, message: str, errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"statusCode": status_code, "message": message, "errors": errors}


def _field_errors(detail: Any, prefix: str = "") -> list[dict[str, Any]]:
    """Flatten DRF's nested validation detail into one entry per field."""
    if isinstance(detail, dict):
        out: list[dict[str, Any]] = []
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.extend(_field_errors(value, name))
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            text = " ".join(str(item) for item in detail)
            return [{"source": {"pointer": prefix or "body"}, "title": "Invalid value", "detail": text}]
        out = []
        for index, item in enumerate(detail):
            out.extend(_field_errors(item, f"{prefix}[{index}]"))
        return out
    return [{"source": {"pointer": prefix or "body"}, "title": "Invalid value", "detail": str(detail)}]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler rendering every API error in the common shape."""
    if isinstance(exc, PyMongoError):
        # MongoDB (the source of truth) failed: nothing was acknowledged, the client may retry.
        request = context.get("request")
        where = f"{request.method} {request.path}" if request is not None else "a request"
        logger.error("MongoDB unavailable during %s (%s)", where, type(exc).__name__)
        body = error_body(503, "MongoDB is unavailable; the request was not completed, try again", [])
        return Response(body, status=503)
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = error_body(413, f"Request body larger than {limit} bytes", [])
        return Response(body, status=413)
    if isinstance(exc, DomainError):
        code = status_of(exc)
        return Response(error_body(code, exc.message, error_entries(exc, context)), status=code)
    if isinstance(exc, DuplicateKey):
        # A unique key no service expected to meet (they turn the ones they expect into their own
        # answer): nothing was written, and the client learns what collided, not the values.
        detail = f"another record already holds the same {', '.join(exc.fields)}"
        entry = {"source": {"pointer": "body"}, "title": "Conflict", "detail": detail}
        return Response(error_body(409, "Conflict", [entry]), status=409)
    if isinstance(exc, ApiError):
        return Response(error_body(exc.status_code, exc.message, exc.errors), status=exc.status_code)
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        return Response(error_body(400, "Invalid request", errors), status=400)
    if isinstance(exc, exceptions.APIException):
        message = str(exc.detail) if not isinstance(exc.detail, (dict, list)) else exc.default_detail
        body = error_body(exc.status_code, str(message), [])
        headers = {}
        auth_header = getattr(exc, "auth_header", None)  # set by DRF's APIView on a 401
        if auth_header:
            headers["WWW-Authenticate"] = str(auth_header)
        # DRF's Throttled sets `wait` in __init__; djangorestframework-stubs does not declare it.
        wait: float | None = exc.wait if isinstance(exc, exceptions.Throttled) else None  # type: ignore[attr-defined]
        if wait is not None:
            headers["Retry-After"] = str(math.ceil(wait))
        return Response(body, status=exc.status_code, headers=headers)
    return None
