"""A night's ledger cost against the history before it: consecutive nights of the same size
through ``append_night``, wall and CPU seconds each (CPU is the fairer figure on a shared
machine).  With the touched-families replay (``ledger/touched.py``) night N costs about
what night 1 does; replaying the whole history made it grow with N.

Usage::

    .venv/bin/python bench/bench_ledger_nights.py [--chains 20000] [--nights 3] [--out /tmp/bench-nights]

(``--chains`` voucher chains a night, five entries each: 20000 is a 100k-entry night.)

Before against after, in one run::

    git worktree add /tmp/old <commit>
    .venv/bin/python bench/bench_ledger_nights.py --compare /tmp/old [--rounds 5] [--chains 20000] [--nights 1]

runs the same nights on the other tree's code and on this one alternately, one process at a
time (each a child of this script with ``--tree``), and prints each tree's median CPU seconds
of ``append_night`` on the Python thread and in all, and their ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb


def _tree() -> Path:
    """The source tree whose code runs the nights: ``--tree DIR`` (a child of ``--compare``), else this script's."""
    if "--tree" in sys.argv:
        return Path(sys.argv[sys.argv.index("--tree") + 1]).resolve()
    return Path(__file__).resolve().parents[1]


sys.path.insert(0, str(_tree()))

from bench.bench_night import LEDGER_ENTRIES_PER_S  # noqa: E402
from tests.ledger_nights import Harness, busy_night  # noqa: E402


def cpu_seconds() -> float:
    """User + system CPU time of this process, every thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def compare(args: argparse.Namespace) -> None:
    """The nights on ``args.compare``'s code and on this tree's, alternately, ``args.rounds`` times."""
    trees = {"before": args.compare.resolve(), "after": _tree()}
    totals: dict[str, dict[str, list[float]]] = {name: {"thread": [], "cpu": []} for name in trees}
    for r in range(args.rounds):
        for name, tree in trees.items():
            load = os.getloadavg()[0]
            child = subprocess.run(
                [sys.executable, __file__, "--tree", str(tree), "--chains", str(args.chains), "--nights", str(args.nights),
                 "--out", str(args.out)], capture_output=True, text=True, check=True,
            )
            nights = [json.loads(line[len("figures: "):]) for line in child.stdout.splitlines() if line.startswith("figures: ")]
            for key in ("thread", "cpu"):
                totals[name][key].append(sum(n[key] for n in nights))
            print(f"round {r + 1} {name} ({tree}): {totals[name]['thread'][-1]:.2f} s on the Python thread, "
                  f"{totals[name]['cpu'][-1]:.2f} s CPU in all; load average {load:.1f} before", flush=True)
    median = {name: {key: statistics.median(v) for key, v in t.items()} for name, t in totals.items()}
    print(f"median over {args.rounds} rounds: before {median['before']['thread']:.2f} / {median['before']['cpu']:.2f} s, "
          f"after {median['after']['thread']:.2f} / {median['after']['cpu']:.2f} s (Python thread / all); before ÷ after "
          f"{median['before']['thread'] / median['after']['thread']:.2f} / {median['before']['cpu'] / median['after']['cpu']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=20_000)
    parser.add_argument("--nights", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench-nights"))
    parser.add_argument("--compare", type=Path, help="another source tree (the code before): run both alternately")
    parser.add_argument("--rounds", type=int, default=5, help="with --compare: how many times each tree runs")
    parser.add_argument("--tree", type=Path, help=argparse.SUPPRESS)  # read by _tree() before the imports
    args = parser.parse_args()
    if args.compare is not None:
        compare(args)
        return
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    con = duckdb.connect(str(args.out / "warehouse.duckdb"))
    harness = Harness(con, args.out / "checkpoints")
    first = dt.date(2026, 11, 20)
    for i in range(args.nights):
        day = first + dt.timedelta(days=i)
        busy_night(day, args.chains).load(con)
        wall, cpu, own = time.perf_counter(), cpu_seconds(), time.thread_time()
        result = harness.run(day)
        wall, cpu, own = time.perf_counter() - wall, cpu_seconds() - cpu, time.thread_time() - own
        rate = result.appended / wall
        print(f"night {i + 1}: {wall:.1f} s wall, {cpu:.1f} s CPU ({own:.1f} s of it on the Python thread, the rest "
              f"DuckDB's); {result.appended} appended, tree "
              f"{result.tree_size}, events replayed: {result.replayed_events or 'all'}; {rate:,.0f} entries/s "
              f"({result.appended / cpu:,.0f} per CPU second) = {rate / LEDGER_ENTRIES_PER_S:.3f}× the "
              f"{LEDGER_ENTRIES_PER_S:,} entries/s limit; load average {os.getloadavg()[0]:.1f}", flush=True)
        print("figures: " + json.dumps({"night": i + 1, "wall": wall, "cpu": cpu, "thread": own}), flush=True)


if __name__ == "__main__":
    main()
