"""Routes of tasks, task assignments and the watchlist."""

urlpatterns: list = []
