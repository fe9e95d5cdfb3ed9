"""The as-of state kept night by night: ``asof_<table>`` holds the version of record of every key
as of the last night run (:data:`warehouse.asof.DELIVERY_ORDER`), so that a night's checks read it instead of
ranking all history again.

Night D builds on the state of an earlier night P by replacing only the keys delivered on D: the
version of record as of D of a key delivered on D is its latest row of D, and every other key
stands as of P.  That holds when P < D, no row is dated between P and D, and the rows up to P are
those the state was built from (:func:`history_digest`: a restated or re-read earlier night, a file
register changed, the definition changed).  Otherwise, or when asked (``full``), the state is rebuilt from every night up to
D by the same definition: the full build is the oracle the incremental one is tested against.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import duckdb

from warehouse.asof import ASOF_VERSION, CHILD_OF, children_sql, install_asof_macros, latest_versions_sql
from warehouse.registry import Table, create_table, duckdb_type, insert_row
from warehouse.results import ASOF_PROGRESS, NIGHT_DIGESTS
from warehouse.schemas import NATURAL_KEYS, SCHEMAS
from warehouse.transactions import transaction


class Build(StrEnum):
    """How a night's as-of state was made."""

    FULL = "full"
    INCREMENTAL = "incremental"


@dataclass(frozen=True)
class FirstNights:
    """A fact kept with the state: the first night each key was delivered (``key``, ``since``) in
    ``table``, over ``sources``: queries of the typed tables giving ``key, business_date`` (every
    delivered row counts, not only the version of record).  Night D adds the keys first seen on D."""

    table: Table
    sources: tuple[str, ...]

    def _delivered(self, when: str) -> str:
        union = " UNION ALL ".join(f"SELECT key, business_date FROM ({source})" for source in self.sources)
        return f"SELECT key, business_date FROM ({union}) WHERE key IS NOT NULL AND business_date {when}"

    def definition_sql(self) -> str:
        """The fact as of night ``$d`` from every night (the full build): each key delivered up to
        ``$d``, with its first night."""
        return f"SELECT key, min(business_date) AS since FROM ({self._delivered('<= $d')}) GROUP BY key"

    def rebuild(self, con: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
        """The fact as of ``as_of`` from every night (a ``CREATE … AS``, as the state's tables: the Spark
        engine, which records the full build, recomputes it as a view)."""
        columns = ", ".join(f"{c.name}::{duckdb_type(c.type)} AS {c.name}" for c in self.table.columns)
        con.execute(f"CREATE OR REPLACE TABLE {self.table.name} AS SELECT {columns} FROM ({self.definition_sql()})",
                    {"d": as_of})

    def apply_night(self, con: duckdb.DuckDBPyConnection, night: dt.date) -> None:
        """Add the keys delivered on ``night`` (the latest night) and never before."""
        con.execute(f"INSERT INTO {self.table.name} BY NAME SELECT DISTINCT n.key, n.business_date AS since "
                    f"FROM ({self._delivered('= $d')}) n "
                    f"WHERE NOT EXISTS (SELECT 1 FROM {self.table.name} s WHERE s.key = n.key)", {"d": night})


def state_table(name: str) -> str:
    """The table holding the as-of state of typed table ``name``."""
    return f"asof_{name}"


NightDigests = dict[str, dict[dt.date, tuple[int, int]]]
"""Per table, per night: the count of rows and the XOR of the hashes of their lineage."""
_DIGESTED = (*SCHEMAS, "files")


def _lineage(name: str) -> str:
    return "business_date, sha256, seq" if name == "files" else "business_date, src_sha256, src_pos"


def forget_night_digests(con: duckdb.DuckDBPyConnection, night: dt.date) -> None:
    """Drop the stored digests of ``night``, whose rows are being replaced (:meth:`warehouse.connection.Warehouse.clear_night`)."""
    con.execute(f"DELETE FROM {NIGHT_DIGESTS.name} WHERE business_date = ?", [night])


def _store_digests(con: duckdb.DuckDBPyConnection, nights: Sequence[dt.date] | None) -> None:
    """Compute and store the digests of ``nights`` (every night: ``None``) from their rows, one scan a table."""
    where = "" if nights is None else "WHERE business_date BETWEEN $lo AND $hi AND list_contains($nights, business_date)"
    params = {} if nights is None else {"lo": min(nights), "hi": max(nights), "nights": list(nights)}
    for name in _DIGESTED:
        con.execute(f"INSERT INTO {NIGHT_DIGESTS.name} BY NAME SELECT '{name}' AS table_name, business_date, count(*) AS rows, "
                    f"bit_xor(hash({_lineage(name)})) AS digest FROM {name} {where} GROUP BY business_date", params)


def night_digests(con: duckdb.DuckDBPyConnection, up_to: dt.date) -> NightDigests:
    """What the state rests on, night by night up to ``up_to``: the typed tables' rows (night, file,
    position) and the file register's delivery order.  Each night's digests are computed once, from
    that night's rows only, and stored (``night_digests``); clearing a night's rows forgets them, so
    a restated or re-read night gets new ones.  On doubt -- a table holding another number of rows
    than its stored digests count (rows added or removed some other way) -- every night is computed
    again from every row."""
    create_table(con, NIGHT_DIGESTS)
    stored = con.execute(f"SELECT table_name, business_date, rows, digest FROM {NIGHT_DIGESTS.name}").fetchall()
    counted = {name: sum(n for t, _, n, _ in stored if t == name) for name in _DIGESTED}
    if any(con.execute(f"SELECT count(*) FROM {name}").fetchone() != (counted[name],) for name in _DIGESTED):
        con.execute(f"DELETE FROM {NIGHT_DIGESTS.name}")
        _store_digests(con, None)
    else:
        have = {night for _, night, _, _ in stored}
        missing = sorted({night for (night,) in con.execute("SELECT DISTINCT business_date FROM files").fetchall()} - have)
        if missing:
            _store_digests(con, missing)
    digests: NightDigests = {name: {} for name in _DIGESTED}
    for name, night, count, xor in con.execute(
        f"SELECT table_name, business_date, rows, digest FROM {NIGHT_DIGESTS.name} WHERE business_date <= ?", [up_to]
    ).fetchall():
        digests[name][night] = (count, xor)
    return digests


def history_digest(digests: NightDigests, as_of: dt.date, kept: Sequence[FirstNights] = ()) -> str:
    """The digest of every night up to ``as_of`` (and of the definition's version and the facts ``kept``)."""
    parts = [f"v{ASOF_VERSION}", *(f"{fact.table.name}:{fact.sources}" for fact in kept)]
    for name, nights in digests.items():
        count, xor = 0, 0
        for night, (n, x) in nights.items():
            if night <= as_of:
                count, xor = count + n, xor ^ x
        parts.append(f"{name}:{count}:{xor}")
    return ";".join(parts)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND schema_name = 'main' ORDER BY column_index",
        [table]).fetchall()]


def asof_state_night(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The night the kept as-of state is of (``None``: none kept)."""
    create_table(con, ASOF_PROGRESS)
    row = con.execute(f"SELECT max(as_of) FROM {ASOF_PROGRESS.name}").fetchone()
    return row[0] if row else None


def _base(con: duckdb.DuckDBPyConnection, as_of: dt.date, digests: NightDigests,
          kept: Sequence[FirstNights]) -> tuple[dt.date | None, str]:
    """The night whose state night ``as_of`` may build on, or ``None`` (build in full) and why."""
    row = con.execute(f"SELECT as_of, digest FROM {ASOF_PROGRESS.name}").fetchone()
    if row is None:
        return None, "no state kept yet"
    base, digest = row
    if base >= as_of:
        return None, f"the state is of {base}: a re-run or an earlier night"
    if any(_columns(con, state_table(name)) != _columns(con, name) for name in SCHEMAS):
        return None, "a table gained a column since the state was kept (a migration)"
    skipped = sorted({night for name in SCHEMAS for night in digests[name] if base < night < as_of})
    if skipped:
        return None, f"{skipped[0]}, delivered after the state's night {base}, was not run"
    if history_digest(digests, base, kept) != digest:
        return None, f"the nights up to {base} changed since (restated or re-read) or the definition did"
    return base, f"on the state of {base}"


def _rebuild(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    for name in SCHEMAS:
        if name not in CHILD_OF:
            con.execute(f"CREATE OR REPLACE TABLE {state_table(name)} AS "
                        f"{latest_versions_sql(name, 'business_date <= $d')}", {"d": as_of})
    for child, (parent, _) in CHILD_OF.items():
        con.execute(f"CREATE OR REPLACE TABLE {state_table(child)} AS {children_sql(child, state_table(parent))}")


def _apply_night(con: duckdb.DuckDBPyConnection, night: dt.date) -> None:
    """Replace the state of every key delivered on ``night`` (the latest night) by its version of that night.

    Finding the state's rows of the night's keys reads every key of the state (a join: DuckDB has no
    index join), the one part of the night in proportion to the book.  A child's rows are read only
    when its parent's state lost a row: a child row of the state belongs to its parent's version
    there, joined on the parent's natural key (:data:`CHILD_OF`), so the children of a parent key
    delivered tonight are in the state only if that key was, and replaced with it."""
    replaced: dict[str, int] = {}
    for name in SCHEMAS:
        if name in CHILD_OF:
            continue
        state = state_table(name)
        same_key = " AND ".join(f"n.{k} IS NOT DISTINCT FROM s.{k}" for k in NATURAL_KEYS[name])
        deleted = con.execute(f"DELETE FROM {state} s WHERE EXISTS (SELECT 1 FROM {name} n WHERE n.business_date = $d "
                              f"AND {same_key})", {"d": night}).fetchone()
        replaced[name] = deleted[0] if deleted else 0
        con.execute(f"INSERT INTO {state} BY NAME {latest_versions_sql(name, 'business_date = $d')}", {"d": night})
    for child, (parent, join_cols) in CHILD_OF.items():
        state = state_table(child)
        if replaced[parent]:
            same_parent = " AND ".join(f"n.{k} IS NOT DISTINCT FROM s.{k}" for k in join_cols)
            con.execute(f"DELETE FROM {state} s WHERE EXISTS (SELECT 1 FROM {parent} n WHERE n.business_date = $d "
                        f"AND {same_parent})", {"d": night})
        tonight = f"(SELECT * FROM {state_table(parent)} WHERE business_date = $d)"
        con.execute(f"INSERT INTO {state} BY NAME {children_sql(child, tonight)}", {"d": night})


@dataclass(frozen=True)
class Refresh:
    """How :func:`refresh_asof_state` made a night's state, and why (for the night's log)."""

    build: Build
    reason: str

    def __str__(self) -> str:
        return f"{self.build.value} ({self.reason})"


def refresh_asof_state(con: duckdb.DuckDBPyConnection, as_of: dt.date, *, full: bool = False,
                       kept: Sequence[FirstNights] = ()) -> Refresh:
    """Bring the ``asof_*`` tables (and the facts ``kept`` with them) to the state as of ``as_of``: on
    top of the last night's when it may be built on (see the module docstring) and ``full`` is not
    asked, else from every night."""
    create_table(con, ASOF_PROGRESS)
    for fact in kept:
        create_table(con, fact.table)
    digests = night_digests(con, as_of)
    base, reason = (None, "asked (--full)") if full else _base(con, as_of, digests, kept)
    with transaction(con):
        if base is None:
            _rebuild(con, as_of)
        else:
            _apply_night(con, as_of)
        for fact in kept:
            if base is None:
                fact.rebuild(con, as_of)
            else:
                fact.apply_night(con, as_of)
        con.execute(f"DELETE FROM {ASOF_PROGRESS.name}")
        insert_row(con, ASOF_PROGRESS, ASOF_PROGRESS.Row(as_of=as_of, digest=history_digest(digests, as_of, kept)))
    return Refresh(Build.FULL if base is None else Build.INCREMENTAL, reason)


def create_state_views(con: duckdb.DuckDBPyConnection) -> None:
    """Temporary ``cur_<table>`` views over the as-of state (what :func:`refresh_asof_state` last built)."""
    install_asof_macros(con)
    for name in SCHEMAS:
        con.execute(f"CREATE OR REPLACE TEMP VIEW cur_{name} AS SELECT * FROM {state_table(name)}")
