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


def test_the_engine_imports_nothing_of_the_application() -> None:
    """`dualwrite/` is the generic engine: it knows collections only through the mapping it is
    given, so no module of it imports the todo app (or its settings package)."""
    engine = ROOT / "dualwrite"
    pattern = re.compile(r"^\s*(from|import)\s+(todo|todo_project)\b", re.MULTILINE)
    offenders = [str(p.relative_to(ROOT)) for p in engine.rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []
