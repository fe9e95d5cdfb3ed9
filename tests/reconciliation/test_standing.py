"""What stands as of the last night stored (reconciliation.standing): a home of the release before
``standing_matches`` was kept makes it again from every row instead of reading it empty."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from reconciliation.standing import matches_as_of, standing_night
from warehouse.asof import matches_as_of_sql
from warehouse.connection import Warehouse

NIGHT = dt.date(2026, 11, 18)


def test_a_home_of_the_previous_release_makes_its_standing_matches_again(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    with Warehouse(path) as wh:  # what the previous release leaves: a standing night, and no standing matches
        wh.con.execute("INSERT INTO verdict_nights VALUES (?)", [NIGHT])
        wh.con.execute("INSERT INTO financing_verdicts (business_date, financing_id, verdict, check_ids, verdict_since, dropped) "
                       "VALUES (?, 'F1', 'clean', '', ?, false)", [NIGHT, NIGHT])
        wh.con.execute("INSERT INTO trade_matches (business_date, financing_id, invoice_no, po_outcome, ap_outcome, "
                       "gr_outcome, waybill_outcome, instrument_outcome) VALUES (?, 'F1', 'I1', 'x', 'x', 'x', 'x', 'x')", [NIGHT])
        wh.con.execute("INSERT INTO standing_verdicts BY NAME FROM financing_verdicts")
        wh.con.execute("INSERT INTO standing_night VALUES (?, 1, 1)", [NIGHT])
        assert standing_night(wh.con) == NIGHT
        wh.con.execute("DELETE FROM schema_version WHERE name = 'standing_matches'")
    with Warehouse(path) as wh:  # opened by this release: the migration forgets the standing night
        assert standing_night(wh.con) is None
        window = wh.con.execute(f"SELECT * FROM ({matches_as_of_sql()})", [NIGHT]).fetchall()
        assert [row[1] for row in window] == ["F1"]
        assert wh.con.execute(f"SELECT * FROM ({matches_as_of(wh.con, NIGHT)})").fetchall() == window
        assert matches_as_of(wh.con, NIGHT, window_into="window_once") == "FROM window_once"  # the window computed once
        assert wh.con.execute("FROM window_once").fetchall() == window
        wh.con.execute("INSERT INTO standing_matches BY NAME FROM trade_matches")
        wh.con.execute("INSERT INTO standing_night SELECT ?, 1, 1", [NIGHT])
        assert "standing_matches" in matches_as_of(wh.con, NIGHT, window_into="not_made")  # the standing ones read in place
        assert wh.con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'not_made'").fetchone() == (0,)
