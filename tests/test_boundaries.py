"""Guards for the project's layout rules: one place reads the environment, one builds MongoClients,
the engine knows nothing of the app, the domain nothing of HTTP."""

import ast
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


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return found


def test_the_domain_knows_no_http() -> None:
    """Services, selectors and domain errors speak of the domain only: no DRF, nothing of
    todo/api/ (todo/api/domain_errors.py turns their errors into responses)."""
    http = ("rest_framework", "todo.api", "django.http")
    layers = [ROOT / "todo" / name for name in ("services", "selectors", "domain")]
    offenders = {
        f"{path.relative_to(ROOT)}: {module}"
        for layer in layers
        for path in layer.rglob("*.py")
        for module in _imported_modules(path)
        if any(module == name or module.startswith(f"{name}.") for name in http)
    }
    assert sorted(offenders) == []


def test_selectors_read_without_services() -> None:
    """Reads (todo/selectors/) never call into the write side (todo/services/): services may use
    selectors, not the other way round."""
    offenders = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in (ROOT / "todo" / "selectors").rglob("*.py")
        for module in _imported_modules(path)
        if module == "todo.services" or module.startswith("todo.services.")
    }
    assert sorted(offenders) == []
