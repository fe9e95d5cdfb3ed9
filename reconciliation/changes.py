"""Store a night's verdicts and matches as changes (issue 15 §1): rows only for what changed tonight.

Night D writes a ``financing_verdicts`` row for a financing when its verdict row (verdict, checks,
facts, ``verdict_since``) differs from its row as of the night before, when it is new, when it is no
longer named (a row saying ``dropped``, carrying its last verdict), or when its matches changed; the
``trade_matches`` rows of such a financing are written beside it, all of them.  Every other financing
stands as it was: "as of night D" is each financing's latest row dated up to D
(:func:`warehouse.asof.verdicts_as_of_sql`, :func:`warehouse.asof.matches_as_of_sql`), which is what
the night computed in full.

A night re-run after later nights ran must leave their as-of view as those nights computed it: before
its rows are replaced, each financing whose row of the re-run night changes keeps, on the next later
night stored, the value it had there (a *pin*), unless that night has a row of its own for it.  A re-run
of that later night replaces its pins with what it computes.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from dispositions.effective import waived_sql
from foundation.errors import ScfError
from reconciliation import standing
from warehouse.asof import latest_rows_sql
from warehouse.registry import create_table
from warehouse.results import FINANCING_VERDICTS, STANDING_MATCHES, STANDING_VERDICTS, TRADE_MATCHES, VERDICT_NIGHTS

_MATCH_COLUMNS = ", ".join(c.name for c in TRADE_MATCHES.columns if c.name != "business_date")
_VERDICT_COLUMNS = ", ".join(c.name for c in FINANCING_VERDICTS.columns if c.name != "business_date")


def verdict_candidates(con: duckdb.DuckDBPyConnection, business_date: dt.date, previous: dt.date) -> None:
    """Create ``verdict_candidates``: the financings whose verdict row of night ``business_date``, judged on
    top of night ``previous`` (``scope_kept`` its kept scope, its findings and their dispositions stored),
    may differ from the row they stand at the night before.  A verdict is a function of the financing's
    named row and of its findings that no waiver set aside; every other financing's were the same on
    ``previous``, whose verdicts the as-of rows are (a night stores what it computed): the ones kept
    tonight, those with a row delivered since ``previous``, those whose unwaived findings (check and
    severity) differ between the two nights (the checks run whole, a waiver approved or withdrawn), and
    those with a verdict row stored after ``previous`` (a night stored and no longer judged)."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE verdict_candidates AS
        WITH tonight AS ({_unwaived('$1')}), before AS ({_unwaived('$2')})
        SELECT financing_id FROM scope_kept
        UNION SELECT financing_id FROM ((FROM tonight EXCEPT FROM before) UNION ALL (FROM before EXCEPT FROM tonight))
        UNION SELECT financing_id FROM financings WHERE business_date > $2
        UNION SELECT financing_id FROM financing_rejects WHERE business_date > $2 AND financing_id IS NOT NULL
        UNION SELECT financing_id FROM financing_verdicts WHERE business_date > $2 AND business_date < $1""",
        [business_date, previous],
    )


def _unwaived(night: str) -> str:
    """What a verdict reads of night ``night``'s findings: the check and severity of each financing's unwaived ones."""
    return (f"SELECT financing_id, check_id, severity FROM findings WHERE business_date = {night} "
            f"AND financing_id IS NOT NULL AND finding_id NOT IN ({waived_sql(night)})")


def store_changes(con: duckdb.DuckDBPyConnection, business_date: dt.date, *, whole: bool,
                  narrowed: bool = False, full: bool = False) -> tuple[int, int]:
    """Store night ``business_date``'s verdicts (the temp table ``night_verdicts``: every financing
    named, or with ``narrowed`` those of ``verdict_candidates`` (every other one stands), without
    ``verdict_since``) and matches (``night_trade_matches``: every financing's when ``whole``, else those
    of ``scope_kept``'s financings, the others' standing) as changes; return the verdict and match rows
    written, and keep what stands (:mod:`reconciliation.standing`; ``full``: read and made again from every row).
    Runs inside the caller's transaction."""
    create_table(con, VERDICT_NIGHTS)
    later = _next_night(con, business_date)
    if narrowed and later is not None:  # the caller's decision (may_narrow) was made on another store
        raise ScfError(f"verdicts of {business_date} narrowed to the candidates although night {later} is stored after it")
    kept = standing.standing_night(con)
    kept = kept if kept is not None and kept < business_date and not full else None  # what stands the night before
    fresh = standing.nothing_stored(con)
    if later is not None:
        con.execute("CREATE OR REPLACE TEMP TABLE rerun_verdicts AS FROM financing_verdicts WHERE business_date = ?",
                    [business_date])
        con.execute("CREATE OR REPLACE TEMP TABLE rerun_matches AS FROM trade_matches WHERE business_date = ?", [business_date])
    con.execute("DELETE FROM financing_verdicts WHERE business_date = ?", [business_date])
    con.execute("DELETE FROM trade_matches WHERE business_date = ?", [business_date])
    candidates = "financing_id IN (SELECT financing_id FROM verdict_candidates)" if narrowed else "true"
    if kept:
        con.execute(f"CREATE OR REPLACE TEMP TABLE previous_verdicts AS FROM {STANDING_VERDICTS.name} WHERE {candidates}")
    else:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE previous_verdicts AS
            {latest_rows_sql('financing_verdicts', 'financing_id', '$1 - 1', where=candidates)}""", [business_date])
    scoped = "true" if whole else "financing_id IN (SELECT financing_id FROM scope_kept)"
    stored = STANDING_MATCHES.name if kept else TRADE_MATCHES.name  # the standing rows' matches: kept with them, or every row
    con.execute(f"CREATE OR REPLACE TEMP TABLE previous_matches AS {_standing_matches(scoped, stored)}")  # what tonight's are compared with
    con.execute(
        """CREATE OR REPLACE TEMP TABLE tonight_verdicts AS
        SELECT j.*, CASE WHEN p.verdict = j.verdict THEN p.verdict_since ELSE $1 END AS verdict_since, false AS dropped
        FROM night_verdicts j LEFT JOIN previous_verdicts p USING (financing_id)
        UNION ALL BY NAME  -- no longer named: said once, with the verdict it last had
        SELECT p.* EXCLUDE (business_date) REPLACE (true AS dropped) FROM previous_verdicts p
        WHERE NOT p.dropped AND NOT EXISTS (SELECT 1 FROM night_verdicts j WHERE j.financing_id = p.financing_id)""",
        [business_date],
    )
    # a view, not a copy: on a whole night it is every financing's matches (338k rows of lists at 1M invoices)
    con.execute(f"CREATE OR REPLACE TEMP VIEW night_matches AS FROM night_trade_matches WHERE {scoped}")
    # only the financings with rows on both sides have theirs compared row by row: a new one (a whole first
    # night: every one) is changed without hashing its rows
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE changed_financings AS
        WITH both_verdicts AS (SELECT financing_id FROM previous_verdicts),
        both_matches AS (SELECT DISTINCT financing_id FROM previous_matches
                         INTERSECT SELECT DISTINCT financing_id FROM night_matches)
        SELECT financing_id FROM tonight_verdicts WHERE financing_id NOT IN (FROM both_verdicts)
        UNION
        SELECT financing_id FROM (SELECT {_VERDICT_COLUMNS} FROM tonight_verdicts WHERE financing_id IN (FROM both_verdicts)
                                  EXCEPT SELECT {_VERDICT_COLUMNS} FROM previous_verdicts)
        UNION
        SELECT financing_id FROM (  -- matched on one side only
          (SELECT financing_id FROM night_matches UNION SELECT financing_id FROM previous_matches)
          EXCEPT SELECT financing_id FROM both_matches)
        UNION
        SELECT financing_id FROM (
          (SELECT {_MATCH_COLUMNS} FROM night_matches WHERE financing_id IN (FROM both_matches)
           EXCEPT ALL SELECT {_MATCH_COLUMNS} FROM previous_matches WHERE financing_id IN (FROM both_matches))
          UNION ALL
          (SELECT {_MATCH_COLUMNS} FROM previous_matches WHERE financing_id IN (FROM both_matches)
           EXCEPT ALL SELECT {_MATCH_COLUMNS} FROM night_matches WHERE financing_id IN (FROM both_matches)))""")
    unmatched = f"NOT ({scoped}) AND financing_id IN (SELECT financing_id FROM changed_financings)"
    verdicts = _count(con, f"""INSERT INTO financing_verdicts BY NAME SELECT $1 AS business_date, {_VERDICT_COLUMNS}
        FROM tonight_verdicts WHERE financing_id IN (SELECT financing_id FROM changed_financings)""", [business_date])
    matches = _count(con, f"""INSERT INTO trade_matches BY NAME SELECT $1 AS business_date, {_MATCH_COLUMNS} FROM (
          SELECT {_MATCH_COLUMNS} FROM night_matches
          UNION ALL BY NAME  -- a financing not matched tonight whose verdict changed: its matches as they stand
          SELECT {_MATCH_COLUMNS} FROM ({_standing_matches(unmatched, stored)}))
        WHERE financing_id IN (SELECT financing_id FROM tonight_verdicts WHERE NOT dropped
                               AND financing_id IN (SELECT financing_id FROM changed_financings))""", [business_date])
    if later is not None:
        _pin(con, business_date, later)
    con.execute("INSERT INTO verdict_nights SELECT $1 WHERE $1 NOT IN (SELECT business_date FROM verdict_nights)", [business_date])
    standing.keep(con, business_date, on=kept, fresh=fresh and not full)
    return verdicts, matches


def _standing_matches(which: str, stored: str) -> str:
    """The matches as they stood before tonight of the financings ``which`` (a condition on ``previous_verdicts``),
    read from ``stored``: ``trade_matches``, or ``standing_matches`` when the previous verdicts are the standing ones."""
    return (f"SELECT m.* FROM (SELECT * FROM previous_verdicts WHERE NOT dropped AND {which}) v "
            f"JOIN {stored} m USING (business_date, financing_id)")


def may_narrow(con: duckdb.DuckDBPyConnection, business_date: dt.date, previous: dt.date | None) -> bool:
    """Whether night ``business_date``, judged on top of night ``previous`` (None: judged whole), makes and
    stores the verdicts of :func:`verdict_candidates` only: not when a later night is stored (a re-run or a
    replay: its pins read every financing's row of the night, see :func:`store_changes`)."""
    return previous is not None and _next_night(con, business_date) is None


def _next_night(con: duckdb.DuckDBPyConnection, business_date: dt.date) -> dt.date | None:
    """The first night after ``business_date`` whose verdicts are stored, if any."""
    row = con.execute("SELECT min(business_date) FROM verdict_nights WHERE business_date > ?", [business_date]).fetchone()
    return row[0] if row else None


def _pin(con: duckdb.DuckDBPyConnection, business_date: dt.date, later: dt.date) -> None:
    """Keep on night ``later`` the value as of ``later`` that the re-run of ``business_date`` would change: for
    each financing with a row of that night before or after the re-run and none of ``later``, its row as of
    the night before the re-run (the night's old row, else its latest earlier one, else a ``dropped`` row)."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE pinned_verdicts AS
        WITH old AS (
          SELECT * FROM rerun_verdicts
          UNION ALL
          SELECT * FROM previous_verdicts p WHERE financing_id IN (SELECT financing_id FROM financing_verdicts WHERE business_date = $1)
            AND financing_id NOT IN (SELECT financing_id FROM rerun_verdicts)
          UNION ALL  -- new with the re-run: not named before it
          SELECT n.* REPLACE (true AS dropped) FROM financing_verdicts n WHERE business_date = $1
            AND financing_id NOT IN (SELECT financing_id FROM rerun_verdicts)
            AND financing_id NOT IN (SELECT financing_id FROM previous_verdicts)
        )
        SELECT * FROM old WHERE financing_id NOT IN (SELECT financing_id FROM financing_verdicts WHERE business_date = $2)""",
        [business_date, later],
    )
    con.execute(f"INSERT INTO financing_verdicts BY NAME SELECT $1 AS business_date, {_VERDICT_COLUMNS} FROM pinned_verdicts",
                [later])
    con.execute(
        f"""INSERT INTO trade_matches BY NAME SELECT $1 AS business_date, {_MATCH_COLUMNS} FROM (
          SELECT m.* FROM pinned_verdicts v JOIN rerun_matches m USING (business_date, financing_id) WHERE NOT v.dropped
          UNION ALL BY NAME
          SELECT m.* FROM pinned_verdicts v JOIN trade_matches m USING (business_date, financing_id)
          WHERE NOT v.dropped AND v.business_date < $2)""",
        [later, business_date],
    )


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[object]) -> int:
    row = con.execute(sql, params).fetchone()
    return int(row[0]) if row else 0
