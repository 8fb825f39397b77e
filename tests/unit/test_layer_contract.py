"""The import-linter contracts in pyproject.toml name every part of the product, and they fail
when the rules are broken: an upward import, the sandbox imported below the CLI, an import cycle.

The planted-bug checks copy the two packages to a temp dir, add one bad import to the copy and
run `lint-imports` against it (the copy comes first on PYTHONPATH), so the real tree is untouched.
"""

from __future__ import annotations

import os
import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import ledgersync

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _contracts() -> dict[str, dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}


def _layer_modules() -> set[str]:
    layers = _contracts()["Layers point inward"]["layers"]
    assert isinstance(layers, list)
    return {name.strip() for layer in layers for name in layer.split("|")}


def test_every_top_level_module_is_a_layer_and_only_the_cli_may_import_the_sandbox() -> None:
    modules = {f"ledgersync.{m.name}" for m in pkgutil.iter_modules(ledgersync.__path__)}
    assert modules - _layer_modules() == set(), "a part of the product the layers contract does not name"
    sources = set(_contracts()["Only the CLI launches the sandbox"]["source_modules"])  # type: ignore[arg-type]
    assert modules - sources == {"ledgersync.cli", "ledgersync.__main__"}


def _lint_copy(tmp_path: Path, plant: dict[str, str]) -> subprocess.CompletedProcess[str]:
    for package in ("ledgersync", "zohobooks_sandbox"):
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "templates", "static", "vendor"))
    for relative, line in plant.items():
        target = tmp_path / relative
        target.write_text(target.read_text() + f"\n{line}\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)


def test_the_real_tree_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint_copy(tmp_path, {})
    assert result.returncode == 0, result.stdout


LAYERS, SANDBOX, PRODUCT, CYCLES = ("Layers point inward", "Only the CLI launches the sandbox",
                                     "The sandbox knows nothing of the product", "No import cycles")


@pytest.mark.parametrize(("plant", "broken"), [
    ({"ledgersync/settings.py": "import ledgersync.domain.money"}, {LAYERS}),
    ({"ledgersync/sync/outbox.py": "import ledgersync.bootstrap"}, {LAYERS, CYCLES}),
    ({"ledgersync/services/demo.py": "import zohobooks_sandbox"}, {SANDBOX}),
    ({"zohobooks_sandbox/errors.py": "import ledgersync.domain.money"}, {PRODUCT}),
    ({"ledgersync/sync/pull/leases.py": "import ledgersync.sync.pull.engine"}, {CYCLES}),
    ({"zohobooks_sandbox/books/invoices.py": "from . import creditnotes"}, {CYCLES}),
])
def test_a_planted_violation_breaks_its_contract(tmp_path: Path, plant: dict[str, str], broken: set[str]) -> None:
    result = _lint_copy(tmp_path, plant)
    assert result.returncode != 0
    reported = {name for name in (LAYERS, SANDBOX, PRODUCT, CYCLES) if f"{name} BROKEN" in result.stdout}
    assert reported == broken, result.stdout
