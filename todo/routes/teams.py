"""Routes of teams, roles and team-creation invite codes."""

from django.urls import path

from todo.views.invite_codes import InviteCodeGenerateView, InviteCodesView, InviteCodeVerifyView
from todo.views.roles import (
    RolesView,
    RoleView,
    TeamUserRolesView,
    TeamUserRoleView,
    TeamUsersRolesView,
    UserRolesView,
)
from todo.views.teams import (
    JoinByInviteView,
    TeamActivityView,
    TeamDetailView,
    TeamInviteCodeView,
    TeamMembersView,
    TeamMemberView,
    TeamsView,
)

urlpatterns = [
    path("teams", TeamsView.as_view(), name="teams"),
    path("teams/join-by-invite", JoinByInviteView.as_view(), name="team-join-by-invite"),
    path("teams/<str:team_id>", TeamDetailView.as_view(), name="team"),
    path("teams/<str:team_id>/members", TeamMembersView.as_view(), name="team-members"),
    path("teams/<str:team_id>/members/<str:user_id>", TeamMemberView.as_view(), name="team-member"),
    path("teams/<str:team_id>/invite-code", TeamInviteCodeView.as_view(), name="team-invite-code"),
    path("teams/<str:team_id>/activity-timeline", TeamActivityView.as_view(), name="team-activity"),
    path("teams/<str:team_id>/users/roles", TeamUsersRolesView.as_view(), name="team-users-roles"),
    path(
        "teams/<str:team_id>/users/<str:user_id>/roles", TeamUserRolesView.as_view(), name="team-user-roles"
    ),
    path(
        "teams/<str:team_id>/users/<str:user_id>/roles/<str:role_id>",
        TeamUserRoleView.as_view(),
        name="team-user-role",
    ),
    path("roles", RolesView.as_view(), name="roles"),
    path("roles/<str:role_id>", RoleView.as_view(), name="role"),
    path("users/<str:user_id>/roles", UserRolesView.as_view(), name="user-roles"),
    path("team-invite-codes", InviteCodesView.as_view(), name="team-invite-codes"),
    path("team-invite-codes/generate", InviteCodeGenerateView.as_view(), name="team-invite-codes-generate"),
    path("team-invite-codes/verify", InviteCodeVerifyView.as_view(), name="team-invite-codes-verify"),
]
