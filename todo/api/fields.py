"""Strict request fields shared by every endpoint's serializers.

Strict means: the body is a JSON object; a key the endpoint does not know is refused; every value
has exactly the JSON type the field wants (no "1" for 1, no 1 for "1", no objects or arrays where a
scalar belongs), so values such as {"$gt": ""} are refused with the field named before anything
reaches a query; text holds no NUL byte or lone surrogate (DRF's CharField validators); ids are
24-hex strings; timestamps are ISO-8601 strings, kept as UTC with the millisecond precision
MongoDB stores. Anything echoed in an error is made printable first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dualwrite.errors import InvalidMongoIdError
from dualwrite.transform import normalise_mongo_id


class StrictCharField(serializers.CharField):
    """A JSON string only (DRF's CharField would turn 1 or 1.5 into text)."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false only (DRF's BooleanField would take "yes", 1, "on"...)."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


def printable(text: str, limit: int = 60) -> str:
    """Text safe to echo in an error: at most `limit` characters, lone surrogates and NUL escaped
    (a lone surrogate cannot be encoded as UTF-8, so echoing it would break the response)."""
    short = text[:limit] + ("..." if len(text) > limit else "")
    return short.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


class StrictChoiceField(serializers.ChoiceField):
    """One of the choices, given as a JSON string."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid_choice", input=type(data).__name__)
        if data not in self.choice_strings_to_values:
            self.fail("invalid_choice", input=printable(data))
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "pattern": "^[0-9a-fA-F]{24}$"})
class ObjectIdField(serializers.Field):
    """A 24-hex id string, returned in lower case."""

    default_error_messages = {"invalid": "Must be a 24-character hex id."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            return normalise_mongo_id(data)
        except InvalidMongoIdError:
            self.fail("invalid")

    def to_representation(self, value: Any) -> str:
        return str(value)


class UtcDateTimeField(serializers.DateTimeField):
    """An ISO-8601 string; a time without offset is UTC; kept at millisecond precision."""

    default_error_messages = {"invalid": "Must be an ISO-8601 date-time string."}

    def to_internal_value(self, data: Any) -> dt.datetime:
        if not isinstance(data, str) or "\x00" in data or len(data) > 64:
            self.fail("invalid")
        try:
            value = super().to_internal_value(data)
            if value.tzinfo is None:
                value = value.replace(tzinfo=dt.UTC)
            value = value.astimezone(dt.UTC)
        except (OverflowError, ValueError):  # e.g. year 9999 with a negative offset
            self.fail("invalid")
        return value.replace(microsecond=value.microsecond // 1000 * 1000)


class StrictSerializer(serializers.Serializer):
    """A JSON object whose keys are all fields of the serializer."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(printable(str(key)) for key in data if key not in self.fields)
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


def unique_ids(ids: list[str]) -> list[str]:
    """The ids in their first-seen order, each once."""
    return list(dict.fromkeys(ids))


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """The validated body, or a ValidationError (rendered as 400 naming each bad field)."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
