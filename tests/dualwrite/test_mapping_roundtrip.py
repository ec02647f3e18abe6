"""Property tests: any valid document of any mapped collection → rows in the real PostgreSQL →
document equals the original's canonical form."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dualwrite.mapping import CollectionMapping
from dualwrite.sink import PostgresSink
from dualwrite.transform import canonical_document, document_to_rows, rows_to_document
from tests.dualwrite.strategies import canonical_documents, legacy_documents
from todo.mappings import get_registry

COLLECTIONS = get_registry().collections
PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _through_postgres(mapping: CollectionMapping, document: dict[str, Any]) -> dict[str, Any]:
    """Write the document's rows, read them back, rebuild the document; each example is rolled
    back so that examples do not meet each other's unique values."""
    sink = PostgresSink()
    with transaction.atomic():
        rowset = document_to_rows(mapping, document)
        assert sink.upsert(mapping, [rowset]) == {rowset.mongo_id}
        row, children = sink.fetch(mapping, [rowset.mongo_id])[rowset.mongo_id]
        transaction.set_rollback(True)
    return rows_to_document(mapping, row, children)


def test_every_collection_of_the_domain_is_mapped() -> None:
    assert sorted(COLLECTIONS) == sorted(
        [
            "users",
            "tasks",
            "teams",
            "labels",
            "roles",
            "task_assignments",
            "watchlists",
            "user_team_details",
            "user_roles",
            "audit_logs",
            "team_creation_invite_codes",
        ]
    )


@pytest.mark.django_db
@pytest.mark.parametrize("collection", COLLECTIONS)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_canonical_document_round_trips_exactly(collection: str, data: st.DataObject) -> None:
    mapping = get_registry().get(collection)
    document = data.draw(canonical_documents(mapping))
    assert _through_postgres(mapping, document) == document
    assert canonical_document(mapping, document) == document


@pytest.mark.django_db
@pytest.mark.parametrize("collection", COLLECTIONS)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_legacy_forms_are_normalised(collection: str, data: st.DataObject) -> None:
    mapping = get_registry().get(collection)
    legacy, canonical = data.draw(legacy_documents(mapping))
    assert _through_postgres(mapping, legacy) == canonical
    assert canonical_document(mapping, legacy) == canonical
