"""The catalogue on Spark (local[2]) over the open store gives DuckDB's findings and verdicts,
row for row, finding ids included (issue 16).

Simulator nights (40 trades a night, every anomaly and look-alike kind once) run through the
nightly job on DuckDB; then the last night's whole catalogue is judged again twice on copies of
the warehouse — by DuckDB and by Spark — and the stored findings, verdicts and trade matches of
the night must be equal, every check having found something.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

pytest.importorskip("pyspark")
# ~150 statements, each its own Spark jobs: 86 s for the whole module on this machine once it was
# quiet (17 min at load 17, docs/SCALE.md); it runs in `make test`, Java from `make java`
pytestmark = [pytest.mark.timeout(1800)]

from engines.spark import SparkJudge, spark_session  # noqa: E402
from integration.home import init_home  # noqa: E402
from integration.runner import failure_messages, run_night  # noqa: E402
from reconciliation.findings import run_catalogue  # noqa: E402
from simulator import Tuning, simulate  # noqa: E402
from warehouse.connection import install_sql_helpers  # noqa: E402

START = dt.date(2026, 11, 18)
NIGHTS = 2
LAST = START + dt.timedelta(days=NIGHTS - 1)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("spark")
    simulate(root / "sim", seed=20261130, nights=NIGHTS, start=START, trades_per_night=40, tuning=Tuning(per_kind=1))
    init_home(root / "home")
    for offset in range(NIGHTS):
        result = run_night(START + dt.timedelta(days=offset), home=root / "home", inbox=root / "sim" / "inbox")
        assert result.success, failure_messages(result)
    return root / "home"


@pytest.fixture(scope="module")
def judged(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection]]:
    """The last night judged by DuckDB and by Spark, each on its own copy of the warehouse."""
    root = tmp_path_factory.mktemp("judged")
    cons = []
    for name in ("duckdb", "spark"):
        shutil.copyfile(home / "warehouse.duckdb", root / f"{name}.duckdb")
        con = duckdb.connect(str(root / f"{name}.duckdb"))
        install_sql_helpers(con)
        judge = SparkJudge(spark_session(), root / "store") if name == "spark" else None
        run_catalogue(con, LAST, judge=judge)
        cons.append(con)
    yield cons[0], cons[1]
    for con in cons:
        con.close()


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return con.execute(f"SELECT * FROM {table} WHERE business_date = ? ORDER BY ALL", [LAST]).fetchall()


@pytest.mark.parametrize("table", ["findings", "financing_verdicts", "trade_matches"])
def test_spark_gives_duckdbs_rows(judged: tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection], table: str) -> None:
    on_duckdb, on_spark = judged
    expected = _rows(on_duckdb, table)
    assert expected, f"no {table} on DuckDB: the comparison would prove nothing"
    assert _rows(on_spark, table) == expected


def test_every_trade_check_found_rows_on_spark(judged: tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection]) -> None:
    """The four checks that once were not portable found something, so their equality means something."""
    _, on_spark = judged
    found = {c for (c,) in on_spark.execute("SELECT DISTINCT check_id FROM findings WHERE business_date = ?", [LAST]).fetchall()}
    assert {"TRADE_NO_WAYBILL", "TRADE_CIRCULAR", "DUP_INVOICE_REISSUED", "TRADE_INVALID_USCC"} <= found


def test_the_night_found_what_it_planted(judged: tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection]) -> None:
    _, on_spark = judged
    checks = {c for (c,) in on_spark.execute("SELECT check_id FROM findings WHERE business_date = ?", [LAST]).fetchall()}
    verdicts = {v for (v,) in on_spark.execute("SELECT verdict FROM financing_verdicts WHERE business_date = ?", [LAST]).fetchall()}
    assert {"DUP_INVOICE_MULTI_FINANCED", "INVOICE_RED_FLUSHED"} <= checks
    assert {"blocked", "clean"} <= verdicts
