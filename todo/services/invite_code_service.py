"""Team-creation invite codes: generated and listed by admins (GLOBAL moderators, or users listed
in ADMIN_EMAILS), verified by any signed-in user, consumed once when a team is created with them.

An unknown or already used code is Invalid (bad input from the client's point of view: a 400).
Consumption is one conditional update of the code (`{_id, is_used: false}` → used, by the
repository's `mark_used`), so of concurrent requests, in one process or many, exactly one gets it.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import string
from dataclasses import dataclass

from bson import ObjectId

from todo.domain.errors import Invalid
from todo.models.documents import TeamCreationInviteCode, User
from todo.repositories.abstract_repository import now
from todo.repositories.errors import DuplicateKey
from todo.repositories.factory import get_repository
from todo.repositories.queries import DESC, In
from todo.services.role_service import require_admin

CODE_ALPHABET = string.digits + string.ascii_uppercase
OBJECT_ID = re.compile(r"[0-9a-f]{24}")


@dataclass(frozen=True)
class Person:
    id: str
    name: str | None


@dataclass(frozen=True)
class InviteCodeDetails:
    """A code as the admin table shows it: who made and used it, by name."""

    id: str
    code: str
    description: str | None
    created_by: Person
    created_at: dt.datetime  # never missing: an older code without one shows its id's time
    used_at: dt.datetime | None
    used_by: Person | None
    is_used: bool


def _find(code: str) -> TeamCreationInviteCode | None:
    """The code as typed, else in upper case (generated codes are upper case)."""
    codes = get_repository(TeamCreationInviteCode)
    found = codes.get_by_code(code)
    if found is None and code.upper() != code:
        found = codes.get_by_code(code.upper())
    return found


# One answer for unknown and used codes: a guesser learns nothing about which codes exist.
UNUSABLE = "Unknown or already used team-creation invite code"


def _usable_code(code: str, field: str) -> TeamCreationInviteCode:
    """The unused code (Invalid about `field`, the input holding the code, otherwise)."""
    found = _find(code)
    if found is None or found.is_used:
        raise Invalid(UNUSABLE, about=field)
    return found


def invite_code_generate(*, actor: str, description: str | None) -> TeamCreationInviteCode:
    """A new unused code of 6 characters (admins only)."""
    require_admin(actor)
    codes = get_repository(TeamCreationInviteCode)
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
        if codes.get_by_code(code) is not None:
            continue
        try:
            return codes.create(
                {"code": code, "description": description or None, "created_by": actor, "created_at": now(),
                 "is_used": False, "used_by": None, "used_at": None},
                actor=actor,
            )  # fmt: skip
        except DuplicateKey:  # a concurrent request took the same code first: draw another
            continue


def invite_code_verify(*, actor: str, code: str) -> TeamCreationInviteCode:
    """The code when it exists and is unused (Invalid otherwise); it stays unused."""
    return _usable_code(code, "code")


def _details(codes: list[TeamCreationInviteCode]) -> list[InviteCodeDetails]:
    """The codes with their creators' and users' names (one query for all the names)."""
    ids = sorted({u for c in codes for u in (c.created_by, c.used_by) if u and OBJECT_ID.fullmatch(u)})
    names = {u.id: u.name for u in get_repository(User).get_all({"_id": In(ids)})} if ids else {}

    def person(user_id: str | None) -> Person | None:
        return Person(user_id, names.get(user_id)) if user_id else None

    return [
        InviteCodeDetails(
            id=c.id,
            code=c.code or "",
            description=c.description,
            created_by=person(c.created_by) or Person("", None),
            created_at=c.created_at or ObjectId(c.id).generation_time,
            used_at=c.used_at,
            used_by=person(c.used_by),
            is_used=c.is_used,
        )
        for c in codes
    ]


def invite_code_list(*, actor: str, page: int, limit: int) -> tuple[list[InviteCodeDetails], int]:
    """One page of the codes, newest first (admins only), and how many there are."""
    require_admin(actor)
    codes = get_repository(TeamCreationInviteCode)
    return _details(codes.get_all({}, [("created_at", DESC)], page, limit)), codes.count({})


def consume_invite_code(*, code: str, actor: str) -> TeamCreationInviteCode:
    """Mark an unused code used by `actor` (Invalid when unknown or already used)."""
    found = _usable_code(code, "team_invite_code")
    used = get_repository(TeamCreationInviteCode).mark_used(
        found.id, used_by=actor, used_at=now(), actor=actor
    )
    if used is None:  # another request (of any process) took it since it was read
        raise Invalid(UNUSABLE, about="team_invite_code")
    return used


def release_invite_code(*, code_id: str, actor: str) -> bool:
    """Give a code `actor` consumed back (the team it was for could not be made), so that the
    request can be repeated; False when the code is not held by `actor`."""
    return get_repository(TeamCreationInviteCode).release(code_id, used_by=actor)
