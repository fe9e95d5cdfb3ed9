"""The linters hold the line: ruff (E, F, W, B, SIM, UP, I), mypy, import-linter (the layers)
and vulture (dead code) find nothing.

``make test`` runs them first; this test makes a plain ``pytest`` run say so too, so a
change that adds a finding cannot pass the suite."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        pytest.fail(f"{name} is not installed in the test environment (pip install -e '.[dev]')", pytrace=False)
    return path


LINTERS = {
    "ruff": ["ruff", "check", "--output-format", "concise", "."],
    "mypy": ["mypy"],
    "layers": ["lint-imports", "--no-cache"],
    "dead-code": ["vulture"],
}


@pytest.mark.parametrize("command", LINTERS.values(), ids=LINTERS.keys())
def test_linter_finds_nothing(command: list[str]) -> None:
    done = subprocess.run([_tool(command[0]), *command[1:]], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(command)} found:\n{done.stdout}{done.stderr}"


def test_every_product_package_has_a_layer() -> None:
    """A new top-level package is placed in the layers contract, or the build says so."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    shipped = {pattern.rstrip("*") for pattern in config["tool"]["setuptools"]["packages"]["find"]["include"]}
    (layers,) = [c["layers"] for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    layered = {name.strip() for layer in layers for name in layer.split("|")}
    assert shipped - {"simulator"} == layered == set(config["tool"]["importlinter"]["root_packages"]) - {"simulator"}


def test_the_architecture_document_draws_the_enforced_layers() -> None:
    """docs/ARCHITECTURE.md's layers are the contract's, and its package table names every package."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    (layers,) = [c["layers"] for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    doc = (REPO / "docs" / "ARCHITECTURE.md").read_text("utf-8")
    drawn = re.search(r"```layers\n(.*?)```", doc, re.S)
    assert drawn is not None, "docs/ARCHITECTURE.md has no ```layers block"
    assert drawn.group(1).split("\n")[:-1] == layers
    for package in {name.strip() for layer in layers for name in layer.split("|")}:
        assert f"| `{package}/` |" in doc, f"docs/ARCHITECTURE.md's package table lacks {package}/"
