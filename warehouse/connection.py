"""The DuckDB warehouse file: the connection, and typed tables per business date.

Opening the file for writing brings its tables to those the registry declares
(:func:`warehouse.migrations.migrate`); read-only, a file a newer release wrote is refused.
Each parsed row carries the
``business_date`` of the night that delivered it; re-loading a night deletes that night's
rows first and nothing else.  History across nights is read through the as-of views of
:mod:`warehouse.asof`.
"""

from __future__ import annotations

import datetime as dt
import time
from contextlib import AbstractContextManager
from pathlib import Path

import duckdb
import pyarrow as pa

from warehouse.asof_state import forget_night_digests
from warehouse.migrations import migrate, refuse_newer
from warehouse.results import LEDGER_INPUT_DIGESTS
from warehouse.schemas import SCHEMAS
from warehouse.transactions import transaction

LOCK_WAIT_SECONDS = 15.0  # readers (the arrival sensor, scf status, scf verify) hold the file for moments


def connect_waiting(path: Path, *, read_only: bool = False, config: dict[str, str | bool | int | float | list[str]] | None = None,
                    wait_seconds: float = LOCK_WAIT_SECONDS) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file, waiting up to ``wait_seconds`` while another process holds its lock.

    DuckDB admits one writing process or many readers; a reader that looks in for a moment (the
    arrival sensor's tick, ``scf status``) must not fail a night that starts at that instant.
    A lock still held after the wait raises DuckDB's own error, which names the holding process."""
    deadline = time.monotonic() + wait_seconds
    pause = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config or {})
        except duckdb.IOException as error:
            if "lock" not in str(error).lower() or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 1.0)


class Warehouse:
    """One DuckDB file holding every night's typed tables, findings and ledger."""

    def __init__(self, path: Path, *, read_only: bool = False, memory_limit: str | None = None) -> None:
        """Open (creating if needed) the warehouse file; ``memory_limit`` caps DuckDB's memory
        (e.g. ``"4GB"``; beyond it DuckDB spills to ``<file>.tmp``)."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        config: dict[str, str | bool | int | float | list[str]] = {"memory_limit": memory_limit} if memory_limit else {}
        self.con = connect_waiting(path, read_only=read_only, config=config)
        if read_only:
            refuse_newer(self.con)
        else:
            migrate(self.con)
        install_sql_helpers(self.con)

    def close(self) -> None:
        """Close the connection (checkpointing the file)."""
        self.con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """Run a block in one transaction: committed if it returns, rolled back if it raises."""
        return transaction(self.con)

    def clear_night(self, business_date: dt.date, tables: list[str] | None = None) -> None:
        """Delete one night's rows from the given tables (default: every parsed table)."""
        names = tables if tables is not None else [*SCHEMAS, "quarantine", "files"]
        for name in names:
            self.con.execute(f"DELETE FROM {name} WHERE business_date = ?", [business_date])
        forget_night_digests(self.con, business_date)
        self.con.execute(f"DELETE FROM {LEDGER_INPUT_DIGESTS.name} WHERE business_date = ?", [business_date])  # ledger.touched

    def append(self, table: str, data: pa.RecordBatch | pa.Table) -> None:
        """Append Arrow rows to a table, column by column name (their order does not matter)."""
        self.con.register("_incoming", data)
        try:
            self.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _incoming")
        finally:
            self.con.unregister("_incoming")


def install_sql_helpers(con: duckdb.DuckDBPyConnection) -> None:
    """Define this connection's SQL helpers: ``yuan(fen)`` renders fen as exact yuan text."""
    con.execute(
        """CREATE OR REPLACE TEMP MACRO yuan(fen) AS
        CASE WHEN fen < 0 THEN '-' ELSE '' END
        || (abs(fen) // 100)::VARCHAR || '.' || lpad((abs(fen) % 100)::VARCHAR, 2, '0')"""
    )
