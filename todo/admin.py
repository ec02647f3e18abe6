"""Read-only admin pages for the Postgres mirror tables, so that staff can browse rows.

The rows are written by the dual-write engine only; the admin can neither add, change nor delete
them (MongoDB is the source of truth; mend drift with `manage.py dualwrite verify --repair`).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from todo.auth.login_throttle import throttled
from todo.mappings import get_registry

admin.site.site_header = "Todo dual-write administration"
admin.site.index_title = "Postgres mirror (read-only) and staff accounts"

_SYNC = ("sync_status", "source_version", "source_deleted", "last_sync_at")


class ReadOnlyAdmin(admin.ModelAdmin):
    """No add, change or delete; every field is shown read-only."""

    list_per_page = 50
    show_full_result_count = False  # no count(*) of a large table on every page

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)


def _mirror_admin(model: type[models.Model], mapped: list[str]) -> type[ReadOnlyAdmin]:
    shown = ["mongo_id", *mapped[:4], *_SYNC]
    return type(
        f"{model.__name__}Admin",
        (ReadOnlyAdmin,),
        {
            "list_display": shown,
            "list_filter": ("sync_status", "source_deleted"),
            "search_fields": ("=mongo_id",),
            "ordering": ("-id",),  # newest first, by the primary key (no sort of a large table)
        },
    )


def _child_admin(model: type[models.Model]) -> type[ReadOnlyAdmin]:
    columns = [f.name for f in model._meta.concrete_fields if f.name != "id"]
    parent = next(f for f in model._meta.concrete_fields if f.is_relation)
    return type(
        f"{model.__name__}Admin",
        (ReadOnlyAdmin,),
        {"list_display": columns, "search_fields": (f"={parent.name}__mongo_id",), "ordering": ("-id",)},
    )


def register_mirror_tables(site: admin.AdminSite) -> None:
    for mapping in get_registry():
        site.register(mapping.model, _mirror_admin(mapping.model, [f.column for f in mapping.fields]))
        for child in mapping.children:
            if not site.is_registered(child.model):
                site.register(child.model, _child_admin(child.model))


register_mirror_tables(admin.site)
admin.site.login = throttled(admin.site.login)  # type: ignore[method-assign]
