"""Benchmark of one stage of a night on a copy of a kept home (not a test).

Runs one step of the nightly job (any of ``integration.assets.STEPS``) exactly as the night does,
outside Dagster, and prints its wall and CPU seconds (CPU of every thread of this process), the
load average and what the asset reported.  A stage runs on a copy of a home that ran the night
(``bench/bench_night.py`` leaves one in ``<out>/home``): ``copy`` makes it (the warehouse and the
files copied, the archive's objects hard-linked), and each run of a stage needs a fresh copy (a
stage replaces its own output).  ``landed_files`` lands the night from ``--inbox`` into the home,
made first if it does not exist (a fresh home: the first night of ``bench/bench_night.py``).

A night deep in a history (``bench/bench_history.py`` leaves its home): copy the home of nights
1..N-1, run ``--until findings`` to run night N's steps before findings, copy that once more, and
time ``findings`` (or ``nightly_reports``) of night N on fresh copies of it.

    .venv/bin/python bench/bench_stages.py copy /tmp/b1m/home /tmp/stages/home
    .venv/bin/python bench/bench_stages.py copy --lean /tmp/h28/home /tmp/stages/h  # without reports/
    .venv/bin/python bench/bench_stages.py findings /tmp/stages/home
    .venv/bin/python bench/bench_stages.py landed_files /tmp/stages/fresh --inbox /tmp/b1m/simulated/inbox
    .venv/bin/python bench/bench_stages.py findings /tmp/h/pre29 --night 2026-10-29 --until --inbox /tmp/h30/simulated/inbox
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

NIGHT = dt.date(2026, 11, 18)
STAGES = ("landed_files", "typed_tables", "data_quality", "voucher_ledger", "findings", "nightly_reports",
          "pool_surveillance")  # integration.assets.STEPS, by name (not imported before the arguments are read)


def copy_home(kept: Path, to: Path, *, lean: bool = False) -> None:
    """``to`` becomes a copy of the home ``kept``: every file copied, the archive's objects hard-linked;
    ``lean``: without the nights' reports (``reports/``, the bulk of a history's copy; no step reads them)."""
    shutil.rmtree(to, ignore_errors=True)
    objects = kept / "archive" / "objects"

    def link_objects(src: str, dst: str) -> object:
        if Path(src).is_relative_to(objects):
            os.link(src, dst)
            return dst
        return shutil.copy2(src, dst)

    def ignore(folder: str, names: list[str]) -> set[str]:
        left = set(shutil.ignore_patterns("night.lock", "*.wal")(folder, names))
        return left | {"reports"} if lean and Path(folder) == kept else left

    shutil.copytree(kept, to, copy_function=link_objects, ignore=ignore)
    (to / "reports").mkdir(exist_ok=True)


def run_stage(name: str, home: Path, inbox: Path | None, night: dt.date) -> dict:
    """Run asset ``name`` of night ``night`` on ``home``; return its seconds and metadata."""
    from integration import assets
    from integration.home import init_home
    from integration.resources import ScfHome

    if name == "landed_files" and not home.exists():
        init_home(home)
    scf = ScfHome(home=str(home), inbox=str(inbox or ""))
    context = SimpleNamespace(partition_key=night.isoformat(), log=logging.getLogger("bench_stages"))
    token = assets._step.set(name)
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        result = getattr(assets, name)(context, scf)
    finally:
        assets._step.reset(token)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    metadata = {k: getattr(v, "value", v) for k, v in (result.metadata or {}).items()}
    return {"stage": name, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "load_average_1_5_15": [round(x, 1) for x in os.getloadavg()], "metadata": metadata}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=("copy", *STAGES))
    parser.add_argument("home", type=Path, help="the kept home (copy) or the home to run the stage on")
    parser.add_argument("to", type=Path, nargs="?", help="copy: where the copy goes")
    parser.add_argument("--inbox", type=Path, help="landed_files: the inbox the night is landed from")
    parser.add_argument("--night", type=dt.date.fromisoformat, default=NIGHT)
    parser.add_argument("--lean", action="store_true", help="copy: leave out the nights' reports (reports/)")
    parser.add_argument("--until", action="store_true", help="run the night's steps before STAGE instead (not timed)")
    args = parser.parse_args()
    if args.stage == "copy":
        started = time.perf_counter()
        copy_home(args.home, args.to, lean=args.lean)
        print(f"copied {args.home} to {args.to} in {time.perf_counter() - started:.1f} s")
        return
    if args.until:
        for earlier in STAGES[:STAGES.index(args.stage)]:
            print(json.dumps(run_stage(earlier, args.home, args.inbox, args.night), default=str), flush=True)
        return
    print(json.dumps(run_stage(args.stage, args.home, args.inbox, args.night), indent=2, default=str))


if __name__ == "__main__":
    main()
