from django.apps import AppConfig
from django.conf import settings


class TodoConfig(AppConfig):
    name = "todo"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Every entry point (manage.py, wsgi, the test runner) needs the database server up before
        # the first query; with POSTGRES_HOST unset that server is the embedded one.
        import todo.api.schema  # noqa: F401 - registers the OpenAPI extension of the sign-in

        self._check_read_sources()
        embedded = settings.EMBEDDED_POSTGRES
        if embedded["ENABLED"]:
            from todo.db.embedded_postgres import EmbeddedPostgresSpec, ensure_embedded_postgres

            db = settings.DATABASES["default"]
            ensure_embedded_postgres(
                EmbeddedPostgresSpec(
                    data_dir=embedded["DATA_DIR"],
                    port=int(db["PORT"]),
                    database=db["NAME"],
                    user=db["USER"],
                    password=db["PASSWORD"],
                    fresh=embedded["FRESH"],
                )
            )

    def _check_read_sources(self) -> None:
        """DUAL_WRITE_READ_SOURCE and MONGODB_COLLECTION_NAMES may only name mapped collections
        (checked at start-up)."""
        from todo.mappings import get_registry
        from todo_project.config import ConfigError

        known = get_registry().collections
        for name, value in (
            ("DUAL_WRITE_READ_SOURCE", settings.DUAL_WRITE_READ_SOURCE),
            ("MONGODB_COLLECTION_NAMES", settings.MONGODB_COLLECTION_NAMES),
        ):
            unknown = sorted(set(value) - set(known))
            if unknown:
                raise ConfigError(
                    f"invalid setting {name}: unknown collection(s) {', '.join(unknown)};"
                    f" expected some of {', '.join(sorted(known))}"
                )
