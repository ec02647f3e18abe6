"""The errors of the domain: a rule refused an operation. They know nothing of HTTP.

Each error has a `message` summing it up and `problems`: the inputs of the operation at fault,
each named as the operation names it (an argument such as `task_id` or `team_id`, or a field of
the object sent, such as `dueAt` or `assignee.assignee_id`), with a title and a detail. An error
about no input in particular has no problems.

The kinds (`NotFound`, `Forbidden`, `Conflict`, `Invalid`, `Inconsistent`) say what went wrong;
the API layer renders them for the client (its `domain_errors` module is the one place that knows
how: the status, and where in the request each input was).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self


@dataclass(frozen=True)
class Problem:
    """One input at fault: `about` names it (an argument of the operation or a field of the object
    sent), `title` and `detail` say what is wrong with it."""

    about: str
    title: str
    detail: str


class DomainError(Exception):
    """A rule of the domain refused the operation.

    `DomainError(message, about=name)` is about one input, titled and detailed by the message
    itself unless `title`/`detail` say otherwise; without `about` it is about no input."""

    def __init__(
        self,
        message: str,
        *,
        about: str | None = None,
        title: str | None = None,
        detail: str | None = None,
        problems: Sequence[Problem] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        found = list(problems)
        if about is not None:
            found.insert(0, Problem(about, title or message, detail or message))
        self.problems: tuple[Problem, ...] = tuple(found)


class NotFound(DomainError):
    """What the operation names does not exist (or is not shown to the actor)."""

    @classmethod
    def no_such(cls, what: str, about: str) -> Self:
        """ "<What> not found", about the input naming it ("Not found": "No such <what>")."""
        return cls(f"{what} not found", about=about, title="Not found", detail=f"No such {what.lower()}")


class Forbidden(DomainError):
    """The actor may not do this."""

    @classmethod
    def not_allowed(cls, detail: str, about: str) -> Self:
        """ "Not allowed", about the input naming what is protected ("Forbidden": `detail`)."""
        return cls("Not allowed", about=about, title="Forbidden", detail=detail)


class Conflict(DomainError):
    """The operation contradicts the current state (a DONE task deferred, an assignee again)."""

    @classmethod
    def with_state(cls, detail: str, about: str) -> Self:
        """`detail`, about the input or stored field in conflict ("Conflict": `detail`)."""
        return cls(detail, about=about, title="Conflict", detail=detail)


class Invalid(DomainError):
    """An input breaks a rule of its own (blank, in the past, unknown id in a list, ...)."""

    @classmethod
    def value(cls, field: str, detail: str) -> Self:
        """ "Invalid <field>" ("Invalid value": `detail`)."""
        return cls(f"Invalid {field}", about=field, title="Invalid value", detail=detail)


class Inconsistent(DomainError):
    """An input that is valid on its own contradicts another value of the object (a deferral
    that would end after the task's due date)."""

    @classmethod
    def value(cls, field: str, detail: str) -> Self:
        """ "Invalid <field>" ("Invalid value": `detail`)."""
        return cls(f"Invalid {field}", about=field, title="Invalid value", detail=detail)
