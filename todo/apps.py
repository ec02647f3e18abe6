from django.apps import AppConfig
from django.conf import settings


class TodoConfig(AppConfig):
    name = "todo"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Every entry point (manage.py, wsgi, the test runner) needs the database server up before
        # the first query; with POSTGRES_HOST unset that server is the embedded one.
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
