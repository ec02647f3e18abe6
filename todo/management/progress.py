"""Progress of long operator commands: a tqdm bar (count, rate, ETA) on a terminal, plain lines
every few seconds otherwise (logs, CI, pipes)."""

from __future__ import annotations

import time
from typing import Any, TextIO

from tqdm import tqdm


class Progress:
    """Call with (done, total); `close()` when finished."""

    def __init__(self, out: TextIO, label: str, *, tty: bool | None = None, interval: float = 5.0) -> None:
        self.out = out
        self.label = label
        self.tty = out.isatty() if tty is None else tty
        self.interval = interval
        self._bar: Any = None
        self._started = time.monotonic()
        self._last_line = self._started
        self._done = 0
        self._base: int | None = None  # where this run started (a resumed run starts above 0)

    def __call__(self, done: int, total: int | None) -> None:
        if self._base is None:
            self._base = done
        if self.tty:
            if self._bar is None:
                self._bar = tqdm(
                    total=total, desc=self.label, unit="doc", unit_scale=True, file=self.out, initial=done
                )
            else:
                self._bar.update(done - self._done)
            self._done = done
            return
        self._done = done
        now = time.monotonic()
        if now - self._last_line >= self.interval:
            self._last_line = now
            self.out.write(self.line(done, total, now - self._started) + "\n")
            self.out.flush()

    def line(self, done: int, total: int | None, elapsed: float) -> str:
        rate = (done - (self._base or 0)) / elapsed if elapsed > 0 else 0.0
        text = f"{self.label}: {done}"
        if total:
            text += f"/{total} ({done * 100 // max(total, 1)}%)"
        text += f", {rate:,.0f} docs/s"
        if total and rate > 0 and done < total:
            text += f", ETA {(total - done) / rate:,.0f} s"
        return text

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
