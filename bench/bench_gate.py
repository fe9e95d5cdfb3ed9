"""Benchmark of the nightly integrity gate (not a test): is it flat as nights pile up?

Simulates ``--nights`` nights of ``--trades`` trades into one home and runs them in order.  Before
each night, and after the last (what the next night's gate would do), it times on the home as the
night finds it the gate as it was before issue 15 (every entry, index column and fingerprint:
``audit_home(objects=False)``) and the nightly gate (``night_gate``: from the checkpoint the
previous gate verified, the entries since, a rotating slice).  The night itself runs the gate again
in ``landed_files`` (a second slice: the lap advances twice a night here).  One JSON line per
night; the load average with each.  ``--home`` measures an existing home once instead.

    .venv/bin/python bench/bench_gate.py --nights 10 --trades 2000 --out /tmp/gate
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

START = dt.date(2026, 11, 18)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=10)
    parser.add_argument("--trades", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=Path("bench/out/gate"))
    parser.add_argument("--home", type=Path, help="measure the gates of this home once (no simulation, no night)")
    args = parser.parse_args()
    if args.home:
        print(json.dumps(measure(args.home)), flush=True)
        return
    shutil.rmtree(args.out, ignore_errors=True)
    sim, home = args.out / "simulated", args.out / "home"
    subprocess.run([sys.executable, "-m", "integration.cli", "simulate", "--out", str(sim), "--nights", str(args.nights),
                    "--start", START.isoformat(), "--trades", str(args.trades), "--seed", str(args.seed)],
                   check=True, stdout=subprocess.DEVNULL)

    from integration.home import init_home
    from integration.runner import failure_messages, run_night

    init_home(home)
    for n in range(args.nights):
        row = {"night": n + 1, **measure(home)}
        started = time.perf_counter()
        result = run_night(START + dt.timedelta(days=n), home=home, inbox=sim / "inbox")
        if not result.success:
            raise SystemExit("\n".join(failure_messages(result)))
        row["night_s"] = round(time.perf_counter() - started, 1)
        print(json.dumps(row), flush=True)
    print(json.dumps({"after_night": args.nights, **measure(home)}), flush=True)


def measure(home: Path) -> dict[str, object]:
    """The old gate's and the nightly gate's seconds on ``home`` as it is (the latter advances its lap)."""
    import duckdb

    from integration.audit import audit_home, night_gate
    from integration.settings import load_settings

    settings = load_settings(home)
    row: dict[str, object] = {}
    if settings.warehouse_path.exists():
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
        row["ledger_entries"] = con.execute("SELECT count(*) FROM ledger_entries").fetchone()[0]  # type: ignore[index]
        con.close()
        started = time.perf_counter()
        audit_home(settings, objects=False)
        row["gate_before_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        lines = night_gate(settings).lines
        row["gate_now_s"] = round(time.perf_counter() - started, 2)
        row["gate_now"] = [line for line in lines if line.startswith("ledger")]
    row["load_average_1_5_15"] = [round(x, 1) for x in os.getloadavg()]
    return row


if __name__ == "__main__":
    main()
