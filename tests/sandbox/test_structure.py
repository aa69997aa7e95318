"""The sandbox's modules import one way: no cycles, no reaching back, no private names."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import socialwrite.sandbox

PACKAGE = Path(socialwrite.sandbox.__file__).parent
MODULES = {path.stem: ast.parse(path.read_text(encoding="utf-8")) for path in PACKAGE.glob("*.py")}


def _imports(module: str) -> list[ast.ImportFrom]:
    """A module's ``from`` imports, wherever in the module they sit."""
    return [node for node in ast.walk(MODULES[module]) if isinstance(node, ast.ImportFrom)]


def _siblings(module: str) -> set[str]:
    return {node.module for node in _imports(module) if node.level == 1 and node.module}


def test_the_sandbox_modules_import_without_cycles() -> None:
    """The graph of imports between the sandbox's modules has a topological order."""
    graph = {module: _siblings(module) for module in MODULES}
    order = list(graphlib.TopologicalSorter(graph).static_order())
    assert order.index("_http") < order.index("_uploads") < order.index("_app")
    assert order.index("_upload_store") < order.index("_uploads")


def test_imports_sit_at_the_top_of_each_module() -> None:
    """No import hides in a function (a lazy import is how a cycle comes back)."""
    for module, tree in MODULES.items():
        nested = [
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom)) and node not in tree.body
        ]
        assert nested == [], module


def test_no_module_imports_a_private_name() -> None:
    """A name another module needs is public in its (private) module."""
    for module in MODULES:
        private = [
            f"{node.module}.{alias.name}"
            for node in _imports(module)
            if node.level > 0
            for alias in node.names
            if alias.name.startswith("_")
        ]
        assert private == [], module


def test_the_upload_store_knows_no_http_framework() -> None:
    """The store is state; only the routes speak aiohttp."""
    modules = {node.module or "" for node in _imports("_upload_store")}
    assert not any(name.startswith("aiohttp") for name in modules)
