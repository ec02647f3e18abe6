#!/usr/bin/env python
"""Django's command-line utility. Start-up errors (a bad setting, a database server that cannot
start) end with one line on stderr and exit code 2, not a traceback. The embedded PostgreSQL is
started only for commands that use the database (todo.db.startup)."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
    import django
    from django.core.management import execute_from_command_line

    from todo.db.embedded_postgres import EmbeddedPostgresError
    from todo.phases import PhaseNotReady
    from todo_project.config import ConfigError

    try:
        django.setup()
        from todo.db.startup import command_needs_database, start_database

        if command_needs_database(sys.argv):
            start_database()
        execute_from_command_line(sys.argv)
    except (ConfigError, EmbeddedPostgresError, PhaseNotReady) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
