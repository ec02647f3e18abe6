"""The named counters (display ids) behind one repository interface in each store, picked by phase."""

from __future__ import annotations

from typing import Any

import pytest

from todo.repositories.counters import CounterRepository, MongoCounterRepository, PostgresCounterRepository
from todo.repositories.factory import get_counter_repository

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=[MongoCounterRepository, PostgresCounterRepository])
def counters(request: pytest.FixtureRequest, mongo_db: Any) -> CounterRepository:
    return request.param()


def test_a_counter_counts_up_and_is_lifted_but_never_lowered(counters: CounterRepository) -> None:
    assert counters.value("c") == 0
    assert [counters.next_value("c") for _ in range(3)] == [1, 2, 3]
    assert counters.value("c") == 3 and counters.value("other") == 0
    counters.lift("c", 10)
    counters.lift("c", 4)
    assert counters.value("c") == 10
    assert counters.next_value("c") == 11


@pytest.mark.parametrize(
    ("phase", "store"),
    [("dual_write", MongoCounterRepository), ("read_migration", MongoCounterRepository),
     ("postgres_only", PostgresCounterRepository)],
)  # fmt: skip
def test_the_phase_s_store_of_record_hands_out_numbers(settings: Any, phase: str, store: type) -> None:
    settings.MIGRATION_PHASE = phase
    assert type(get_counter_repository()) is store
