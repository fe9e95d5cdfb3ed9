"""Re-judging only the financings whose evidence changed equals judging every one (issue 15 §1).

The simulator's nights (every anomaly and look-alike kind, restated and late deliveries) run
through the nightly job on a home whose evidence window is one night, so that most financings
are carried from the night before; after every night a copy of the warehouse is judged again
with ``full``: the night's findings, verdicts and trade matches must be the same rows.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from integration.home import init_home
from integration.runner import failure_messages, run_night
from reconciliation.findings import run_catalogue
from simulator import Tuning, simulate
from warehouse.connection import Warehouse

START = dt.date(2026, 11, 18)
PARAMS = {"evidence_window_days": 1}
RESULTS = ("findings", "financing_verdicts", "trade_matches")


def night_rows(con, night: dt.date) -> dict[str, list[tuple]]:  # noqa: ANN001
    """The stored results of ``night``, table by table, in a stable order."""
    return {table: sorted(map(repr, con.execute(f"SELECT * FROM {table} WHERE business_date = ?", [night]).fetchall()))
            for table in RESULTS}


def judged_whole(warehouse: Path, night: dt.date, scratch: Path) -> dict[str, list[tuple]]:
    """The results of ``night`` judged again over every financing, on a copy of ``warehouse``."""
    copy = scratch / f"full-{night}.duckdb"
    shutil.copyfile(warehouse, copy)
    with Warehouse(copy) as wh:
        run_catalogue(wh.con, night, params=PARAMS, full=True)
        return night_rows(wh.con, night)


def play(root: Path, *, seed: int, nights: int, trades: int) -> list[str]:
    """Run ``nights`` simulated nights on a one-night-window home, comparing each with the oracle;
    return each night's scope as the night recorded it."""
    simulate(root / "sim", seed=seed, nights=nights, start=START, trades_per_night=trades, tuning=Tuning(per_kind=1))
    home = root / "home"
    home.mkdir()
    (home / "scf.toml").write_text("[checks]\nevidence_window_days = 1\n", encoding="utf-8")
    init_home(home)
    scopes = []
    for offset in range(nights):
        night = START + dt.timedelta(days=offset)
        result = run_night(night, home=home, inbox=root / "sim" / "inbox")
        assert result.success, failure_messages(result)
        with Warehouse(home / "warehouse.duckdb") as wh:
            incremental = night_rows(wh.con, night)
            scopes.append(wh.con.execute("SELECT scope FROM judged_nights WHERE business_date = ?", [night]).fetchone()[0])
        assert incremental == judged_whole(home / "warehouse.duckdb", night, root), night
    return scopes


def test_carried_nights_equal_the_full_recomputation(tmp_path: Path) -> None:
    scopes = play(tmp_path, seed=20261130, nights=4, trades=30)
    assert scopes[0].startswith("every financing judged (")
    assert all("carried from" in scope for scope in scopes[2:]), scopes  # the oracle compared carried nights


@pytest.mark.slow
@pytest.mark.parametrize("seed", [7, 11])
def test_carried_nights_equal_the_full_recomputation_longer(tmp_path: Path, seed: int) -> None:
    scopes = play(tmp_path, seed=seed, nights=8, trades=60)
    assert all("carried from" in scope for scope in scopes[2:]), scopes
