"""Strip the tombstones written before tombstones kept only what ordering needs.

A tombstone (`source_deleted = true`) used to keep the deleted document's column values and
`extra`. This resets every mapped column of every tombstone to its placeholder default (the
mapping's `Field.default`, as `PostgresSink.tombstone` writes it now), empties `extra` and drops
any child rows left behind. Only columns the historical model has are touched, so the migration
stays valid when the mapping later gains columns added by later migrations. Not reversible in
substance (the stripped values are gone); going back is a no-op.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


def strip_tombstones(apps: Any, schema_editor: Any) -> None:
    from todo.mappings import get_registry

    models_by_table = {m._meta.db_table: m for m in apps.get_app_config("todo").get_models()}
    using = schema_editor.connection.alias
    for mapping in get_registry():
        model = models_by_table.get(mapping.table)
        if model is None:
            continue
        by_column = {f.column: f for f in model._meta.concrete_fields}
        resets: dict[str, Any] = {
            by_column[f.column].attname: f.default for f in mapping.fields if f.column in by_column
        }
        if mapping.extra_column in by_column:
            resets[by_column[mapping.extra_column].attname] = None
        tombstones = model.objects.using(using).filter(source_deleted=True)
        for child in mapping.children:
            child_model = models_by_table.get(child.table)
            if child_model is None:
                continue
            parent = {f.column: f for f in child_model._meta.concrete_fields}[child.parent_column]
            child_model.objects.using(using).filter(
                **{f"{parent.attname}__in": tombstones.values("mongo_id")}
            ).delete()
        tombstones.update(**resets)


class Migration(migrations.Migration):
    dependencies = [
        ("todo", "0004_runtime_flags"),
    ]

    operations = [
        migrations.RunPython(strip_tombstones, migrations.RunPython.noop, elidable=True),
    ]
