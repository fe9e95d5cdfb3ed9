"""The Spark engine takes the night's SQL from the DuckDB session itself (engines.record): that
session must run on a recording connection, every statement whole (no Python frame read by a
replacement scan), on an empty copy of the warehouse."""

from __future__ import annotations

import datetime as dt

from engines.record import base_tables, empty_copy, record_night
from warehouse.connection import Warehouse

NIGHT = dt.date(2026, 11, 20)


def test_a_nights_session_records_on_an_empty_copy(wh: Warehouse) -> None:
    copy = empty_copy(wh.con)
    try:
        assert "asof_progress" in base_tables(copy)
        statements = record_night(copy, NIGHT)
        assert any(s.sql.startswith("INSERT INTO asof_progress BY NAME") for s in statements)
        assert copy.execute("SELECT as_of FROM asof_progress").fetchall() == [(NIGHT,)]
    finally:
        copy.close()
