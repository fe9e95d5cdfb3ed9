"""The verdicts and matches standing as of the last night stored, kept night by night (issue 15 §1).

As of night D, a financing's verdict is its latest ``financing_verdicts`` row up to D and its matches
the ``trade_matches`` rows of that row's night (:func:`warehouse.asof.verdicts_as_of_sql`): a window
over every row ever stored.  ``standing_verdicts`` and ``standing_matches`` hold that for the last
night stored, M (``standing_night``), so that the next night reads what stands without the window:
the night that follows M replaces the standing rows of the financings it wrote rows for.  Any other
store (a night re-run, one judged whole, the first one kept) or any doubt (the rows stored are not
those the standing tables were made from: a writer other than :mod:`reconciliation.changes`) makes
them again from every row by that definition: the rebuild is the oracle the kept tables are tested
against.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from warehouse.asof import latest_rows_sql, matches_as_of_sql, verdicts_as_of_sql
from warehouse.registry import create_table
from warehouse.results import STANDING_MATCHES, STANDING_NIGHT, STANDING_VERDICTS

_COUNTS = "(SELECT count(*) FROM financing_verdicts), (SELECT count(*) FROM trade_matches)"


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the standing tables if missing."""
    for table in (STANDING_VERDICTS, STANDING_MATCHES, STANDING_NIGHT):
        create_table(con, table)


def standing_night(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The night the standing tables are of, if they are that of the rows stored now (else None)."""
    ensure_tables(con)
    row = con.execute(
        f"""SELECT s.business_date FROM {STANDING_NIGHT.name} s
        WHERE s.business_date = (SELECT max(business_date) FROM verdict_nights) AND (s.verdict_rows, s.match_rows) = ({_COUNTS})"""
    ).fetchone()
    return row[0] if row else None


def keep(con: duckdb.DuckDBPyConnection, business_date: dt.date, *, on: dt.date | None) -> None:
    """Bring the standing tables to the last night stored once night ``business_date`` is: on top of
    them as of night ``on`` (the night before ``business_date`` stored; None: make them again)."""
    last = con.execute("SELECT max(business_date) FROM verdict_nights").fetchone()
    if on is None or last is None or last[0] != business_date or not on < business_date:
        _rebuild(con, last[0] if last else None)
    else:
        for table, rows in ((STANDING_VERDICTS, "financing_verdicts"), (STANDING_MATCHES, "trade_matches")):
            con.execute(f"DELETE FROM {table.name} WHERE financing_id IN "
                        "(SELECT financing_id FROM financing_verdicts WHERE business_date = $1)", [business_date])
            con.execute(f"INSERT INTO {table.name} BY NAME FROM {rows} WHERE business_date = $1", [business_date])
    con.execute(f"DELETE FROM {STANDING_NIGHT.name}")
    if last and last[0] is not None:
        con.execute(f"INSERT INTO {STANDING_NIGHT.name} SELECT $1, {_COUNTS}", [last[0]])


def _rebuild(con: duckdb.DuckDBPyConnection, night: dt.date | None) -> None:
    """The standing tables as of ``night`` from every row stored (empty with no night)."""
    con.execute(f"DELETE FROM {STANDING_VERDICTS.name}")
    con.execute(f"DELETE FROM {STANDING_MATCHES.name}")
    if night is None:
        return
    con.execute(f"INSERT INTO {STANDING_VERDICTS.name} BY NAME {latest_rows_sql('financing_verdicts', 'financing_id', '$1')}",
                [night])
    con.execute(f"""INSERT INTO {STANDING_MATCHES.name} BY NAME SELECT m.* FROM {STANDING_VERDICTS.name} v
        JOIN trade_matches m USING (business_date, financing_id) WHERE NOT v.dropped""")


def verdicts_as_of(con: duckdb.DuckDBPyConnection, night: dt.date) -> str:
    """A query of the verdicts as of ``night``, as :func:`warehouse.asof.verdicts_as_of_sql` gives them:
    from the standing table when it is of that night, else by the window over every row."""
    as_of = f"DATE '{night.isoformat()}'"
    if standing_night(con) != night:
        return verdicts_as_of_sql(as_of)
    return f"SELECT {as_of} AS business_date, * EXCLUDE (business_date, dropped) FROM {STANDING_VERDICTS.name} WHERE NOT dropped"


def matches_as_of(con: duckdb.DuckDBPyConnection, night: dt.date) -> str:
    """A query of the matches as of ``night``, as :func:`warehouse.asof.matches_as_of_sql` gives them (see
    :func:`verdicts_as_of`)."""
    as_of = f"DATE '{night.isoformat()}'"
    if standing_night(con) != night:
        return matches_as_of_sql(as_of)
    return f"SELECT {as_of} AS business_date, * EXCLUDE (business_date) FROM {STANDING_MATCHES.name}"
