"""The test suite's wire lane: the given suites once more against a real MongoDB wire protocol.

    python -m tests.wire.run_lane [PATHS...] [-- PYTEST_ARGS...]

Starts the wire-protocol server (tests/wire/server.py, in the Python 3.13 side environment) through
the harness, runs `python -m pytest PATHS -m "not stand_in_only"` as a subprocess with MONGODB_URI
and MONGODB_DB pointing at it and WIRE_LANE=1 (tests keep their data small then), stops the server
and exits with pytest's exit code; "no tests collected" (5) counts as a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.wire.harness import ROOT, wire_server

DEFAULT_PATHS = ("tests/engine", "tests/repositories", "tests/api", "tests/contract")
NO_TESTS_COLLECTED = 5


def main(argv: list[str]) -> int:
    paths, extra = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    paths = paths or list(DEFAULT_PATHS)
    started = time.monotonic()
    with wire_server() as uri:
        env = {
            **os.environ,
            "MONGODB_URI": uri,
            "MONGODB_DB": os.environ.get("WIRE_MONGODB_DB", "todo_wire_lane"),
            "WIRE_LANE": "1",
        }
        command = [
            sys.executable,
            "-m",
            "pytest",
            *paths,
            "-m",
            "not stand_in_only",
            "-p",
            "no:cacheprovider",
        ]
        print(f"wire lane: MongoDB wire server at {uri}; {' '.join(command[1:] + extra)}", flush=True)
        code = subprocess.call([*command, *extra], cwd=ROOT, env=env)
    print(f"wire lane: pytest exit code {code}, {time.monotonic() - started:.0f} s", flush=True)
    if code == NO_TESTS_COLLECTED:
        print("wire lane: no tests collected: that is a failure", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
