"""Shared fixtures: where the spec's samples are (the repo's own copy, docs/spec/), and a copy of them as an inbox."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sshd import sshd_server  # noqa: F401  (the SFTP tests' fixture, shared through conftest)
from warehouse.connection import Warehouse

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "docs" / "spec"
SAMPLES = SPEC / "samples"
SAMPLE_NIGHT = "2026-11-20"


@pytest.fixture
def sample_inbox(tmp_path: Path) -> Path:
    """A writable inbox holding a copy of the spec's sample night."""
    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLES, inbox)
    return inbox


@pytest.fixture
def wh(tmp_path: Path) -> Iterator[Warehouse]:
    """An empty warehouse file, for checks run on hand-built histories."""
    with Warehouse(tmp_path / "w.duckdb") as warehouse:
        yield warehouse
