"""An alert hook for tests: DUAL_WRITE_ALERT_HOOK = "tests.engine.alert_sink.record"."""

from typing import Any

EVENTS: list[dict[str, Any]] = []


def record(event: dict[str, Any]) -> None:
    EVENTS.append(event)
