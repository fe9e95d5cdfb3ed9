"""The catalogue on Spark local[N] vs DuckDB, on the same night of the same home (not a test).

Simulates ``--nights`` nights of ``--trades`` trades, runs them through the nightly job
(DuckDB), then judges the last night twice on copies of the warehouse — DuckDB's
``judge_night`` and the Spark engine (``engines.spark.SparkJudge``, store export included) —
with the checks Spark runs today (tests/engines/test_spark_equality.py), and prints each
engine's seconds and their ratio, measured in the same run.

    .venv/bin/python bench/bench_spark.py --trades 1000 --nights 2 --master 'local[2]'
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from engines.spark import SparkJudge, spark_session
from integration.home import init_home
from integration.runner import failure_messages, run_night
from reconciliation.catalogue import CATALOGUE
from reconciliation.findings import judge_night
from simulator import simulate
from warehouse.connection import install_sql_helpers

START = dt.date(2026, 11, 18)
NOT_YET_ON_SPARK = ("TRADE_NO_WAYBILL", "TRADE_CIRCULAR", "DUP_INVOICE_REISSUED", "TRADE_INVALID_USCC")


def main() -> None:
    """Run the comparison and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trades", type=int, default=1000)
    parser.add_argument("--nights", type=int, default=2)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    checks = [c for c in CATALOGUE.checks if c.check_id not in NOT_YET_ON_SPARK]
    last = START + dt.timedelta(days=args.nights - 1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        simulate(root / "sim", seed=20261130, nights=args.nights, start=START, trades_per_night=args.trades)
        init_home(root / "home")
        for offset in range(args.nights):
            result = run_night(START + dt.timedelta(days=offset), home=root / "home", inbox=root / "sim" / "inbox")
            if not result.success:
                raise SystemExit(failure_messages(result))
        seconds = {}
        spark = spark_session(args.master)
        for engine in ("duckdb", "spark"):
            shutil.copyfile(root / "home" / "warehouse.duckdb", root / f"{engine}.duckdb")
            con = duckdb.connect(str(root / f"{engine}.duckdb"))
            install_sql_helpers(con)
            started = time.perf_counter()
            if engine == "duckdb":
                judge_night(con, last, checks=checks)
            else:
                SparkJudge(spark, root / "store")(con, last, checks=checks)
            seconds[engine] = time.perf_counter() - started
            rows = con.execute("SELECT count(*) FROM night_findings").fetchall()[0][0]
            print(f"{engine:7s} {seconds[engine]:8.1f} s  {rows} finding rows")
            con.close()
        print(f"spark/duckdb {seconds['spark'] / seconds['duckdb']:.1f}x ({args.trades} trades x {args.nights} nights, {args.master})")


if __name__ == "__main__":
    main()
