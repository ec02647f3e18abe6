"""A field forgotten on one side of the mapping is loud: the system check todo.E001 (todo/checks.py)
names it, in both directions, and a domain field without a column stops the registry from being
built. Broken mappings are built here; the real one is only read."""

from __future__ import annotations

import dataclasses
import re

import pytest
from django.core import checks
from django.core.management import call_command

from dualwrite.errors import MappingDeclarationError
from dualwrite.mapping import CollectionMapping, EmbeddedTable, Field, declaration_problems
from todo import mappings
from todo.checks import CHECK_ID, check_mappings, domain_problems, mapping_problems
from todo.models import documents as domain_models
from todo.models import postgres as postgres_models


class TaskWithForgottenField(domain_models.Task):
    """The task model with a field added on the domain side only."""

    forgotten_field: int | None = None


def real(collection: str) -> CollectionMapping:
    return mappings.get_registry().get(collection)


def without(mapping: CollectionMapping, source: str) -> CollectionMapping:
    return dataclasses.replace(mapping, fields=tuple(f for f in mapping.fields if f.source != source))


def test_the_real_mappings_agree_with_their_tables_and_domain_models() -> None:
    assert mapping_problems(mappings.get_registry(), domain_models.DOMAIN_MODELS) == []
    assert check_mappings() == []
    call_command("check")  # raises SystemCheckError on any error


def test_a_column_no_field_fills_is_named() -> None:
    broken = without(real("tasks"), "title")
    assert declaration_problems(broken) == [
        "postgres_tasks column 'title' is neither mapped nor listed in unmapped_columns"
    ]
    # Listing it as left alone on purpose is the explicit way out.
    assert declaration_problems(dataclasses.replace(broken, unmapped_columns=("title",))) == []


def test_a_child_table_column_no_field_fills_is_named() -> None:
    tasks = real("tasks")
    children = tuple(
        dataclasses.replace(c, fields=tuple(f for f in c.fields if f.source != "deferredBy"))
        if isinstance(c, EmbeddedTable)
        else c
        for c in tasks.children
    )
    broken = dataclasses.replace(tasks, children=children)
    assert declaration_problems(broken) == [
        "postgres_deferred_details column 'deferred_by' is not mapped by tasks.deferredDetails"
    ]
    assert domain_problems(broken, domain_models.Task) == [
        "DeferredDetails.deferred_by ('deferredBy') is not mapped in tasks.deferredDetails"
    ]


def test_a_domain_field_that_is_not_mapped_is_named() -> None:
    assert domain_problems(real("tasks"), TaskWithForgottenField) == [
        "TaskWithForgottenField.forgotten_field ('forgottenField') is neither mapped in tasks nor declared in_extra"
    ]


def test_a_field_kept_in_extra_on_purpose_is_declared() -> None:
    users = real("users")
    assert users.in_extra == ("token_version",)
    assert domain_problems(dataclasses.replace(users, in_extra=()), domain_models.User) == [
        "User.token_version ('token_version') is neither mapped in users nor declared in_extra"
    ]


def test_a_mapped_key_the_domain_model_does_not_read_is_named() -> None:
    tasks = real("tasks")
    broken = dataclasses.replace(
        tasks, fields=(*tasks.fields, Field("forgottenField", "title", mappings.TEXT))
    )
    assert domain_problems(broken, domain_models.Task) == [
        "tasks maps 'forgottenField', which Task does not read"
    ]


def test_a_collection_without_a_domain_model_and_a_model_without_a_mapping_are_named() -> None:
    problems = mapping_problems([real("tasks")], [domain_models.Task, domain_models.Label])
    assert problems == ["Label (labels) has no mapping"]
    assert mapping_problems([real("tasks")], []) == ["tasks is mapped but has no domain model"]


def test_the_system_check_reports_each_problem_as_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = mappings.get_registry()
    broken = [without(registry.get("tasks"), "title"), *(m for m in registry if m.collection != "tasks")]
    monkeypatch.setattr(mappings, "get_registry", lambda: broken)
    found = check_mappings()
    assert [(m.level, m.id) for m in found] == [(checks.ERROR, CHECK_ID)] * 2
    assert {m.msg for m in found} == {
        "postgres_tasks column 'title' is neither mapped nor listed in unmapped_columns",
        "Task.title ('title') is neither mapped in tasks nor declared in_extra",
    }


def test_a_domain_field_without_a_column_stops_the_mapping_from_being_built() -> None:
    with pytest.raises(
        MappingDeclarationError,
        match=re.escape("postgres_tasks has no column 'forgotten_field' (derived from"),
    ):
        mappings.collection(
            TaskWithForgottenField,
            postgres_models.PostgresTask,
            types={"priority": mappings.TEXT, "status": mappings.TEXT},
            children=real("tasks").children,
        )


def test_the_derived_fields_keep_the_domain_defaults_and_types() -> None:
    tasks = real("tasks").by_source
    assert tasks["displayId"] == Field("displayId", "display_id", mappings.TEXT)
    assert tasks["isAcknowledged"] == Field("isAcknowledged", "is_acknowledged", mappings.BOOL, False)
    assert tasks["createdBy"].type == mappings.ACTOR
    assert tasks["dueAt"].type == mappings.TIME
    assert real("watchlists").by_source["taskId"] == Field("taskId", "task_id", mappings.REF)
