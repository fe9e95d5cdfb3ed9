"""Migration 0004 (verdicts and matches stored as changes) on a home of the previous release: one
that stored every financing's verdict and matches again each night.  Such a home is made from a
home of this release by writing each night's as-of view back in full, in the old table shape; the
migration must give back exactly the change rows this release wrote, and the same view of every night."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from integration.home import init_home
from integration.runner import failure_messages, run_night
from simulator import Tuning, simulate
from warehouse.asof import matches_as_of_sql, verdicts_as_of_sql
from warehouse.connection import Warehouse
from warehouse.migrations import migrations

START = dt.date(2026, 11, 18)
NIGHTS = 3


def _views(con: duckdb.DuckDBPyConnection, nights: list[dt.date]) -> dict[tuple[str, dt.date], list[tuple]]:
    return {(name, night): con.execute(f"SELECT * FROM ({sql}) ORDER BY ALL", [night]).fetchall()
            for night in nights for name, sql in (("verdicts", verdicts_as_of_sql()), ("matches", matches_as_of_sql()))}


def _stored(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {table: con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall() for table in ("financing_verdicts", "trade_matches")}


def _as_previous_release(con: duckdb.DuckDBPyConnection, nights: list[dt.date]) -> None:
    """Every night's view written in full, without ``dropped`` and the nights' register, at schema version 3."""
    con.execute(f"CREATE TEMP TABLE full_verdicts AS SELECT * FROM ({verdicts_as_of_sql()}) WHERE false", [nights[0]])
    con.execute(f"CREATE TEMP TABLE full_matches AS SELECT * FROM ({matches_as_of_sql()}) WHERE false", [nights[0]])
    for night in nights:
        con.execute(f"INSERT INTO full_verdicts {verdicts_as_of_sql()}", [night])
        con.execute(f"INSERT INTO full_matches {matches_as_of_sql()}", [night])
    con.execute("DELETE FROM financing_verdicts")
    con.execute("ALTER TABLE financing_verdicts DROP COLUMN dropped")
    con.execute("INSERT INTO financing_verdicts FROM full_verdicts")
    con.execute("DELETE FROM trade_matches")
    con.execute("INSERT INTO trade_matches FROM full_matches")
    con.execute("DROP TABLE verdict_nights")
    con.execute("DELETE FROM schema_version WHERE version >= 4")


def test_a_home_storing_every_night_in_full_is_migrated_to_the_same_changes_and_views(tmp_path: Path) -> None:
    assert [m.number for m in migrations()][3:4] == [4]
    simulate(tmp_path / "sim", seed=5, nights=NIGHTS, start=START, trades_per_night=20, tuning=Tuning(per_kind=1))
    home = tmp_path / "home"
    home.mkdir()
    init_home(home)
    nights = [START + dt.timedelta(days=n) for n in range(NIGHTS)]
    for night in nights:
        result = run_night(night, home=home, inbox=tmp_path / "sim" / "inbox")
        assert result.success, failure_messages(result)
    with Warehouse(home / "warehouse.duckdb") as wh:
        views, stored = _views(wh.con, nights), _stored(wh.con)
        assert all(views.values()) and len(stored["financing_verdicts"]) < sum(len(views["verdicts", n]) for n in nights)
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        _as_previous_release(con, nights)
        assert len(_stored(con)["financing_verdicts"]) == sum(len(views["verdicts", n]) for n in nights)
    with Warehouse(home / "warehouse.duckdb") as wh:  # opened for writing: migrated
        assert _stored(wh.con) == stored
        assert _views(wh.con, nights) == views
        assert [d for (d,) in wh.con.execute("SELECT business_date FROM verdict_nights ORDER BY 1").fetchall()] == nights
