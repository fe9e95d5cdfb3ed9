"""The linters hold the line: ruff (E, F, W, B, SIM, UP, I) and mypy find nothing.

``make test`` runs them first; this test makes a plain ``pytest`` run say so too, so a
change that adds a finding cannot pass the suite."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        pytest.fail(f"{name} is not installed in the test environment (pip install -e '.[dev]')", pytrace=False)
    return path


@pytest.mark.parametrize("command", [["ruff", "check", "--output-format", "concise", "."], ["mypy"]], ids=["ruff", "mypy"])
def test_linter_finds_nothing(command: list[str]) -> None:
    done = subprocess.run([_tool(command[0]), *command[1:]], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(command)} found:\n{done.stdout}{done.stderr}"
