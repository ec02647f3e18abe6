"""OpenAPI post-processing: every operation documents the common error shape for the error
statuses the API uses, and the bearer / cookie sign-in."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

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
    "413": "Request body too large",
}


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOKS entry."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, description in ERROR_STATUSES.items():
                operation["responses"].setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": ref}}}
                )
    return result


class JWTAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents the sign-in: an RS256 access token as a bearer header or the todo-access cookie."""

    target_class = "todo.auth.authentication.JWTAuthentication"
    name = ["bearer", "cookie"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[str]]]:
        return [{"bearer": []}, {"cookie": []}]  # either one

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            {"type": "apiKey", "in": "cookie", "name": "todo-access"},
        ]
