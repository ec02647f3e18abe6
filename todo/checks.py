"""The system check that holds each collection mapping against its tables and its domain model.

A field forgotten on one side is otherwise silent: a document key the mapping does not declare
lands in the `extra` column and verify still says "equal". `check_mappings` (Django system check
`todo.E001`, run by `manage.py check` and before every management command) reports, per mapped
collection:
- a column of its mirror or child tables that no field fills and `unmapped_columns` does not name
  (dualwrite.mapping.declaration_problems);
- a mapped document key (a field, a child table, a key of an embedded object) its domain model does
  not read;
- a field of the domain model that is neither mapped nor declared `in_extra`;
- a mapped collection without a domain model, or a domain model without a mapping.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core import checks
from pydantic import BaseModel

from dualwrite.mapping import CollectionMapping, EmbeddedTable, declaration_problems

CHECK_ID = "todo.E001"


def _sources(model: type[BaseModel]) -> dict[str, str]:
    """Document key → field name of a pydantic model (the key is the alias, else the name)."""
    return {info.alias or name: name for name, info in model.model_fields.items()}


def _nested_model(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    """The pydantic model a field holds (`X | None` included), if it holds one."""
    annotation = model.model_fields[name].annotation
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def domain_problems(mapping: CollectionMapping, model: type[BaseModel]) -> list[str]:
    """Where `mapping` and the domain `model` of its collection disagree (empty when they agree)."""
    keys = _sources(model)
    name = model.__name__
    problems = [
        f"{mapping.collection} maps {source!r}, which {name} does not read"
        for source in sorted(mapping.sources | set(mapping.in_extra))
        if source not in keys
    ]
    accounted = mapping.sources | set(mapping.in_extra) | {"_id"}
    problems += [
        f"{name}.{field} ({source!r}) is neither mapped in {mapping.collection} nor declared in_extra"
        for source, field in keys.items()
        if source not in accounted
    ]
    for child in mapping.children:
        if not isinstance(child, EmbeddedTable) or child.source not in keys:
            continue
        nested = _nested_model(model, keys[child.source])
        if nested is None:
            problems.append(f"{name}.{keys[child.source]} holds no object, but {child.source!r} is embedded")
            continue
        nested_keys = _sources(nested)
        declared = {f.source for f in child.fields}
        problems += [
            f"{mapping.collection}.{child.source} maps {source!r}, which {nested.__name__} does not read"
            for source in sorted(declared - set(nested_keys))
        ]
        problems += [
            f"{nested.__name__}.{field} ({source!r}) is not mapped in {mapping.collection}.{child.source}"
            for source, field in nested_keys.items()
            if source not in declared
        ]
    return problems


def mapping_problems(mappings: Iterable[CollectionMapping], models: Sequence[Any]) -> list[str]:
    """Every problem of `mappings` against their tables and the domain `models` (classes with a
    `collection` name)."""
    by_collection = {model.collection: model for model in models}
    problems: list[str] = []
    mapped: set[str] = set()
    for mapping in mappings:
        mapped.add(mapping.collection)
        problems += declaration_problems(mapping)
        model = by_collection.get(mapping.collection)
        if model is None:
            problems.append(f"{mapping.collection} is mapped but has no domain model")
        else:
            problems += domain_problems(mapping, model)
    problems += [
        f"{model.__name__} ({name}) has no mapping"
        for name, model in by_collection.items()
        if name not in mapped
    ]
    return problems


@checks.register()
def check_mappings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """todo.E001 for each disagreement between the mappings, their tables and the domain models."""
    from todo.mappings import get_registry
    from todo.models.documents import DOMAIN_MODELS

    return [
        checks.Error(problem, hint="see docs/adding-a-field.md", obj="todo.mappings", id=CHECK_ID)
        for problem in mapping_problems(get_registry(), DOMAIN_MODELS)
    ]
