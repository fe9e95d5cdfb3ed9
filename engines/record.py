"""The catalogue's SQL, as the DuckDB session runs it: one source for both engines.

The Spark engine does not keep its own copy of the night's SQL, nor re-assemble it: it runs
the DuckDB engine itself (:func:`reconciliation.findings.judge_night`: as-of views,
parameters, preludes, the four-flow match, every check of the catalogue with its wrapping)
on an *empty* in-memory copy of the warehouse's tables, and records every statement it
executes, in order.  Whatever the DuckDB engine runs tonight — a new check, a changed as-of
definition, a new parameter — is what the Spark engine translates
(:mod:`engines.portable`).  On empty tables the recording takes a fraction of a second.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from engines.portable import NotPortable
from reconciliation.catalogue import CATALOGUE, Catalogue
from reconciliation.check import Check
from reconciliation.findings import judge_night
from warehouse.connection import install_sql_helpers


@dataclass(frozen=True)
class Recorded:
    """One statement the DuckDB session executed, with its parameters."""

    sql: str
    params: Sequence[object] | Mapping[str, object] | None


class _RecordingConnection:
    """A DuckDB connection that records what it is asked to execute, then executes it."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self.statements: list[Recorded] = []

    def execute(self, query: str, parameters: Sequence[object] | Mapping[str, object] | None = None) -> duckdb.DuckDBPyConnection:
        self.statements.append(Recorded(query, parameters))
        return self._con.execute(query, parameters)

    def __getattr__(self, name: str) -> Any:
        if name not in _REPLAYABLE:  # anything else would change the session where Spark cannot see it
            raise NotPortable(f"the DuckDB session uses connection.{name}, which the Spark engine cannot replay")
        return getattr(self._con, name)


#: What the session may call on its connection besides ``execute``: reading back, transactions.
_REPLAYABLE = frozenset({"extract_statements", "fetchall", "fetchone", "description", "begin", "commit", "rollback"})


def empty_copy(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB holding the warehouse's tables (same DDL), with no rows."""
    copy = duckdb.connect()
    # the session's Arrow inserts (warehouse.registry.insert_rows) are read by DuckDB's replacement
    # scan of the calling frame's variables: through the recorder, that frame is one further up
    copy.execute("SET python_scan_all_frames = true")
    for (ddl,) in con.execute(
            "SELECT sql FROM duckdb_tables() WHERE NOT temporary AND database_name = current_database() "
            "AND schema_name = 'main' ORDER BY table_name").fetchall():  # fmt: skip
        copy.execute(ddl)
    return copy


def record_night(
    copy: duckdb.DuckDBPyConnection,
    business_date: dt.date,
    *,
    params: Mapping[str, int | str] | None = None,
    checks: Iterable[Check] | None = None,
    catalogue: Catalogue = CATALOGUE,
) -> list[Recorded]:
    """The statements the DuckDB engine runs to judge ``business_date``, run on ``copy``
    (an :func:`empty_copy`, which keeps the session's temporary tables for their schemas), with
    the as-of state built from every night (``full``: Spark keeps no state between nights)."""
    recording = _RecordingConnection(copy)
    install_sql_helpers(recording)  # type: ignore[arg-type]  # the connection's own macros (yuan)
    judge_night(recording, business_date, params=params, checks=checks, catalogue=catalogue, full=True)  # type: ignore[arg-type]
    return recording.statements


def base_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The warehouse's own tables (not the session's temporary ones)."""
    return [name for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary AND database_name = current_database() "
        "AND schema_name = 'main' ORDER BY 1").fetchall()]  # fmt: skip
