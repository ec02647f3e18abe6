"""Pieces shared by the response serializers of every area: dates as the web client parses them,
pagination links, and rendering a value through a response serializer (so that the OpenAPI
document describes exactly what is sent: keys a serializer does not declare are not sent)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rest_framework import serializers


def zoned(value: dt.datetime) -> str:
    """`Date.toISOString()`'s form: UTC, milliseconds, `Z` (a stored time without zone is UTC, as
    MongoDB keeps it)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ZonedDateTimeField(serializers.DateTimeField):
    """A date-time rendered by `zoned`, whatever the stored value holds."""

    # None for an absent value, as DRF's own DateTimeField answers; the stubs say str only.
    def to_representation(self, value: Any) -> str | None:  # type: ignore[override]
        if value is None:
            return None
        if isinstance(value, str):  # an older document's ISO text
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return zoned(value)


class LinksOut(serializers.Serializer):
    next = serializers.CharField(allow_null=True)
    prev = serializers.CharField(allow_null=True)


def envelope(
    name: str, data: type[serializers.Serializer], *, many: bool = False
) -> type[serializers.Serializer]:
    """A response serializer `{"statusCode", "data": <data>}` named `name` (its OpenAPI component)."""
    status_code = serializers.IntegerField()  # made first: fields keep their creation order
    return type(name, (serializers.Serializer,), {"statusCode": status_code, "data": data(many=many)})


def render(shape: type[serializers.Serializer], value: Any, *, many: bool = False) -> Any:
    """`value` (plain dicts, domain models or service dataclasses) rendered through a response
    serializer: declared keys only, dates zoned."""
    return shape(value, many=many).data
