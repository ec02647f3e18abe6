"""OpenAPI post-processing: every operation documents the common error shape for the error
statuses the API uses, and the bearer / cookie sign-in."""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "required": ["statusCode", "message", "errors"],
    "properties": {
        "statusCode": {"type": "integer"},
        "message": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "source": {"type": "object", "additionalProperties": {"type": "string"}},
                    "title": {"type": "string"},
                    "detail": {"type": "string"},
                },
            },
        },
    },
}
ERROR_STATUSES = {
    "400": "Invalid input (the errors name the fields or parameters)",
    "401": "Not signed in",
    "403": "Not allowed",
    "404": "Not found",
    "409": "Conflicts with the current state",
}
PUBLIC_PREFIXES = ("/v1/health", "/v1/auth/", "/v1/schema", "/v1/docs")


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOKS entry."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    components.setdefault("securitySchemes", {})["bearer"] = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    ref = {"$ref": "#/components/schemas/Error"}
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, description in ERROR_STATUSES.items():
                operation["responses"].setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": ref}}}
                )
            if not path.startswith(PUBLIC_PREFIXES):
                operation["security"] = [{"bearer": []}]
    return result
