"""The verdicts standing as of the last night stored, kept night by night (issue 15 §1).

As of night D, a financing's verdict is its latest ``financing_verdicts`` row up to D and its matches
the ``trade_matches`` rows of that row's night (:func:`warehouse.asof.verdicts_as_of_sql`): a window
over every row ever stored.  ``standing_verdicts`` holds those rows for the last night stored, M
(``standing_night``), and ``standing_matches`` the matches of their nights, so that the next night
reads what stands without the window (or the join of every stored match): a night stored after M
replaces the standing rows of the financings it wrote rows for.  A night re-run, one run
``full``, or any doubt (the rows stored are not those the table was made from: a writer other than
:mod:`reconciliation.changes`) makes it again from every row by that definition: the rebuild is the
oracle the kept table is tested against.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from warehouse.asof import latest_rows_sql, matches_as_of_sql, verdicts_as_of_sql
from warehouse.registry import create_table
from warehouse.results import STANDING_MATCHES, STANDING_NIGHT, STANDING_VERDICTS

_COUNTS = "(SELECT count(*) FROM financing_verdicts), (SELECT count(*) FROM trade_matches)"


def standing_night(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The night ``standing_verdicts`` and ``standing_matches`` are of, if it is that of the rows stored now (else None)."""
    for table in (STANDING_VERDICTS, STANDING_MATCHES, STANDING_NIGHT):
        create_table(con, table)
    row = con.execute(
        f"""SELECT s.business_date FROM {STANDING_NIGHT.name} s
        WHERE s.business_date = (SELECT max(business_date) FROM verdict_nights) AND (s.verdict_rows, s.match_rows) = ({_COUNTS})"""
    ).fetchone()
    return row[0] if row else None


def nothing_stored(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether no night's verdicts are stored yet (what stands is nothing: the first night builds on it)."""
    return con.execute("SELECT NOT EXISTS (FROM verdict_nights) AND NOT EXISTS (FROM financing_verdicts)").fetchone() == (True,)


def keep(con: duckdb.DuckDBPyConnection, business_date: dt.date, *, on: dt.date | None, fresh: bool) -> None:
    """Bring ``standing_verdicts`` and ``standing_matches`` to the last night stored once night ``business_date``
    is: on top of them as of night ``on`` (the last night stored before), or of nothing (``fresh``: none was), else
    again from every row."""
    last = con.execute("SELECT max(business_date) FROM verdict_nights").fetchone()
    night = last[0] if last else None
    for table in (STANDING_VERDICTS, STANDING_MATCHES):
        create_table(con, table)
    if night == business_date and (fresh or (on is not None and on < business_date)):
        written = "" if fresh else " WHERE financing_id IN (SELECT financing_id FROM financing_verdicts WHERE business_date = $1)"
        for table in (STANDING_VERDICTS, STANDING_MATCHES):
            con.execute(f"DELETE FROM {table.name}{written}", [] if fresh else [business_date])
        con.execute(f"INSERT INTO {STANDING_VERDICTS.name} BY NAME FROM financing_verdicts WHERE business_date = $1",
                    [business_date])
        con.execute(f"INSERT INTO {STANDING_MATCHES.name} BY NAME FROM trade_matches WHERE business_date = $1 AND financing_id IN "
                    "(SELECT financing_id FROM financing_verdicts WHERE business_date = $1 AND NOT dropped)", [business_date])
    else:
        for table in (STANDING_VERDICTS, STANDING_MATCHES):
            con.execute(f"DELETE FROM {table.name}")
        if night is not None:
            con.execute(f"INSERT INTO {STANDING_VERDICTS.name} BY NAME "
                        f"{latest_rows_sql('financing_verdicts', 'financing_id', '$1')}", [night])
            con.execute(f"INSERT INTO {STANDING_MATCHES.name} BY NAME SELECT m.* FROM {STANDING_VERDICTS.name} v "
                        "JOIN trade_matches m USING (business_date, financing_id) WHERE NOT v.dropped")
    con.execute(f"DELETE FROM {STANDING_NIGHT.name}")
    if night is not None:
        con.execute(f"INSERT INTO {STANDING_NIGHT.name} SELECT $1, {_COUNTS}", [night])


def _standing_rows(con: duckdb.DuckDBPyConnection, night: dt.date) -> str | None:
    """A query of the latest verdict rows as of ``night`` from the standing table when it is of that night;
    None (the as-of readers' window over every row) otherwise."""
    return f"FROM {STANDING_VERDICTS.name}" if standing_night(con) == night else None


def verdicts_as_of(con: duckdb.DuckDBPyConnection, night: dt.date) -> str:
    """A query of the verdicts as of ``night``, as :func:`warehouse.asof.verdicts_as_of_sql` gives them:
    from the standing table when it is of that night, else by the window over every row."""
    return verdicts_as_of_sql(f"DATE '{night.isoformat()}'", latest=_standing_rows(con, night))


def matches_as_of(con: duckdb.DuckDBPyConnection, night: dt.date, *, window_into: str | None = None) -> str:
    """A query of the matches as of ``night``, as :func:`warehouse.asof.matches_as_of_sql` gives them: the standing
    matches when they are of that night, else by the window over every row (computed once into temp table
    ``window_into``, when given, for a caller that reads the matches many times)."""
    as_of = f"DATE '{night.isoformat()}'"
    if standing_night(con) == night:
        return f"SELECT {as_of} AS business_date, * EXCLUDE (business_date) FROM {STANDING_MATCHES.name}"
    if window_into is None:
        return matches_as_of_sql(as_of)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {window_into} AS {matches_as_of_sql(as_of)}")
    return f"FROM {window_into}"
