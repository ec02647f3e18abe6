"""Starting the database server a process needs, and only when it needs one.

`django.setup()` starts nothing: with POSTGRES_HOST unset, the embedded PostgreSQL is started by
the entry points that reach the database, explicitly: `manage.py` (every command but those of
`NO_DATABASE_COMMANDS`, and none for `--help`/`--version`), the WSGI module (web processes:
`manage.py serve`, gunicorn), the test suite (tests/conftest.py) and the benchmarks.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from todo.db.embedded_postgres import EmbeddedPostgres, EmbeddedPostgresSpec, ensure_embedded_postgres

# Commands that never connect to PostgreSQL. `issue_token` asks the running service over HTTP with
# the in-process MongoDB, and starts the database itself when it writes directly (todo/management/
# commands/issue_token.py). `check` runs no database checks unless given --database (then it is
# started). Any other command, Django's `makemigrations` included (it checks the applied migrations'
# consistency), starts it.
NO_DATABASE_COMMANDS = frozenset({"help", "version", "check", "diffsettings", "issue_token"})
HELP_OPTIONS = frozenset({"-h", "--help", "--version"})


def command_needs_database(argv: Sequence[str]) -> bool:
    """Whether `manage.py` with `argv` (sys.argv) runs a command that connects to PostgreSQL."""
    if len(argv) < 2:
        return False  # no command: the help text
    command, options = argv[1], argv[2:]
    if command in HELP_OPTIONS or HELP_OPTIONS.intersection(options):
        return False
    if command == "check":
        return any(option == "--database" or option.startswith("--database=") for option in options)
    return command not in NO_DATABASE_COMMANDS


def start_database() -> EmbeddedPostgres | None:
    """Start (or join) the embedded PostgreSQL when POSTGRES_HOST is unset; once per process.

    Django's connection settings get the port the server really listens on (another than the
    default when the default was taken), so call this before the first query."""
    embedded = settings.EMBEDDED_POSTGRES
    if not embedded["ENABLED"]:
        return None
    db = settings.DATABASES["default"]
    server = ensure_embedded_postgres(
        EmbeddedPostgresSpec(
            data_dir=embedded["DATA_DIR"],
            port=int(db["PORT"]),
            database=db["NAME"],
            user=db["USER"],
            password=db["PASSWORD"],
            fresh=embedded["FRESH"],
            port_explicit=embedded["PORT_EXPLICIT"],
        )
    )
    db["PORT"] = server.port
    return server
