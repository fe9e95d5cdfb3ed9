"""The DuckDB warehouse: typed tables per business date, and as-of views across nights.

Tables are created from :data:`connectors.schemas.SCHEMAS`.  Each parsed row carries the
``business_date`` of the night that delivered it; re-loading a night deletes that night's
rows first and nothing else.  Checks of night D look at history through *as-of views*
(``cur_<table>``): rows of nights up to D, the latest version of each natural key, child
rows (invoice lines, presented invoices, endorsements) following their parent's version.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from connectors.schemas import NATURAL_KEYS, QUARANTINE_SCHEMA, SCHEMAS

# Child tables follow the version of their parent row: (parent table, join columns).
CHILD_OF: dict[str, tuple[str, tuple[str, ...]]] = {
    "tax_invoice_lines": ("tax_invoices", ("invoice_no",)),
    "bill_endorsements": ("bills", ("cd_no", "range_start")),
    "voucher_event_invoices": ("voucher_events", ("event_id",)),
    "financing_invoices": ("financings", ("financing_id",)),
}

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
    pa.field("seq", pa.int64()),  # the archive manifest's seq of the file: its delivery order (DELIVERY_ORDER)
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


ASOF_VERSION = 2
"""Bumped whenever the definition changes: as-of state built by another version is rebuilt."""

DELIVERY_ORDER: tuple[str, ...] = ("business_date", "file_seq", "src_pos", "src_sha256")
"""The order rows were delivered in, the last the version of record: the night, then the file's
delivery order within the night (``files.seq``, the archive manifest's sequence: a file delivered
or restated later in the night wins), then the position in the file; ``src_sha256`` last, only so
that the order is total (rows of files the register does not know have ``file_seq`` 0)."""

_FILE_SEQ = "(SELECT business_date, sha256 AS src_sha256, max(seq) AS file_seq FROM files GROUP BY ALL)"


def sequenced(table: str) -> str:
    """A FROM item: the rows of ``table`` with ``file_seq``, their file's delivery order in its night."""
    return (f"(SELECT _t.*, coalesce(_s.file_seq, 0) AS file_seq FROM {table} _t "
            f"LEFT JOIN {_FILE_SEQ} _s USING (business_date, src_sha256))")


def delivery_order(alias: str = "", *, latest_first: bool = False, within_night: bool = False) -> str:
    """ORDER BY terms of :data:`DELIVERY_ORDER` (columns of ``alias``): delivery order, or the
    version of record first; ``within_night`` leaves out the night."""
    prefix = f"{alias}." if alias else ""
    columns = DELIVERY_ORDER[1:] if within_night else DELIVERY_ORDER
    return ", ".join(f"{prefix}{c}{' DESC' if latest_first else ''}" for c in columns)


def latest_versions_sql(table: str, where: str) -> str:
    """The version of record of each natural key of ``table`` among its rows meeting ``where``."""
    keys = ", ".join(NATURAL_KEYS[table])
    return (f"SELECT * EXCLUDE (file_seq) FROM {sequenced(table)} WHERE {where} "
            f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY {delivery_order(latest_first=True)}) = 1")


def children_sql(child: str, parents: str) -> str:
    """The rows of ``child`` belonging to the parent versions in ``parents``."""
    parent_table, join_cols = CHILD_OF[child]
    on = " AND ".join(f"c.{col} = p.{col}" for col in (*join_cols, "business_date", "src_sha256", "src_pos"))
    return f"SELECT c.* FROM {child} c JOIN {parents} p ON {on}"


def create_asof_views(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    """Create temporary ``cur_<table>`` views: the version of record of every key as of ``as_of``
    (:data:`DELIVERY_ORDER`), computed from every night up to it; child rows follow their parent's version."""
    up_to = f"business_date <= DATE '{as_of.isoformat()}'"
    for name in SCHEMAS:
        if name not in CHILD_OF:
            con.execute(f"CREATE OR REPLACE TEMP VIEW cur_{name} AS {latest_versions_sql(name, up_to)}")
    for child, (parent, _) in CHILD_OF.items():
        con.execute(f"CREATE OR REPLACE TEMP VIEW cur_{child} AS {children_sql(child, f'cur_{parent}')}")
