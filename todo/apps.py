from django.apps import AppConfig
from django.conf import settings


class TodoConfig(AppConfig):
    name = "todo"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # No database server is started here: the entry points that need one start it
        # (todo.db.startup), so that `manage.py help` or `issue_token` start none.
        # Imported for what they register: the OpenAPI extension of the sign-in (todo.api.schema)
        # and the mapping check todo.E001 (todo.checks).
        import todo.api.schema
        import todo.checks  # noqa: F401

        self._check_read_sources()

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
