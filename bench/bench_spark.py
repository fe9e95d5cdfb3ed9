"""The catalogue on Spark local[N] vs DuckDB, on the same night of the same home (not a test).

Simulates ``--nights`` nights of ``--trades`` trades, runs them through the nightly job
(DuckDB), then judges the last night with the whole catalogue on copies of the warehouse —
DuckDB's ``judge_night`` as a night runs it (the as-of state kept from the night before) and
from every night (``full``, what Spark always does), and the Spark engine
(``engines.spark.SparkJudge``, store export included) — and prints each engine's seconds, the
Spark engine's phases and the ratios, measured in the same run; the findings of the three
must be the same rows.

    .venv/bin/python bench/bench_spark.py --trades 1000 --nights 2 --master 'local[2]' --driver-memory 4g

``--judge 1,2,4`` judges those nights as the simulated history grows (how each engine's cost grows
with history); ``--banks 3,12`` simulates a platform of each of those numbers of partner banks in turn
(``Tuning.banks``), each bank with ``--trades`` trades a night (the platform's night is banks × trades),
and judges each on both engines in the same run and the same Spark session (how cost grows with banks).
``--home`` judges the last night of an existing home instead (e.g. the 1M-invoice night that
``bench_night.py --keep`` leaves in ``<out>/home``); the home itself is not changed.  The Spark
session takes ``[spark]``'s settings from the options (``--driver-memory 6g`` …); the peak
resident memory of the Spark JVM (sampled every second) and the slowest statements are printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import psutil

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from engines.config import SparkSettings

START = dt.date(2026, 11, 18)


def main() -> None:
    """Run the comparison and print the figures."""
    # The project only now: the night's parse workers (forkserver) re-import this script, and any
    # import of Great Expectations imports pyspark, whose pyspark.sql.connect ends a process whose
    # __main__ looks uninitialised (as bench_night.py)
    from engines.config import DEFAULT_SPARK, MATERIALIZE, SparkSettings
    from engines.spark import spark_session
    from integration.home import init_home
    from integration.runner import failure_messages, run_night
    from simulator import Tuning, simulate
    from simulator.catalog import partner_banks

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trades", type=int, default=1000)
    parser.add_argument("--nights", type=int, default=2)
    parser.add_argument("--banks", default="", help="platforms of these many partner banks (comma-separated), --trades each; "
                        "default one platform of the simulator's seven banks, --trades in all")
    parser.add_argument("--judge", default="", help="the nights (1, 2, …; comma-separated) judged on both engines; default the last")
    defaults = DEFAULT_SPARK
    parser.add_argument("--master", default=defaults.master)
    parser.add_argument("--driver-memory", default=defaults.driver_memory)
    parser.add_argument("--shuffle-partitions", type=int, default=defaults.shuffle_partitions)
    parser.add_argument("--materialize", choices=MATERIALIZE, default=defaults.materialize)
    parser.add_argument("--home", type=Path, help="judge the last night of this home instead of simulating nights")
    args = parser.parse_args()
    judged = {int(n) for n in args.judge.split(",") if n} or {args.nights}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = SparkSettings(master=args.master, driver_memory=args.driver_memory, shuffle_partitions=args.shuffle_partitions,
                                 local_dir=root / "spark-scratch", materialize=args.materialize)  # fmt: skip
        spark = spark_session(settings)
        peak = _sample_peak_rss(psutil.Process(spark.sparkContext._gateway.proc.pid))  # type: ignore[union-attr]
        same = True
        if args.home is None:
            for banks in [int(b) for b in args.banks.split(",") if b] or [None]:
                platform = root / f"banks-{banks or 'default'}"
                trades = args.trades * (banks or 1)
                simulate(platform / "sim", seed=20261130, nights=args.nights, start=START, trades_per_night=trades,
                         tuning=Tuning(banks=banks))
                init_home(platform / "home")
                for offset in range(args.nights):
                    result = run_night(START + dt.timedelta(days=offset), home=platform / "home", inbox=platform / "sim" / "inbox")
                    if not result.success:
                        raise SystemExit(failure_messages(result))
                    if offset + 1 in judged:
                        described = f"night {offset + 1} of {args.nights} x {trades} trades, {len(partner_banks(banks))} banks"
                        same &= _compare(platform / "home", START + dt.timedelta(days=offset), platform, spark, settings, described)
                shutil.rmtree(platform)
        else:
            with duckdb.connect(str(args.home / "warehouse.duckdb"), read_only=True) as con:
                row = con.execute("SELECT max(business_date) FROM files").fetchone()
            if row is None or row[0] is None:
                raise SystemExit(f"{args.home}: no night in its warehouse")
            same = _compare(args.home, row[0], root, spark, settings, f"last night {row[0]} of {args.home}")
        print(f"Spark JVM peak RSS {peak[0] / 2**20:.0f} MiB (driver memory {settings.driver_memory}, {settings.materialize})")
        if not same:
            raise SystemExit(1)


def _compare(home: Path, night: dt.date, root: Path, spark: SparkSession, settings: SparkSettings, described: str) -> bool:
    """Judge ``night`` of ``home`` on copies of its warehouse: DuckDB as a night runs it, DuckDB from every
    night (``full``) and Spark; print the seconds, the ratios and the history's size; whether the findings agree."""
    from engines.spark import SparkJudge
    from reconciliation.findings import judge_night
    from warehouse.connection import install_sql_helpers

    seconds: dict[str, float] = {}
    findings: dict[str, list[tuple]] = {}
    for engine in ("duckdb", "duckdb-full", "spark"):
        shutil.copyfile(home / "warehouse.duckdb", root / f"{engine}.duckdb")
        con = duckdb.connect(str(root / f"{engine}.duckdb"))
        install_sql_helpers(con)
        judge = SparkJudge(spark, root / "store", settings)
        started = time.perf_counter()
        if engine == "spark":
            slowest = sorted(judge(con, night).seconds_by_check.items(), key=lambda kv: -kv[1])[:5]
        else:
            judge_night(con, night, full=engine == "duckdb-full")
        seconds[engine] = time.perf_counter() - started
        findings[engine] = con.execute("SELECT * FROM night_findings ORDER BY ALL").fetchall()
        history = con.execute("SELECT count(*) FROM financings WHERE business_date <= ?", [night]).fetchone()
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in judge.seconds.items()) if engine == "spark" else ""
        print(f"{engine:11s} {seconds[engine]:8.1f} s  {len(findings[engine])} finding rows  {phases}", flush=True)
        con.close()
        (root / f"{engine}.duckdb").unlink()  # one copy at a time: a long history's warehouse is GBs
    same = findings["duckdb"] == findings["duckdb-full"] == findings["spark"]
    ratios = ", ".join(f"spark/{e} {seconds['spark'] / seconds[e]:.1f}x" for e in ("duckdb", "duckdb-full"))
    print(f"{ratios} ({described}, {history[0] if history else 0} financings delivered so far, {settings.master}, "
          f"load {os.getloadavg()[0]:.1f}); findings {'the same' if same else 'DIFFER'}", flush=True)
    print(f"  slowest on Spark: {', '.join(f'{k} {v:.1f} s' for k, v in slowest)}", flush=True)
    return same


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
