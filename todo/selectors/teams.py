"""Reads about teams shared by the task and team services: live teams and active memberships."""

from __future__ import annotations

from todo.models.documents import Team, UserTeamDetails
from todo.repositories.factory import get_repository


def live_team(team_id: str | None) -> Team | None:
    """The team, unless it does not exist or is deleted."""
    if not team_id:
        return None
    team = get_repository(Team).get_by_id(team_id)
    return None if team is None or team.is_deleted else team


def membership(user_id: str, team_id: str) -> UserTeamDetails | None:
    """The user's active membership (a user_team_details row) of the team, if any."""
    found = get_repository(UserTeamDetails).get_membership(user_id, team_id)
    return found if found is not None and found.is_active else None


def is_member(user_id: str, team_id: str) -> bool:
    """The user is an active member of the team."""
    return membership(user_id, team_id) is not None
