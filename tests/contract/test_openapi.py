"""The OpenAPI document describes the real shapes: every JSON success answer of every operation
has a typed schema (named properties or a component), never a bare `object`."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def is_typed(schema: dict[str, Any], document: dict[str, Any]) -> bool:
    schema = resolve(schema, document)
    for key in ("oneOf", "anyOf", "allOf"):
        if key in schema:
            return all(is_typed(part, document) for part in schema[key])
    if schema.get("type") == "array":
        return is_typed(schema.get("items", {}), document)
    return bool(schema.get("properties")) or schema.get("type") not in (None, "object")


def test_every_success_answer_has_a_typed_schema(mongo_db: Any) -> None:
    document = Client().get("/v1/schema?format=json").json()
    untyped = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {}).get("application/json")
                if code.startswith("2") and content is not None and not is_typed(content["schema"], document):
                    untyped.append(f"{method.upper()} {path} {code}")
    assert untyped == []
