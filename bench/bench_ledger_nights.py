"""A night's ledger cost against the history before it: consecutive nights of the same size
through ``append_night``, wall and CPU seconds each (CPU is the fairer figure on a shared
machine).  With the touched-families replay (``ledger/touched.py``) night N costs about
what night 1 does; replaying the whole history made it grow with N.

Usage::

    .venv/bin/python bench/bench_ledger_nights.py [--chains 20000] [--nights 3] [--out /tmp/bench-nights]

(``--chains`` voucher chains a night, five entries each: 20000 is a 100k-entry night.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_night import LEDGER_ENTRIES_PER_S  # noqa: E402
from tests.ledger_nights import Harness, busy_night  # noqa: E402


def cpu_seconds() -> float:
    """User + system CPU time of this process, every thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=20_000)
    parser.add_argument("--nights", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench-nights"))
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    con = duckdb.connect(str(args.out / "warehouse.duckdb"))
    harness = Harness(con, args.out / "checkpoints")
    first = dt.date(2026, 11, 20)
    for i in range(args.nights):
        day = first + dt.timedelta(days=i)
        busy_night(day, args.chains).load(con)
        wall, cpu = time.perf_counter(), cpu_seconds()
        result = harness.run(day)
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        rate = result.appended / wall
        print(f"night {i + 1}: {wall:.1f} s wall, {cpu:.1f} s CPU; {result.appended} appended, tree "
              f"{result.tree_size}, events replayed: {result.replayed_events or 'all'}; {rate:,.0f} entries/s "
              f"({result.appended / cpu:,.0f} per CPU second) = {rate / LEDGER_ENTRIES_PER_S:.3f}× the "
              f"{LEDGER_ENTRIES_PER_S:,} entries/s limit; load average {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
