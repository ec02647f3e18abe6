"""Hypothesis strategies derived from a CollectionMapping: any collection declared in the mapping
gets canonical documents and their legacy-form variants without code of its own."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bson import ObjectId
from hypothesis import strategies as st

from dualwrite.mapping import ArrayTable, CollectionMapping, EmbeddedTable, Field
from dualwrite.types import Bool, Enum, Int, ObjectIdRef, Text, Timestamp, ValueType

object_ids = st.binary(min_size=12, max_size=12).map(ObjectId)
# Any text PostgreSQL can hold: every code point but NUL and the surrogates.
texts = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=60)
# Canonical timestamps: UTC, millisecond precision, across the whole datetime range.
timestamps = st.datetimes(
    min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.just(dt.UTC)
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))


def value_strategy(value_type: ValueType) -> st.SearchStrategy[Any]:
    if isinstance(value_type, Text):
        return texts
    if isinstance(value_type, Bool):
        return st.booleans()
    if isinstance(value_type, Enum):
        return st.sampled_from(value_type.values)
    if isinstance(value_type, Int):
        return st.integers(value_type.minimum, value_type.maximum)
    if isinstance(value_type, ObjectIdRef):
        return object_ids | st.sampled_from(value_type.literals) if value_type.literals else object_ids
    if isinstance(value_type, Timestamp):
        return timestamps
    raise TypeError(f"no strategy for {value_type!r}")


def _field_value(field: Field) -> st.SearchStrategy[Any]:
    values = value_strategy(field.type)
    return values if field.default is not None else st.none() | values


# Undeclared keys: kept in `extra` as extended JSON, so any BSON-ish value must survive.
extra_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | texts | object_ids | timestamps,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(texts.filter(lambda k: k and "$" not in k), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def canonical_documents(draw: st.DrawFn, mapping: CollectionMapping) -> dict[str, Any]:
    """A document in canonical form: what its rows must read back as, exactly."""
    document: dict[str, Any] = {"_id": draw(object_ids)}
    for field in mapping.fields:
        document[field.source] = draw(_field_value(field))
    for child in mapping.children:
        if isinstance(child, ArrayTable):
            document[child.source] = draw(st.lists(value_strategy(child.item_type), max_size=5, unique=True))
        elif isinstance(child, EmbeddedTable):
            nested = st.fixed_dictionaries({f.source: _field_value(f) for f in child.fields})
            document[child.source] = draw(st.none() | nested)
    names = st.text(st.characters(categories=["Ll", "Lu"]), min_size=1, max_size=12)
    extra_keys = draw(st.lists(names.filter(lambda k: k not in mapping.sources), max_size=3, unique=True))
    for key in extra_keys:
        document[key] = draw(extra_values)
    return document


def _legacy_value(draw: st.DrawFn, value_type: ValueType, value: Any) -> Any:
    """The same value as an older deployment may have stored it."""
    if isinstance(value, ObjectId) and draw(st.booleans()):
        text = str(value)
        return text.upper() if draw(st.booleans()) else text
    if isinstance(value_type, Timestamp) and value is not None:
        choice = draw(st.sampled_from(["iso", "naive", "offset", "micro"]))
        if choice == "iso":
            return value.isoformat().replace("+00:00", "Z")
        if choice == "naive":
            return value.replace(tzinfo=None)
        if choice == "offset" and 2 <= value.year <= 9998:
            return value.astimezone(dt.timezone(dt.timedelta(hours=draw(st.integers(-12, 14)))))
        if choice == "micro":  # sub-millisecond digits MongoDB would not keep
            return value.replace(microsecond=value.microsecond + draw(st.integers(0, 999)))
    if isinstance(value_type, Enum) and isinstance(value, int) and draw(st.booleans()):
        return float(value)  # whole numbers written by JavaScript clients are doubles
    return value


@st.composite
def legacy_documents(draw: st.DrawFn, mapping: CollectionMapping) -> tuple[dict[str, Any], dict[str, Any]]:
    """(legacy document, its canonical form)."""
    canonical = draw(canonical_documents(mapping))
    legacy = dict(canonical)
    legacy["_id"] = _legacy_value(draw, ObjectIdRef(), canonical["_id"])
    for field in mapping.fields:
        value = canonical[field.source]
        if field.default is not None and value == field.default and draw(st.booleans()):
            del legacy[field.source]  # missing key: takes the domain default
            continue
        if value is None and draw(st.booleans()):
            del legacy[field.source]
            continue
        legacy[field.source] = _legacy_value(draw, field.type, value)
    for child in mapping.children:
        value = canonical[child.source]
        if isinstance(child, ArrayTable):
            items = [_legacy_value(draw, child.item_type, v) for v in value]
            if items and draw(st.booleans()):
                items.append(items[0])  # a repeated item is stored once
            legacy[child.source] = items
        elif value is not None:
            legacy[child.source] = {
                f.source: _legacy_value(draw, f.type, value[f.source]) for f in child.fields
            }
    return legacy, canonical
