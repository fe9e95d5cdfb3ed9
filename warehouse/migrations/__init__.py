"""Numbered migrations and the home's ``schema_version``.

A migration is one file ``NNNN_<what>.sql`` in this folder, numbered from 0001 without gaps,
that brings the tables of the previous release to those of the next: a column added to a
declared table (:mod:`warehouse.registry`) is one line in its declaration plus one migration
(``ALTER TABLE t ADD COLUMN IF NOT EXISTS c TYPE``).  A new table needs none: every declared
table a home lacks is created from its declaration first, so a migration finds every table
there, possibly already in its new shape (hence ``IF NOT EXISTS``).

Opening a home for writing (:func:`migrate`) creates the tables it lacks, runs the migrations
it has not had and records each in ``schema_version``, all in one transaction;
it then checks that every declared table has its declared columns and types, so a forgotten
migration stops the night with one line naming the table and column.  A new home gets every
table from the registry and every migration recorded as applied.  A home that has had a
migration this code does not know (written by a newer release) is refused, read-only too.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from foundation.errors import ScfError
from warehouse.registry import create_table, duckdb_type
from warehouse.results import SCHEMA_VERSION
from warehouse.tables import TABLES
from warehouse.transactions import transaction

_FOLDER = Path(__file__).parent
_NAME = re.compile(r"(\d{4})_(\w+)\.sql")


class SchemaVersionError(ScfError):
    """The home's tables are not those this code declares: newer than the code, or a migration is missing."""


@dataclass(frozen=True)
class Migration:
    """One numbered migration: its number, its name and its SQL."""

    number: int
    name: str
    sql: str


def migrations() -> tuple[Migration, ...]:
    """The migrations of this folder, in order (numbered 1, 2, … without gaps)."""
    found = []
    for path in sorted(_FOLDER.glob("*.sql")):
        match = _NAME.fullmatch(path.name)
        if match is None:
            raise ValueError(f"{path.name}: a migration is named NNNN_<what>.sql")
        found.append(Migration(int(match[1]), match[2], path.read_text("utf-8")))
    numbers = [m.number for m in found]
    if numbers != list(range(1, len(found) + 1)):
        raise ValueError(f"migrations must be numbered 1..{len(found)} without gaps or repeats: {numbers}")
    return tuple(found)


def schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The number of the last migration the home has had; ``None`` for a home without ``schema_version``."""
    if not _exists(con, SCHEMA_VERSION.name):
        return None
    row = con.execute(f"SELECT max(version) FROM {SCHEMA_VERSION.name}").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def refuse_newer(con: duckdb.DuckDBPyConnection) -> None:
    """Refuse a home whose tables a newer release has migrated past what this code knows."""
    version, known = schema_version(con), len(migrations())
    if version is not None and version > known:
        raise SchemaVersionError(
            f"the warehouse is at schema version {version}, newer than this release knows ({known}): "
            "run the release that wrote it, or a later one"
        )


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Bring the home's tables to the registry's: missing tables, then pending migrations, in one
    transaction; return the numbers of the migrations applied (none on a home already up to date)."""
    refuse_newer(con)
    steps = migrations()
    with transaction(con):
        version = schema_version(con)
        fresh = version is None and not any(_exists(con, name) for name in TABLES if name != SCHEMA_VERSION.name)
        pending = [] if fresh else [m for m in steps if m.number > (version or 0)]
        for table in TABLES.values():
            create_table(con, table)
        for step in pending:
            con.execute(step.sql)
        recorded = steps if fresh else pending
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        for step in recorded:
            con.execute(
                f"INSERT INTO {SCHEMA_VERSION.name} BY NAME SELECT ? AS version, ? AS name, ? AS applied_at",
                [step.number, step.name, now],
            )
        _check_declared(con)
    return [] if fresh else [m.number for m in pending]


def _check_declared(con: duckdb.DuckDBPyConnection) -> None:
    found: dict[tuple[str, str], str] = {
        (table, column): data_type
        for table, column, data_type in con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' AND NOT internal "
            "AND database_name = current_database()"
        ).fetchall()
    }
    for table in TABLES.values():
        for column in table.columns:
            wanted = duckdb_type(column.type)
            have = found.get((table.name, column.name))
            if have != wanted:
                state = "lacks it" if have is None else f"has it as {have}"
                raise SchemaVersionError(
                    f"table {table.name} column {column.name}: the registry declares {wanted}, the warehouse {state} "
                    "(a migration is missing in warehouse/migrations)"
                )


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main' AND database_name = current_database()",
        [table],
    ).fetchone()
    return bool(row and row[0])
