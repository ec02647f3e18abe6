"""Query values the repositories accept besides plain equality, shared by both implementations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class In:
    """The field equals one of `values`."""

    values: Sequence[Any]


@dataclass(frozen=True)
class Contains:
    """The text field contains `text`, literally (not a pattern), ignoring case."""

    text: str


@dataclass(frozen=True)
class AnyOf:
    """At least one of `alternatives` (each a Filters) holds; put it under the key `ANY_OF`."""

    alternatives: Sequence[dict[str, Any]]


ANY_OF = "$or"
ASC, DESC = 1, -1
# document key → value | In | Contains (a list-valued key matches an item), or ANY_OF → AnyOf
Filters = dict[str, Any]
Sort = list[tuple[str, int]]  # (document key, ASC | DESC); ties are broken by id, ascending
