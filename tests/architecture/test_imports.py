"""The layout rules of DESIGN.md, checked on the source: imports point one way
(``cli -> api, bootstrap -> core <- backends``), no cycles, no private names across packages,
and every module imports in a fresh interpreter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "omnicrud"

# Packages a package must not import (by prefix), as DESIGN.md's layout says.
FORBIDDEN = {
    "omnicrud.core": (
        "omnicrud.api",
        "omnicrud.cli",
        "omnicrud.backends",
        "omnicrud.bootstrap",
        "omnicrud.ops",
    ),
    "omnicrud.config": ("omnicrud.",),
    "omnicrud.backends": ("omnicrud.api", "omnicrud.cli", "omnicrud.bootstrap", "omnicrud.ops"),
    "omnicrud.ops": ("omnicrud.api", "omnicrud.cli", "omnicrud.backends", "omnicrud.bootstrap"),
    "omnicrud.api": ("omnicrud.cli", "omnicrud.backends"),
    "omnicrud.bootstrap": ("omnicrud.api", "omnicrud.cli", "omnicrud.backends"),
    "omnicrud.example": ("omnicrud.api", "omnicrud.cli", "omnicrud.backends"),
    "omnicrud.mcp": ("omnicrud.cli", "omnicrud.backends", "omnicrud.bootstrap"),
    # Moving data talks to every backend through core's BulkStorage, found via bootstrap.
    "omnicrud.transfer": ("omnicrud.api", "omnicrud.cli", "omnicrud.backends"),
}
ALLOWED = ("omnicrud.config", "omnicrud.backends.sql.schema")
"""Importable from anywhere: settings data, and the column types migration scripts use."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package(path: Path) -> str:
    name = _module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _resolve(path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = _package(path).split(".")
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _runtime_imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module, names, line) of the module-level imports, outside ``if TYPE_CHECKING``."""
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[str, list[str], int]] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((_resolve(path, node), [a.name for a in node.names], node.lineno))
    return found


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py")) if "alembic_env" not in p.parts}


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for module, names, _ in _runtime_imports(path):
            targets = [module, *(f"{module}.{n}" for n in names)]
            for target in targets:
                if target in MODULES and target not in (name, "omnicrud"):
                    graph[name].add(target)
    return graph


def test_no_import_cycles() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_layers_and_private_names(name: str) -> None:
    path = MODULES[name]
    rules = [
        bad for prefix, bad in FORBIDDEN.items() if name == prefix or name.startswith(prefix + ".")
    ]
    package = _package(path)
    for module, names, line in _runtime_imports(path):
        if not module.startswith("omnicrud"):
            continue
        targets = {f"{module}.{n}" if f"{module}.{n}" in MODULES else module for n in names}
        for target in targets or {module}:
            for bad in (b for group in rules for b in group):
                if target.startswith(bad) and not target.startswith(ALLOWED):
                    pytest.fail(f"{name}:{line} imports {target} ({bad} is off limits here)")
        owner = module.rpartition(".")[0] if module.rpartition(".")[2].startswith("_") else module
        private = [n for n in names if n.startswith("_")] or (
            [module] if module.rpartition(".")[2].startswith("_") else []
        )
        if private and not (package == owner or package.startswith(owner + ".")):
            pytest.fail(f"{name}:{line} imports private {private} from {module}")


def test_modules_stay_small() -> None:
    big = {n: len(p.read_text().splitlines()) for n, p in MODULES.items()}
    assert {n: size for n, size in big.items() if size > 400} == {}


def test_every_module_imports_alone_and_importing_omnicrud_loads_no_driver() -> None:
    code = (
        "import importlib, sys\n"
        "import omnicrud\n"
        "drivers = {'asyncpg', 'aiomysql', 'pymongo', 'pymysql'} & set(sys.modules)\n"
        "assert not drivers, drivers\n"
        f"for name in {sorted(MODULES)!r}:\n"
        "    importlib.import_module(name)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
