"""The catalogue on Spark local[N] vs DuckDB, on the same night of the same home (not a test).

Simulates ``--nights`` nights of ``--trades`` trades, runs them through the nightly job
(DuckDB), then judges the last night with the whole catalogue on copies of the warehouse —
DuckDB's ``judge_night`` as a night runs it (the as-of state kept from the night before) and
from every night (``full``, what Spark always does), and the Spark engine
(``engines.spark.SparkJudge``, store export included) — and prints each engine's seconds, the
Spark engine's phases and the ratios, measured in the same run; the findings of the three
must be the same rows.

    .venv/bin/python bench/bench_spark.py --trades 1000 --nights 2 --master 'local[2]' --driver-memory 4g

``--home`` judges the last night of an existing home instead (e.g. the 1M-invoice night that
``bench_night.py --keep`` leaves in ``<out>/home``); the home itself is not changed.  The Spark
session takes ``[spark]``'s settings from the options (``--driver-memory 6g`` …); the peak
resident memory of the Spark JVM (sampled every second) and the slowest statements are printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import psutil

START = dt.date(2026, 11, 18)


def main() -> None:
    """Run the comparison and print the figures."""
    # The project only now: the night's parse workers (forkserver) re-import this script, and any
    # import of Great Expectations imports pyspark, whose pyspark.sql.connect ends a process whose
    # __main__ looks uninitialised (as bench_night.py)
    from engines.config import DEFAULT_SPARK, MATERIALIZE, SparkSettings
    from engines.spark import SparkJudge, spark_session
    from integration.home import init_home
    from integration.runner import failure_messages, run_night
    from reconciliation.findings import judge_night
    from simulator import simulate
    from warehouse.connection import install_sql_helpers

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trades", type=int, default=1000)
    parser.add_argument("--nights", type=int, default=2)
    defaults = DEFAULT_SPARK
    parser.add_argument("--master", default=defaults.master)
    parser.add_argument("--driver-memory", default=defaults.driver_memory)
    parser.add_argument("--shuffle-partitions", type=int, default=defaults.shuffle_partitions)
    parser.add_argument("--materialize", choices=MATERIALIZE, default=defaults.materialize)
    parser.add_argument("--home", type=Path, help="judge the last night of this home instead of simulating nights")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.home is None:
            home, last = root / "home", START + dt.timedelta(days=args.nights - 1)
            simulate(root / "sim", seed=20261130, nights=args.nights, start=START, trades_per_night=args.trades)
            init_home(home)
            for offset in range(args.nights):
                result = run_night(START + dt.timedelta(days=offset), home=home, inbox=root / "sim" / "inbox")
                if not result.success:
                    raise SystemExit(failure_messages(result))
            described = f"{args.trades} trades x {args.nights} nights"
        else:
            home = args.home
            with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
                row = con.execute("SELECT max(business_date) FROM files").fetchone()
            if row is None or row[0] is None:
                raise SystemExit(f"{home}: no night in its warehouse")
            last = row[0]
            described = f"last night {last} of {home}"
        seconds: dict[str, float] = {}
        findings: dict[str, list[tuple]] = {}
        settings = SparkSettings(master=args.master, driver_memory=args.driver_memory, shuffle_partitions=args.shuffle_partitions,
                                 local_dir=root / "spark-scratch", materialize=args.materialize)  # fmt: skip
        spark = spark_session(settings)
        peak = _sample_peak_rss(psutil.Process(spark.sparkContext._gateway.proc.pid))  # type: ignore[union-attr]
        for engine in ("duckdb", "duckdb-full", "spark"):
            shutil.copyfile(home / "warehouse.duckdb", root / f"{engine}.duckdb")
            con = duckdb.connect(str(root / f"{engine}.duckdb"))
            install_sql_helpers(con)
            judge = SparkJudge(spark, root / "store", settings)
            started = time.perf_counter()
            if engine == "spark":
                slowest = sorted(judge(con, last).seconds_by_check.items(), key=lambda kv: -kv[1])[:5]
            else:
                judge_night(con, last, full=engine == "duckdb-full")
            seconds[engine] = time.perf_counter() - started
            findings[engine] = con.execute("SELECT * FROM night_findings ORDER BY ALL").fetchall()
            phases = ", ".join(f"{k} {v:.1f} s" for k, v in judge.seconds.items()) if engine == "spark" else ""
            print(f"{engine:11s} {seconds[engine]:8.1f} s  {len(findings[engine])} finding rows  {phases}")
            con.close()
        print(f"Spark JVM peak RSS {peak[0] / 2**20:.0f} MiB (driver memory {settings.driver_memory}, {settings.materialize}); "
              f"slowest: {', '.join(f'{k} {v:.1f} s' for k, v in slowest)}")
        same = findings["duckdb"] == findings["duckdb-full"] == findings["spark"]
        ratios = ", ".join(f"spark/{e} {seconds['spark'] / seconds[e]:.1f}x" for e in ("duckdb", "duckdb-full"))
        print(f"{ratios} ({described}, {args.master}); findings {'the same' if same else 'DIFFER'}")
        if not same:
            raise SystemExit(1)


def _sample_peak_rss(process: psutil.Process) -> list[int]:
    """A one-element list kept at the peak resident set of ``process`` (sampled each second, in a daemon thread)."""
    peak = [0]

    def sample() -> None:
        while True:
            try:
                peak[0] = max(peak[0], process.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(1)

    threading.Thread(target=sample, daemon=True).start()
    return peak


if __name__ == "__main__":
    main()
