"""Domain errors (todo/domain/errors.py) as API errors: the one place that knows their status and
where, in the request, the input each one is about was sent.

An input an error names (`Problem.about`) is found, in this order:
1. in the view method's declaration, `@error_sources(task_id=in_path("id"))`, for an input the
   client names or sends differently from the service (a path argument the contract calls `id`,
   an id sent in the query string or in a body field of another name);
2. among the URL's arguments of the same name: `{"path": name}`;
3. otherwise it is a field of the body: `{"pointer": name}`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from todo.domain.errors import Conflict, DomainError, Forbidden, Inconsistent, Invalid, NotFound

STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409, Invalid: 400, Inconsistent: 422}
_SOURCES = "error_sources"  # the attribute of a view method holding its declaration
View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True)
class Source:
    """Where the client sent an input, and under which name."""

    location: Literal["path", "parameter", "pointer"]
    name: str

    def as_json(self) -> dict[str, str]:
        return {self.location: self.name}


def in_path(name: str) -> Source:
    return Source("path", name)


def in_query(name: str) -> Source:
    return Source("parameter", name)


def in_body(name: str) -> Source:
    return Source("pointer", name)


def error_sources(**sources: Source) -> Callable[[View], View]:
    """Declare where a view method's inputs are, by the names the services give them (see the
    module docstring for the inputs that need none)."""

    def declare(method: View) -> View:
        setattr(method, _SOURCES, sources)
        return method

    return declare


def status_of(exc: DomainError) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    raise TypeError(f"{type(exc).__name__} has no HTTP status")  # a new kind not mapped above


def error_entries(exc: DomainError, context: dict[str, Any]) -> list[dict[str, Any]]:
    """The `errors` of the response: one entry per problem, with the source of its input."""
    request = context.get("request")
    handler = getattr(context.get("view"), request.method.lower(), None) if request is not None else None
    declared: dict[str, Source] = getattr(handler, _SOURCES, {})
    url_arguments = context.get("kwargs") or {}

    def source(about: str) -> Source:
        if about in declared:
            return declared[about]
        return in_path(about) if about in url_arguments else in_body(about)

    return [{"source": source(p.about).as_json(), "title": p.title, "detail": p.detail} for p in exc.problems]
