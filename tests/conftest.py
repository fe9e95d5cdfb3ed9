"""Shared fixtures: where the spec's samples are, and a copy of them as an inbox."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "spec" / "samples"
SAMPLE_NIGHT = "2026-11-20"


@pytest.fixture
def sample_inbox(tmp_path: Path) -> Path:
    """A writable inbox holding a copy of the spec's sample night."""
    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLES, inbox)
    return inbox
