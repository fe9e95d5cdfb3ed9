"""Shared fixtures: where the spec's samples are (the repo's own copy, docs/spec/), and a copy of them as an inbox."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.arrivals import stamp_arrivals
from tests.sshd import sshd_server  # noqa: F401  (the SFTP tests' fixture, shared through conftest)
from warehouse.connection import Warehouse

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "docs" / "spec"
SAMPLES = SPEC / "samples"
SAMPLE_NIGHT = "2026-11-20"


@pytest.fixture
def sample_inbox(tmp_path: Path) -> Path:
    """A writable inbox holding a copy of the spec's sample night, its files arriving on time (a copy
    made now would be late for its night: a late source's "not found" findings are only pending)."""
    return copy_samples(tmp_path / "inbox")


def copy_samples(inbox: Path) -> Path:
    """Copy the spec's sample nights to ``inbox``, each file stamped as arriving on time for its night."""
    shutil.copytree(SAMPLES, inbox)
    for night in (p for p in inbox.iterdir() if p.is_dir()):
        stamp_arrivals(night, dt.date.fromisoformat(night.name))
    return inbox


@pytest.fixture
def wh(tmp_path: Path) -> Iterator[Warehouse]:
    """An empty warehouse file, for checks run on hand-built histories."""
    with Warehouse(tmp_path / "w.duckdb") as warehouse:
        yield warehouse
