"""Response shapes of the API (plain functions from domain models to JSON-ready dicts)."""

from __future__ import annotations

from typing import Any

from todo.models import documents as d


def user(model: d.User) -> dict[str, Any]:
    return {
        "id": model.id,
        "name": model.name,
        "email": model.email_id,
        "picture": model.picture,
        "createdAt": model.created_at,
        "updatedAt": model.updated_at,
    }


def label(model: d.Label) -> dict[str, Any]:
    return {"id": model.id, "name": model.name, "color": model.color, "description": model.description}
