"""Guards for the project's layout rules: one place reads the environment, one builds MongoClients."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [p for d in ("todo", "todo_project") for p in (ROOT / d).rglob("*.py")]


def _offenders(pattern: str, allowed: set[str]) -> list[str]:
    regex = re.compile(pattern)
    return [
        str(path.relative_to(ROOT))
        for path in SOURCES
        if str(path.relative_to(ROOT)) not in allowed and regex.search(path.read_text())
    ]


def test_only_config_reads_the_environment() -> None:
    allowed = {"todo_project/config.py", "todo_project/wsgi.py"}  # wsgi only sets the settings module
    assert _offenders(r"os\.environ|os\.getenv|getenv\(", allowed) == []


def test_only_the_connection_manager_builds_mongo_clients() -> None:
    assert _offenders(r"MongoClient\(", {"todo/db/mongo_manager.py"}) == []
