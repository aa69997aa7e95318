"""The contributors' page draws the same layers that CI checks.

``pyproject.toml`` states the layers as an import-linter contract, which CI
runs (``lint-imports``); ``docs/architecture.md`` draws them for people. One
changing without the other fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _contract_layers() -> list[set[str]]:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    block = re.search(r"^layers = \[\n(.*?)^\]", text, flags=re.MULTILINE | re.DOTALL)
    assert block is not None
    rows = re.findall(r'^\s*"([^"]+)",', block.group(1), flags=re.MULTILINE)
    return [{name.strip() for name in row.split("|")} for row in rows]


def _page_layers() -> list[set[str]]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = text.split("| layer | modules |", 1)[1].split("\n\n", 1)[0]
    rows = [line for line in table.splitlines()[2:] if line.startswith("|")]
    # The first cell names the layer; the modules, in backticks, follow.
    return [set(re.findall(r"`([a-z_]+)`", row.split("|", 2)[2])) for row in rows]


def test_the_page_and_the_contract_have_the_same_layers() -> None:
    """Every layer of the contract is a row of the page's table, in the same order."""
    contract = _contract_layers()
    assert len(contract) > 5
    assert _page_layers() == contract


def test_every_module_of_the_package_is_in_a_layer() -> None:
    """A new top-level module or package must be placed in a layer (else nothing checks it)."""
    placed = set().union(*_contract_layers())
    package = ROOT / "socialwrite"
    names = {
        path.stem if path.is_file() else path.name
        for path in package.iterdir()
        if (path.suffix == ".py" and path.name != "__init__.py")
        or (path.is_dir() and (path / "__init__.py").exists())
    }
    assert names <= placed, sorted(names - placed)
