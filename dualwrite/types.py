"""Value types of the mapping: how one MongoDB value becomes one Postgres column value and back.

Each type has three pure functions:
- `to_column(value)`: the value as the column stores it, or `ValueProblem` when it cannot be stored
  faithfully (nothing is truncated or coerced silently);
- `from_column(value)`: the column value back in its canonical document form;
- `canonical(value)`: the canonical document form of a MongoDB value (legacy forms normalised),
  which is what `from_column(to_column(value))` must return.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bson import ObjectId

_HEX24 = re.compile(r"^[0-9a-fA-F]{24}$")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class ValueProblem(ValueError):
    """A value the column cannot hold; the caller adds collection, document id and field.

    `reason` says the same without the value (the message may quote a bounded part of it): what
    reports about a whole database (doctor) show."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


class ValueType:
    """Base of all value types (see module docstring)."""

    kind: ClassVar[str] = "value"

    def to_column(self, value: Any) -> Any:
        raise NotImplementedError

    def from_column(self, value: Any) -> Any:
        return value

    def canonical(self, value: Any) -> Any:
        return self.from_column(self.to_column(value))


def _reject_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueProblem("contains a NUL byte, which PostgreSQL text cannot hold")
    return text


def _type_name(value: Any) -> str:
    return type(value).__name__


@dataclass(frozen=True)
class Text(ValueType):
    """A string (PostgreSQL text: no length limit, no NUL bytes)."""

    kind: ClassVar[str] = "text"

    def to_column(self, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueProblem(f"expected a string, got {_type_name(value)}")
        return _reject_nul(value)


@dataclass(frozen=True)
class Bool(ValueType):
    kind: ClassVar[str] = "bool"

    def to_column(self, value: Any) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        raise ValueProblem(f"expected a boolean, got {_type_name(value)}")


def _as_int(value: Any) -> int:
    # JavaScript clients store whole numbers as doubles; a whole double is the same number.
    if isinstance(value, bool):
        raise ValueProblem("expected an integer, got bool")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    raise ValueProblem(f"expected an integer, got {_type_name(value)}")


@dataclass(frozen=True)
class Int(ValueType):
    """An integer within [minimum, maximum] (default: the BIGINT range)."""

    kind: ClassVar[str] = "int"
    minimum: int = INT64_MIN
    maximum: int = INT64_MAX

    def to_column(self, value: Any) -> int | None:
        if value is None:
            return None
        number = _as_int(value)
        if not self.minimum <= number <= self.maximum:
            raise ValueProblem(
                f"{number} is out of range [{self.minimum}, {self.maximum}]",
                reason=f"out of range [{self.minimum}, {self.maximum}]",
            )
        return number


@dataclass(frozen=True)
class Enum(ValueType):
    """One of a fixed set of values (a CHECK constraint in Postgres)."""

    kind: ClassVar[str] = "enum"
    values: tuple[Any, ...] = ()

    def to_column(self, value: Any) -> Any:
        if value is None:
            return None
        candidate = _as_int(value) if self.values and isinstance(self.values[0], int) else value
        if isinstance(candidate, str):
            _reject_nul(candidate)
        if candidate not in self.values:
            allowed = ", ".join(str(v) for v in self.values)
            shown = repr(candidate)[:40]
            raise ValueProblem(
                f"unknown value {shown}; allowed: {allowed}", reason=f"unknown value; allowed: {allowed}"
            )
        return candidate


@dataclass(frozen=True)
class ObjectIdRef(ValueType):
    """An ObjectId (legacy: its 24-hex string), stored as 24 lower-case hex characters.

    `literals` are plain strings also allowed in the field (e.g. "system" as a creator).
    """

    kind: ClassVar[str] = "objectid"
    literals: tuple[str, ...] = field(default=())

    def to_column(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, ObjectId):
            return str(value)
        if isinstance(value, str):
            if _HEX24.match(value):
                return value.lower()
            if value in self.literals:
                return value
        shown = repr(value)[:40] if isinstance(value, str) else _type_name(value)
        raise ValueProblem(
            f"expected an ObjectId or a 24-hex string, got {shown}",
            reason=f"expected an ObjectId or a 24-hex string, got {'a string' if isinstance(value, str) else shown}",
        )

    def from_column(self, value: Any) -> ObjectId | str | None:
        if value is None or value in self.literals:
            return value
        return ObjectId(value)


def _to_utc_millis(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)  # MongoDB dates are UTC; naive means UTC
    moment = moment.astimezone(dt.UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class Timestamp(ValueType):
    """A date-time (legacy: an ISO-8601 string), kept as MongoDB holds it: UTC, milliseconds."""

    kind: ClassVar[str] = "timestamp"

    def to_column(self, value: Any) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return _to_utc_millis(value)
        if isinstance(value, str):
            try:
                parsed = dt.datetime.fromisoformat(value.strip())
            except ValueError:
                raise ValueProblem(
                    f"not an ISO-8601 date-time: {value[:40]!r}",
                    reason="a string that is not an ISO-8601 date-time",
                ) from None
            return _to_utc_millis(parsed)
        raise ValueProblem(f"expected a date-time, got {_type_name(value)}")

    def from_column(self, value: Any) -> dt.datetime | None:
        return None if value is None else value.astimezone(dt.UTC)
