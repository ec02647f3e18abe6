from todo.models.postgres import *  # noqa: F403  (Django finds the app's models here)
