"""`todo.wiring`: one engine per process and phase, shared by the repositories and the documented
service, rebuilt when the settings or the phase change."""

from __future__ import annotations

import pytest

from todo.repositories.mongo_repository import TaskRepository
from todo.services.dual_write_service import DualWriteService
from todo.wiring import dual_write_engine, reset_engine

pytestmark = pytest.mark.django_db


def test_repositories_and_the_service_share_one_engine(mongo_db) -> None:
    engine = dual_write_engine()
    assert dual_write_engine() is engine
    assert TaskRepository().engine is engine
    assert TaskRepository().engine is engine
    assert DualWriteService().engine is engine
    reset_engine()
    assert dual_write_engine() is not engine


def test_a_changed_setting_gives_a_new_engine(mongo_db, settings) -> None:
    settings.DUAL_WRITE_RETRY_ATTEMPTS = 4
    before = dual_write_engine()
    assert before.enabled and before.policy.attempts == 4
    settings.DUAL_WRITE_ENABLED = False
    settings.DUAL_WRITE_RETRY_ATTEMPTS = 7
    after = dual_write_engine()
    assert after is not before
    assert not after.enabled and after.policy.attempts == 7 and after.queue.policy.attempts == 7


def test_the_engine_follows_a_runtime_phase_move(mongo_db, monkeypatch) -> None:
    """The phase is a runtime flag (no setting changes): the cache is keyed by it."""
    phase = ["dual_write"]
    monkeypatch.setattr("todo.wiring.current_phase", lambda: phase[0])
    writable = dual_write_engine()
    assert not writable.read_only
    phase[0] = "postgres_only"
    assert dual_write_engine().read_only
    assert TaskRepository().engine.read_only
    phase[0] = "read_migration"
    assert dual_write_engine() is writable
