"""The DuckDB warehouse file: connection, transactions and typed tables per business date.

Tables are created from :data:`warehouse.schemas.SCHEMAS`.  Each parsed row carries the
``business_date`` of the night that delivered it; re-loading a night deletes that night's
rows first and nothing else.  History across nights is read through the as-of views of
:mod:`warehouse.asof`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from warehouse.schemas import QUARANTINE_SCHEMA, SCHEMAS

FILES_SCHEMA = pa.schema(
    [
        pa.field("business_date", pa.date32(), nullable=False),
        pa.field("rel_path", pa.string(), nullable=False),
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("size", pa.int64()),
        pa.field("file_kind", pa.string()),
        pa.field("status", pa.string()),  # loaded, rejected, duplicate, unknown_kind
        pa.field("rows", pa.int64()),
        pa.field("quarantined", pa.int64()),
        pa.field("superseded", pa.string()),  # sha256s of earlier versions, ';'-separated
    ]
)

_DUCK_TYPES = {
    pa.date32(): "DATE",
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.bool_(): "BOOLEAN",
    pa.timestamp("s"): "TIMESTAMP_S",
    pa.list_(pa.string()): "VARCHAR[]",
}


def duckdb_type(dtype: pa.DataType) -> str:
    """The DuckDB column type that stores an Arrow type without loss."""
    if pa.types.is_decimal(dtype):
        return f"DECIMAL({dtype.precision},{dtype.scale})"
    try:
        return _DUCK_TYPES[dtype]
    except KeyError:
        raise TypeError(f"no DuckDB mapping for Arrow type {dtype}") from None


def create_table_sql(name: str, schema: pa.Schema) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for an Arrow schema."""
    cols = ", ".join(
        f"{f.name} {duckdb_type(f.type)}{'' if f.nullable else ' NOT NULL'}" for f in schema
    )
    return f"CREATE TABLE IF NOT EXISTS {name} ({cols})"


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run a block in one transaction: committed if it returns, rolled back if it raises.

    Inside a transaction the caller already opened, the block joins it: the caller
    commits or rolls back the whole.
    """
    try:
        con.begin()
    except duckdb.TransactionException:  # the caller's transaction is open
        yield con
        return
    try:
        yield con
    except BaseException:
        con.rollback()
        raise
    con.commit()


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
        if not read_only:
            self.ensure_schema()
        install_sql_helpers(self.con)

    def close(self) -> None:
        """Close the connection (checkpointing the file)."""
        self.con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ensure_schema(self) -> None:
        """Create every parsed table, the quarantine and the files register if missing."""
        for name, schema in SCHEMAS.items():
            self.con.execute(create_table_sql(name, schema))
            upgrade_table(self.con, name, schema)
        self.con.execute(create_table_sql("quarantine", QUARANTINE_SCHEMA))
        self.con.execute(create_table_sql("files", FILES_SCHEMA))

    def transaction(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """Run a block in one transaction: committed if it returns, rolled back if it raises."""
        return transaction(self.con)

    def clear_night(self, business_date: dt.date, tables: list[str] | None = None) -> None:
        """Delete one night's rows from the given tables (default: every parsed table)."""
        names = tables if tables is not None else [*SCHEMAS, "quarantine", "files"]
        for name in names:
            self.con.execute(f"DELETE FROM {name} WHERE business_date = ?", [business_date])

    def append(self, table: str, data: pa.RecordBatch | pa.Table) -> None:
        """Append Arrow rows whose schema matches the table's."""
        self.con.register("_incoming", data)
        try:
            self.con.execute(f"INSERT INTO {table} SELECT * FROM _incoming")
        finally:
            self.con.unregister("_incoming")


def upgrade_table(con: duckdb.DuckDBPyConnection, name: str, schema: pa.Schema) -> None:
    """Bring a table made by an earlier release to ``schema``, without loss: columns the schema
    has gained (always at its end, so rows still insert by position) are added, empty for the
    rows already there, and a decimal column the schema widened (more digits, more decimals) is
    widened in place."""
    existing = dict(con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? AND NOT internal "
        "AND schema_name = 'main'", [name]).fetchall())  # fmt: skip
    for f in schema:
        wanted = duckdb_type(f.type)
        if f.name not in existing:
            con.execute(f"ALTER TABLE {name} ADD COLUMN {f.name} {wanted}")
        elif existing[f.name] != wanted and pa.types.is_decimal(f.type) and existing[f.name].startswith("DECIMAL"):
            con.execute(f"ALTER TABLE {name} ALTER COLUMN {f.name} TYPE {wanted}")


def install_sql_helpers(con: duckdb.DuckDBPyConnection) -> None:
    """Define this connection's SQL helpers: ``yuan(fen)`` renders fen as exact yuan text."""
    con.execute(
        """CREATE OR REPLACE TEMP MACRO yuan(fen) AS
        CASE WHEN fen < 0 THEN '-' ELSE '' END
        || (abs(fen) // 100)::VARCHAR || '.' || lpad((abs(fen) % 100)::VARCHAR, 2, '0')"""
    )


def rows_to_table(rows: list[tuple], schema: pa.Schema) -> pa.Table:
    """Build an Arrow table from row tuples ordered as the schema's fields."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    return pa.table([pa.array(list(c), type=f.type) for c, f in zip(columns, schema, strict=True)], schema=schema)
