"""Starting and stopping the wire-protocol MongoDB server (tests/wire/server.py) from the project's
Python: `with wire_server() as uri: ...`."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WIRE_PYTHON = Path(os.environ.get("WIRE_PYTHON", ROOT / ".venv-wire" / "bin" / "python"))
SERVER = Path(__file__).resolve().parent / "server.py"


class WireServerMissing(RuntimeError):
    """The side environment is not there (`make .venv-wire/.ready` creates it)."""


@contextmanager
def wire_server(sqlite: Path | None = None, timeout: float = 30.0) -> Iterator[str]:
    """A running server; yields its mongodb:// URI; stops it (SIGTERM, then SIGKILL) after."""
    if not WIRE_PYTHON.exists():
        raise WireServerMissing(f"{WIRE_PYTHON} is missing: run `make .venv-wire/.ready`")
    command = [str(WIRE_PYTHON), str(SERVER), *(["--sqlite", str(sqlite)] if sqlite else [])]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()  # blocks until READY (or the process ends)
        if not line.startswith("READY "):
            rest = process.stdout.read() if process.poll() is not None else ""
            raise RuntimeError(f"wire server did not start: {line} {rest[-2000:]}")
        yield line.split(" ", 1)[1]
    finally:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
