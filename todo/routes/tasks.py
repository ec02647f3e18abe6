"""Routes of tasks, task assignments and the watchlist."""

from django.urls import path

from todo.views.task_assignments import TaskAssignmentDetailView, TaskAssignmentsView
from todo.views.tasks import TaskAssignView, TaskDetailView, TasksView, TaskUpdateView
from todo.views.watchlist import WatchlistCheckView, WatchlistTasksView, WatchlistTaskView

urlpatterns: list = [
    path("tasks", TasksView.as_view(), name="tasks"),
    path("tasks/<str:task_id>", TaskDetailView.as_view(), name="task"),
    path("tasks/<str:task_id>/update", TaskUpdateView.as_view(), name="task-update"),
    path("tasks/<str:task_id>/assign", TaskAssignView.as_view(), name="task-assign"),
    path("task-assignments", TaskAssignmentsView.as_view(), name="task-assignments"),
    path("task-assignments/<str:task_id>", TaskAssignmentDetailView.as_view(), name="task-assignment"),
    path("watchlist/tasks", WatchlistTasksView.as_view(), name="watchlist-tasks"),
    path("watchlist/tasks/check", WatchlistCheckView.as_view(), name="watchlist-check"),
    path("watchlist/tasks/<str:task_id>", WatchlistTaskView.as_view(), name="watchlist-task"),
]
