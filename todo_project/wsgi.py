"""WSGI entry point: served by waitress through `manage.py serve` (one process), or by gunicorn
with todo_project/gunicorn_conf.py (several; run `manage.py prepare` first). A web process uses
the database: the embedded PostgreSQL (POSTGRES_HOST unset) is started or joined here."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")

application = get_wsgi_application()

from todo.db.startup import start_database  # noqa: E402 - needs the settings configured above

start_database()
