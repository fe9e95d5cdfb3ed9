"""Benchmark of the nightly_reports stage on a kept home (not a test).

Re-writes a night's reports on a home that already ran it (``bench/bench_night.py --keep``
leaves one in ``<out>/home``), part by part, and prints each part's wall and CPU seconds (CPU
counts every thread of the process: on a loaded machine it is the steadier figure), the
rows listed and the load average; ``reports_s`` is the stage against issue 15's limit.  The
files written are those of the night's run (a re-run writes the same bytes).

    .venv/bin/python bench/bench_reports.py bench/out/night/home --night 2026-11-18
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPORTS_S = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("--night", type=dt.date.fromisoformat, default=dt.date(2026, 11, 18))
    args = parser.parse_args()

    from reconciliation.reports import night_report_dir, write_csv_reports
    from warehouse.connection import Warehouse
    from worklist.page import render_page
    from worklist.rows import load_findings, load_verdicts, previous_night, verdict_counts
    from worklist.workbook import write_workbook

    parts: dict[str, dict[str, float]] = {}

    def timed(name: str, work: Callable[[], Any]) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        parts[name] = {"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(time.process_time() - cpu, 2)}
        return result

    day, home = args.night, args.home
    with Warehouse(home / "warehouse.duckdb") as warehouse:
        con = warehouse.con
        wall, cpu = time.perf_counter(), time.process_time()
        timed("csv (findings, financing_status, _excel twins)", lambda: write_csv_reports(con, home, day))
        before = timed("previous night", lambda: previous_night(con, day))
        found = timed("findings rows", lambda: load_findings(con, day))
        verdicts = timed("verdict rows listed", lambda: load_verdicts(con, day, before))
        counts = timed("verdict counts", lambda: verdict_counts(con, day))
        previous = timed("last night's findings", lambda: load_findings(con, before, detailed=False) if before else [])
        folder = night_report_dir(home, day)
        timed("exceptions.html", lambda: (folder / "exceptions.html").write_text(
            render_page(day, found, verdicts, counts), encoding="utf-8"))
        timed("exceptions.xlsx", lambda: write_workbook(folder / "exceptions.xlsx", day, found, verdicts, counts,
                                                        previous, before))
        total_s, total_cpu_s = time.perf_counter() - wall, time.process_time() - cpu
    report = {
        "reports_s": {"measured": round(total_s, 2), "limit": f"<= {REPORTS_S}", "score": round(REPORTS_S / total_s, 2),
                      "met": total_s <= REPORTS_S},
        "cpu_s": round(total_cpu_s, 2),
        "load_average_1_5_15": [round(x, 1) for x in os.getloadavg()],
        "findings": len(found),
        "financings": sum(counts.values()),
        "financings_listed": len(verdicts),
        "bytes": {p.name: p.stat().st_size for p in sorted(folder.glob("*")) if p.suffix in (".csv", ".html", ".xlsx")},
        "parts": parts,
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
