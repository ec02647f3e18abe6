"""Request parameters shared by the API views: ids, pagination, booleans. Bad values raise
ApiError 400 naming the parameter."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from rest_framework.request import Request

from dualwrite.errors import InvalidMongoIdError
from dualwrite.transform import normalise_mongo_id
from todo.api.errors import ApiError

MAX_LIMIT = 200


def invalid(name: str, detail: str, where: str = "parameter") -> ApiError:
    return ApiError(
        f"Invalid {name}", errors=[{"source": {where: name}, "title": "Invalid value", "detail": detail}]
    )


def object_id(value: Any, name: str, where: str = "path") -> str:
    """A 24-hex id from a path or query parameter."""
    try:
        return normalise_mongo_id(value)
    except InvalidMongoIdError:
        raise invalid(name, "must be a 24-character hex id", where) from None


def integer(request: Request, name: str, default: int, minimum: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not minimum <= int(raw) <= maximum:
        raise invalid(name, f"must be an integer from {minimum} to {maximum}")
    return int(raw)


def page_and_limit(request: Request, default_limit: int = 20) -> tuple[int, int]:
    return integer(request, "page", 1, 1, 10**6), integer(request, "limit", default_limit, 1, MAX_LIMIT)


def flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false").lower()
    if raw not in ("true", "false"):
        raise invalid(name, "must be true or false")
    return raw == "true"


def text(request: Request, name: str, max_length: int = 200) -> str:
    raw = request.query_params.get(name, "")
    if len(raw) > max_length or "\x00" in raw:
        raise invalid(name, f"must be at most {max_length} characters, without NUL")
    return raw


def paginated(
    request: Request,
    key: str,
    items: list[Any],
    page: int,
    limit: int,
    total: int | None = None,
    *,
    more: bool | None = None,
) -> dict[str, Any]:
    """The list shape of the API: {"links": {"next", "prev"}, <key>: items, "page", "limit"}, with
    "total" when the list was counted. `next` comes from the count, or (uncounted lists) from
    `more`: whether the store found a row after this page."""

    def link(target: int) -> str:
        query = {**request.query_params.dict(), "page": target, "limit": limit}
        return f"{request.path}?{urlencode(query)}"

    has_next = page * limit < total if total is not None else bool(more)
    body: dict[str, Any] = {
        "links": {
            "next": link(page + 1) if has_next else None,
            "prev": link(page - 1) if page > 1 else None,
        },
        key: items,
        "page": page,
        "limit": limit,
    }
    if total is not None:
        body["total"] = total
    return body
