"""Team-creation invite codes: generated and listed by admins (holders of the GLOBAL moderator
role), verified by admins, consumed once when a team is created with them.

Consumption checks and marks the code under a process lock, so two requests of one process cannot
both use a code; across processes the repositories offer no compare-and-set (see the README).
"""

from __future__ import annotations

import secrets
import string
import threading

from rest_framework import status

from todo.models.documents import TeamCreationInviteCode
from todo.repositories.abstract_repository import now
from todo.repositories.factory import get_repository
from todo.repositories.queries import DESC
from todo.services.role_service import error, require_moderator

CODE_ALPHABET = string.digits + string.ascii_uppercase
_consume_lock = threading.Lock()


def _code_or_404(code: str) -> TeamCreationInviteCode:
    found = get_repository(TeamCreationInviteCode).get_by_code(code)
    if found is None:
        raise error(status.HTTP_404_NOT_FOUND, "Unknown team-creation invite code", {"pointer": "code"})
    return found


def invite_code_generate(*, actor: str, description: str | None) -> TeamCreationInviteCode:
    require_moderator(actor)
    codes = get_repository(TeamCreationInviteCode)
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
        if codes.get_by_code(code) is None:
            break
    return codes.create(
        {"code": code, "description": description or None, "created_by": actor, "created_at": now(),
         "is_used": False, "used_by": None, "used_at": None},
        actor=actor,
    )  # fmt: skip


def invite_code_verify(*, actor: str, code: str) -> TeamCreationInviteCode:
    """The code when it exists and is unused (404 unknown, 409 already used)."""
    require_moderator(actor)
    found = _code_or_404(code)
    if found.is_used:
        raise error(status.HTTP_409_CONFLICT, "This invite code has already been used", {"pointer": "code"})
    return found


def invite_code_list(*, actor: str, page: int, limit: int) -> tuple[list[TeamCreationInviteCode], int]:
    require_moderator(actor)
    codes = get_repository(TeamCreationInviteCode)
    return codes.get_all({}, [("created_at", DESC)], page, limit), codes.count({})


def consume_invite_code(*, code: str, actor: str) -> TeamCreationInviteCode:
    """Mark an unused code used by `actor` (404 unknown, 409 already used)."""
    codes = get_repository(TeamCreationInviteCode)
    with _consume_lock:
        found = codes.get_by_code(code)
        if found is None:
            raise error(
                status.HTTP_404_NOT_FOUND,
                "Unknown team-creation invite code",
                {"pointer": "team_invite_code"},
            )
        if found.is_used:
            raise error(
                status.HTTP_409_CONFLICT,
                "This invite code has already been used",
                {"pointer": "team_invite_code"},
            )
        used = codes.update(found.id, {"is_used": True, "used_by": actor, "used_at": now()}, actor=actor)
    assert used is not None
    return used
