"""gunicorn settings of the production topology (README "Running in production"):

    gunicorn -c todo_project/gunicorn_conf.py --workers 4 --threads 4 --bind 0.0.0.0:8000 \\
        todo_project.wsgi:application

Threads per process (gthread), request timeouts and a request log without query strings. The retry
worker runs as separate `manage.py dualwrite worker` processes, never inside web processes."""

from __future__ import annotations

from typing import Any

worker_class = "gthread"
timeout = 30
graceful_timeout = 20
accesslog = "-"
# Method, path, status, bytes, milliseconds (no query strings: they can carry ids and searches).
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


def post_worker_init(worker: Any) -> None:
    """Each web process adds its write counts to the dashboard's write history."""
    from django.conf import settings

    from todo.phases import mongodb_is_truth
    from todo.wiring import history_sampler

    if mongodb_is_truth():
        history_sampler().start(settings.WRITE_HISTORY_INTERVAL)


def child_exit(server: Any, worker: Any) -> None:
    """A web process ended: its live gauges leave the summed /metrics (PROMETHEUS_MULTIPROC_DIR)."""
    from prometheus_client import multiprocess

    from todo_project.config import load_config  # the master loads no Django settings

    folder = load_config().PROMETHEUS_MULTIPROC_DIR
    if folder is not None:
        multiprocess.mark_process_dead(worker.pid, str(folder))
