"""The open store: warehouse tables as Parquet, Hive-partitioned by business date (engines/store.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from engines.store import columns, export_night
from integration.home import init_home
from integration.runner import failure_messages, run_night
from tests.conftest import SAMPLE_NIGHT
from warehouse.connection import Warehouse

D1, D2 = dt.date(2026, 11, 18), dt.date(2026, 11, 19)


def _warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE findings (finding_id VARCHAR, business_date DATE, detail VARCHAR)")
    con.execute("CREATE TABLE ledger_rejections (business_date DATE, as_of DATE, reason VARCHAR)")
    con.execute("CREATE TABLE pools (pool_id VARCHAR)")
    con.execute("INSERT INTO findings VALUES ('F1', ?, 'one'), ('F2', ?, 'two')", [D1, D2])
    con.execute("INSERT INTO ledger_rejections VALUES (?, ?, 'r')", [D1, D2])
    con.execute("INSERT INTO pools VALUES ('P1')")
    return con


def _read(store: Path, table: str) -> list[tuple]:
    return duckdb.sql(
        f"SELECT * FROM read_parquet('{store}/{table}/**/*.parquet', hive_partitioning = true) ORDER BY ALL").fetchall()


def test_a_night_is_written_by_business_date_and_earlier_nights_are_filled_in(tmp_path: Path) -> None:
    con = _warehouse()
    export_night(con, tmp_path, D2, ["findings", "ledger_rejections", "pools"])
    assert sorted(p.name for p in (tmp_path / "findings").iterdir()) == ["business_date=2026-11-18", "business_date=2026-11-19"]
    assert _read(tmp_path, "findings") == [("F1", "one", D1), ("F2", "two", D2)]
    assert _read(tmp_path, "ledger_rejections") == [(D2, "r", D1)]  # rewritten whole: its rows change after their night
    assert (tmp_path / "pools" / "data_0.parquet").exists()  # no business_date: one file
    assert not (tmp_path / ".staging").exists()


def test_re_exporting_a_night_replaces_its_partition_only(tmp_path: Path) -> None:
    con = _warehouse()
    export_night(con, tmp_path, D2, ["findings"])
    con.execute("DELETE FROM findings WHERE business_date = ?", [D2])
    con.execute("INSERT INTO findings VALUES ('F3', ?, 'three')", [D2])
    con.execute("UPDATE findings SET detail = 'changed' WHERE business_date = ?", [D1])
    export_night(con, tmp_path, D2, ["findings"])
    assert _read(tmp_path, "findings") == [("F1", "one", D1), ("F3", "three", D2)]  # night 1 as it was written


def test_a_night_without_rows_leaves_no_partition(tmp_path: Path) -> None:
    con = _warehouse()
    export_night(con, tmp_path, D2, ["findings"])
    con.execute("DELETE FROM findings WHERE business_date = ?", [D2])
    export_night(con, tmp_path, D2, ["findings"])
    assert [p.name for p in (tmp_path / "findings").iterdir()] == ["business_date=2026-11-18"]


def test_a_duckdb_night_writes_the_store_when_configured(tmp_path: Path, sample_inbox: Path) -> None:
    home = tmp_path / "home"
    init_home(home)
    (home / "scf.toml").write_text("[store]\nwrite = true\n", "utf-8")
    night = dt.date.fromisoformat(SAMPLE_NIGHT)
    result = run_night(night, home=home, inbox=sample_inbox)
    assert result.success, failure_messages(result)
    with Warehouse(home / "warehouse.duckdb") as wh:
        for table in ("tax_invoices", "financings", "trade_matches", "findings", "financing_verdicts"):
            assert (home / "store" / table / f"business_date={SAMPLE_NIGHT}").is_dir(), table
            names = ", ".join(name for name, _ in columns(wh.con, table))
            stored = duckdb.sql(f"SELECT {names} FROM read_parquet('{home}/store/{table}/**/*.parquet', "
                                "hive_partitioning = true) ORDER BY ALL").fetchall()
            assert stored, f"{table}: no rows stored"
            assert stored == wh.con.execute(f"SELECT {names} FROM {table} WHERE business_date = ? ORDER BY ALL", [night]).fetchall()
