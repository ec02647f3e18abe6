"""Periodic maintenance run by a long-lived worker loop (e.g. the app's retention purge).

The engine knows nothing of what the maintenance does: the app hands a worker a callable and an
interval. The first run is due at once (a worker restarted more often than the interval still
runs it); a failure is logged in full and the worker goes on, trying again after the interval.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

Maintenance = Callable[[], object]


class Periodic:
    """Runs `action` when `every` seconds have passed since its last run (see module docstring)."""

    def __init__(self, action: Maintenance, every: float, name: str = "maintenance") -> None:
        if every <= 0:
            raise ValueError("the maintenance interval must be above 0 seconds")
        self.action = action
        self.every = every
        self.name = name
        self._last = -math.inf

    def due(self) -> bool:
        return time.monotonic() - self._last >= self.every

    def run_if_due(self) -> bool:
        """Run the action when due; True when it ran (successfully or not)."""
        if not self.due():
            return False
        self._last = time.monotonic()
        try:
            self.action()
        except Exception:  # a worker must outlive a failed maintenance; logged in full
            logger.exception("%s failed; next attempt in %.0f s", self.name, self.every)
        return True
