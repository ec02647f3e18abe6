"""Property-based run of the whole API against its own OpenAPI schema (bounded in `make test`):
no 5xx, and no response that contradicts the schema, for every operation, signed in."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from todo.auth import tokens
from todo_project.wsgi import application

EXAMPLES = 10  # per operation


@pytest.mark.django_db(transaction=True)
def test_every_operation_honours_the_schema(user: Any) -> None:
    schema = schemathesis.openapi.from_wsgi("/v1/schema", application)
    headers = {"Authorization": f"Bearer {tokens.issue(user.id)}"}
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def exercise(case: Any) -> None:
            # Schema-valid is not always domain-valid (an id must exist, a sign-in state must be
            # signed), so a 4xx answer to such data is allowed; 5xx and schema violations are not.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        try:
            exercise()
        except Exception as exc:  # noqa: BLE001 - collected per operation and reported below
            failures[operation.label] = f"{type(exc).__name__}: {str(exc)[:600]}"
    assert operations >= 5
    assert failures == {}
