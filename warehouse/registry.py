"""The schema registry: one declaration per table, from which everything else about it comes.

A :class:`Table` declares its columns (name, logical type as an Arrow type, nullability, a
note), its natural key, the parent whose version its rows follow and what it holds.  From
that one declaration come its DuckDB DDL (:meth:`Table.ddl`), its Arrow schema
(:attr:`Table.schema`) and its named row types: :attr:`Table.Row` (every column) and, for a
table parsed from delivered files, :attr:`Table.Record` (the columns after the lineage ones,
what a parser fills; the lineage columns come from the file).  Row types are ``NamedTuple``
classes generated once per table: a row costs one tuple, and is built by keyword, so two
columns given in the wrong order land in their own columns instead of each other's.

The declarations themselves live in :mod:`warehouse.schemas` (the typed input tables) and
:mod:`warehouse.tables` gathers every table of the warehouse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

import duckdb
import pyarrow as pa

JSON = pa.large_string()
"""Logical type of a JSON document column (stored as DuckDB ``JSON``)."""

_DUCK_TYPES = {
    pa.date32(): "DATE",
    pa.string(): "VARCHAR",
    JSON: "JSON",
    pa.int64(): "BIGINT",
    pa.uint64(): "UBIGINT",  # hashes (DuckDB's hash())
    pa.int32(): "INTEGER",
    pa.int16(): "SMALLINT",
    pa.float64(): "DOUBLE",  # shares and ratios only: money is integer fen or decimal, never a float
    pa.bool_(): "BOOLEAN",
    pa.binary(): "BLOB",
    pa.timestamp("s"): "TIMESTAMP_S",
    pa.timestamp("us"): "TIMESTAMP",
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


@dataclass(frozen=True)
class Column:
    """One column: its name, logical (Arrow) type, whether it may be null, and what it holds."""

    name: str
    type: pa.DataType
    nullable: bool = True
    note: str = ""

    @property
    def sql(self) -> str:
        """``name TYPE [NOT NULL]`` as in a ``CREATE TABLE``."""
        return f'"{self.name}" {duckdb_type(self.type)}{"" if self.nullable else " NOT NULL"}'


LINEAGE = (
    Column("business_date", pa.date32(), False, "the night the file was delivered for (the inbox folder's date)"),
    Column("src_sha256", pa.string(), False, "SHA-256 of the archived file the row came from"),
    Column("src_pos", pa.int64(), False, "the row's position in that file: CSV line (header = 1), XML record ordinal"),
)
"""The lineage columns every table parsed from a delivered file starts with."""


@dataclass(frozen=True)
class Table:
    """One table of the warehouse, declared once.

    ``key``: the natural key (several nights may deliver the same record; the as-of views
    keep the latest version of each); ``child_of``: (parent table, join columns) when the
    rows follow the version of a parent row; ``parsed``: the table is filled by the parsers
    from delivered files (its columns start with :data:`LINEAGE`); ``temp``: a scratch table of
    one session (one night's run), created empty in the connection each time, never in the home."""

    name: str
    columns: tuple[Column, ...]
    doc: str = ""
    key: tuple[str, ...] = ()
    child_of: tuple[str, tuple[str, ...]] | None = None
    parsed: bool = False
    indexes: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())
    temp: bool = False

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: a column is declared twice")
        if self.parsed and tuple(self.columns[: len(LINEAGE)]) != LINEAGE:
            raise ValueError(f"{self.name}: a parsed table starts with the lineage columns")
        missing = [k for k in self.key if k not in names]
        if missing:
            raise ValueError(f"{self.name}: key columns {missing} are not declared")

    @property
    def names(self) -> tuple[str, ...]:
        """The column names, in declaration order."""
        return tuple(c.name for c in self.columns)

    @cached_property
    def schema(self) -> pa.Schema:
        """The table's Arrow schema."""
        return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in self.columns])

    @cached_property
    def Row(self) -> type[Any]:
        """A ``NamedTuple`` of every column, in declaration order."""
        return _row_type(self.name, self.columns)

    @cached_property
    def Record(self) -> type[Any]:
        """For a parsed table: a ``NamedTuple`` of the columns after the lineage ones (what a parser fills)."""
        if not self.parsed:
            raise TypeError(f"{self.name} is not parsed from files: build its rows with {self.name}.Row")
        return _row_type(self.name + "_record", self.columns[len(LINEAGE) :])

    def ddl(self) -> list[str]:
        """``CREATE TABLE IF NOT EXISTS`` and its indexes; for a ``temp`` table, ``CREATE OR REPLACE TEMP TABLE`` (empty)."""
        cols = ", ".join(c.sql for c in self.columns)
        if self.temp:
            return [f"CREATE OR REPLACE TEMP TABLE {self.name} ({cols})"]
        statements = [f"CREATE TABLE IF NOT EXISTS {self.name} ({cols})"]
        statements += [f"CREATE INDEX IF NOT EXISTS {index} ON {self.name} ({', '.join(on)})" for index, on in self.indexes]
        return statements

    def pick(self, values: Mapping[str, Any]) -> Any:
        """A :attr:`Record` taking each of its columns from ``values`` by name (other entries are ignored)."""
        record = self.Record
        return record._make([values[n] for n in record._fields])

    def arrow(self, rows: Iterable[tuple[Any, ...]]) -> pa.Table:
        """An Arrow table of :attr:`Row` rows (refusing any other tuple: a row is named, never positional)."""
        rows = list(rows)
        row_type = self.Row
        for row in rows:
            if type(row) is not row_type:
                raise TypeError(f"{self.name}: rows are {self.name}.Row, not {type(row).__name__}")
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in self.columns]
        return pa.table([pa.array(list(v), type=c.type) for v, c in zip(columns, self.columns, strict=True)], schema=self.schema)


def insert_rows(con: duckdb.DuckDBPyConnection, table: Table, rows: Iterable[tuple[Any, ...]]) -> None:
    """Insert :attr:`Table.Row` rows into ``table``, by column name."""
    incoming_rows = table.arrow(rows)
    if incoming_rows.num_rows:  # read by DuckDB's replacement scan of this frame's variables
        con.execute(f"INSERT INTO {table.name} BY NAME SELECT * FROM incoming_rows")


def insert_row(con: duckdb.DuckDBPyConnection, table: Table, row: tuple[Any, ...]) -> None:
    """Insert one :attr:`Table.Row` into ``table`` by column name, its values as parameters: no
    Arrow frame read from the caller's variables, so a connection that records what it executes
    and replays it elsewhere (:mod:`engines.record`) sees the whole statement."""
    if type(row) is not table.Row:
        raise TypeError(f"{table.name}: rows are {table.name}.Row, not {type(row).__name__}")
    values = ", ".join(f"?::{duckdb_type(c.type)} AS {c.name}" for c in table.columns)
    con.execute(f"INSERT INTO {table.name} BY NAME SELECT {values}", list(row))


def _row_type(name: str, columns: Iterable[Column]) -> type[Any]:
    row: type[Any] = NamedTuple(_class_name(name), [(c.name, Any) for c in columns])  # type: ignore[misc]
    return row


def _class_name(table: str) -> str:
    return "".join(part.title() for part in table.split("_"))


def create_table(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    """Create a declared table (and its indexes) if it does not exist; a ``temp`` one anew, empty."""
    for statement in table.ddl():
        con.execute(statement)
