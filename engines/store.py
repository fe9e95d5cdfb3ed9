"""The open store: warehouse tables as Parquet, Hive-partitioned by business date.

``<home>/store/<table>/business_date=YYYY-MM-DD/data_0.parquet`` — a layout any engine reads
(Spark, DuckDB's ``read_parquet(..., hive_partitioning = true)``, Trino, pandas).  The
warehouse's tables (created from the schema registry) are the contract: a table's Parquet
files hold its columns, ``business_date`` lives in the folder name, and a reader puts the
columns back in the warehouse's order (:func:`columns`).  A table without ``business_date``
is one file, ``<table>/data_0.parquet``.

A night's export replaces that night's partition of every *nightly* table (its rows of night
D are written by night D only: typed tables, files, quarantine, findings, verdicts, …) and
rewrites the other tables whole (small tables whose earlier rows a night may change, such as
``ledger_rejections`` with its ``as_of``).  Every replacement is atomic for a reader: the new
files are written aside (``<store>/.staging/``), then the old folder is renamed away and the
new one renamed into place.  A night missing from the store (the store started late, or was
deleted) is written the next time any night is exported: the store converges to the
warehouse.
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

import duckdb

STORE_DIR = "store"
STAGING_DIR = ".staging"
PARTITION = "business_date"

#: Tables whose rows of night D are written by night D only (a re-run replaces them): their
#: export replaces one partition.  Every other table is rewritten whole.
NIGHTLY_TABLES: frozenset[str] = frozenset({
    "erp_vendors", "erp_po_items", "erp_goods_receipts", "erp_ap_items", "tax_invoices", "tax_invoice_lines",
    "tax_invoice_status", "waybills", "bills", "bill_endorsements", "voucher_events", "voucher_event_invoices",
    "financings", "financing_invoices", "financing_rejects", "parties", "files", "quarantine", "dq_source_issues",
    "ledger_entries", "ledger_fingerprints", "trade_matches", "findings", "financing_verdicts", "finding_dispositions",
})  # fmt: skip


def stored_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The warehouse's nightly tables (:data:`NIGHTLY_TABLES` it has): what a night writes to the store."""
    return [name for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary AND database_name = current_database() "
        "AND schema_name = 'main' ORDER BY 1").fetchall() if name in NIGHTLY_TABLES]  # fmt: skip


def store_root(home: Path) -> Path:
    """The store folder of a home."""
    return home / STORE_DIR


def columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """The warehouse's (column, DuckDB type) of ``table``, in its order: the store's contract."""
    return [(name, dtype) for name, dtype in con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? AND NOT internal "
        "AND database_name = current_database() AND schema_name = 'main' ORDER BY column_index", [table]).fetchall()]  # fmt: skip


def partitioned(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether ``table`` is stored by business date."""
    return any(name == PARTITION for name, _ in columns(con, table))


def export_night(con: duckdb.DuckDBPyConnection, store: Path, business_date: dt.date, tables: Iterable[str]) -> None:
    """Write ``tables`` of the warehouse into ``store`` as of night ``business_date`` (see the module)."""
    staging = store / STAGING_DIR
    shutil.rmtree(staging, ignore_errors=True)  # what a killed export left
    for table in sorted(set(tables)):
        if table in NIGHTLY_TABLES and partitioned(con, table):
            written = {p.name for p in (store / table).glob(f"{PARTITION}=*")}
            nights = [night for (night,) in con.execute(
                f"SELECT DISTINCT {PARTITION} FROM {table} ORDER BY 1").fetchall()]  # fmt: skip
            wanted = {business_date} | {n for n in nights if f"{PARTITION}={n.isoformat()}" not in written}
            for night in sorted(wanted):
                _replace(con, f"SELECT * FROM {table} WHERE {PARTITION} = DATE '{night.isoformat()}'",
                         store / table / f"{PARTITION}={night.isoformat()}", staging, partition=True)  # fmt: skip
        else:
            _replace(con, f"SELECT * FROM {table}", store / table, staging, partition=partitioned(con, table))
    shutil.rmtree(staging, ignore_errors=True)


def _replace(con: duckdb.DuckDBPyConnection, query: str, target: Path, staging: Path, *, partition: bool) -> None:
    """Write ``query`` aside, then swap it for ``target``: a night's partition folder
    (``business_date=D``, removed when the night has no rows), or a whole table's folder."""
    aside = staging / uuid.uuid4().hex
    aside.mkdir(parents=True)
    new: Path | None = aside
    if partition:
        con.execute(f"COPY ({query}) TO '{aside}' (FORMAT parquet, PARTITION_BY ({PARTITION}), OVERWRITE_OR_IGNORE)")
        if target.name.startswith(f"{PARTITION}="):
            new = aside / target.name if (aside / target.name).exists() else None
    else:
        con.execute(f"COPY ({query}) TO '{aside / 'data_0.parquet'}' (FORMAT parquet)")
    target.parent.mkdir(parents=True, exist_ok=True)
    old = staging / f"old-{uuid.uuid4().hex}"
    if target.exists():
        target.rename(old)
    if new is not None:
        new.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(aside, ignore_errors=True)
