"""Routes of teams, roles and team-creation invite codes."""

urlpatterns: list = []
