"""Concurrent first sign-ins on a fresh data folder: every token issued must verify.

Found by the load benchmark: the first concurrent requests of a fresh service answered 401
"invalid token", because concurrent first callers each generated and wrote their own key pair.
Generation now holds a thread and a file lock and writes the private key last, atomically.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from todo.auth import tokens

pytestmark = pytest.mark.faults

CALLERS = 8


@pytest.fixture
def fresh_key_folder(settings: Any, tmp_path: Path) -> Iterator[Path]:
    settings.JWT_PRIVATE_KEY = None
    settings.JWT_PUBLIC_KEY = None
    settings.DATA_DIR = tmp_path
    tokens.key_pair.cache_clear()
    yield tmp_path
    tokens.key_pair.cache_clear()  # the other tests read the test run's own key pair again


def test_concurrent_first_sign_ins_on_a_fresh_data_folder_issue_tokens_that_verify(
    fresh_key_folder: Path,
) -> None:
    start = threading.Barrier(CALLERS)
    issued: list[str] = []
    lock = threading.Lock()

    errors: list[str] = []

    def sign_in(number: int) -> None:
        start.wait()
        try:
            token = tokens.issue(f"{number:024x}")
        except Exception as exc:  # noqa: BLE001 (any failure to sign is the finding; e.g. a half-written key file)
            with lock:
                errors.append(f"{type(exc).__name__}: {str(exc)[:80]}")
            return
        with lock:
            issued.append(token)

    threads = [threading.Thread(target=sign_in, args=(n,)) for n in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(issued) == CALLERS
    rejected = []
    for token in issued:
        try:
            tokens.verify(token)
        except tokens.TokenError as exc:
            rejected.append(str(exc))
    assert rejected == []
