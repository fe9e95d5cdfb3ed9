"""A night is not failed by a reader that looks in for a moment (the arrival sensor's tick,
``scf status``): opening the warehouse waits, boundedly, for another process's lock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from warehouse.connection import Warehouse, connect_waiting


def _reader(path: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process holding the file read-only for ``seconds``; returns once it holds it."""
    code = f"import duckdb, time; c = duckdb.connect({str(path)!r}, read_only=True); print('open', flush=True); time.sleep({seconds})"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "open"
    return proc


def test_the_writer_waits_for_a_passing_reader(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    Warehouse(path).close()
    reader = _reader(path, 1.0)
    try:
        with Warehouse(path) as wh:  # opened once the reader has gone
            assert wh.con.execute("SELECT count(*) FROM files").fetchone() == (0,)
    finally:
        reader.wait(timeout=30)


def test_a_lock_held_past_the_wait_is_the_error_naming_its_holder(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    Warehouse(path).close()
    reader = _reader(path, 5.0)
    try:
        with pytest.raises(duckdb.IOException, match="lock"):
            connect_waiting(path, wait_seconds=0.5)
    finally:
        reader.kill()
        reader.wait(timeout=30)
