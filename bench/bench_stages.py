"""Benchmark of one stage of a night on a copy of a kept home (not a test).

Runs one asset of the nightly job (``landed_files``, ``data_quality``, ``findings`` or
``nightly_reports``) exactly as the night does, outside Dagster, and prints its wall and CPU
seconds (CPU of every thread of this process), the load average and what the asset reported.
``landed_files`` lands the night into a fresh home (the first night of ``bench/bench_night.py``);
the other stages run on a copy of a home that ran the night (``bench/bench_night.py`` leaves one
in ``<out>/home``): ``copy`` makes it (the warehouse and the files copied, the archive's objects
hard-linked), and each run of a stage needs a fresh copy (a stage replaces its own output).

    .venv/bin/python bench/bench_stages.py copy /tmp/b1m/home /tmp/stages/home
    .venv/bin/python bench/bench_stages.py findings /tmp/stages/home
    .venv/bin/python bench/bench_stages.py landed_files /tmp/stages/fresh --inbox /tmp/b1m/simulated/inbox
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
STAGES = ("landed_files", "data_quality", "findings", "nightly_reports")


def copy_home(kept: Path, to: Path) -> None:
    """``to`` becomes a copy of the home ``kept``: every file copied, the archive's objects hard-linked."""
    shutil.rmtree(to, ignore_errors=True)
    objects = kept / "archive" / "objects"

    def link_objects(src: str, dst: str) -> object:
        return os.link(src, dst) if Path(src).is_relative_to(objects) else shutil.copy2(src, dst)

    shutil.copytree(kept, to, copy_function=link_objects, ignore=shutil.ignore_patterns("night.lock", "*.wal"))


def run_stage(name: str, home: Path, inbox: Path | None, night: dt.date) -> dict:
    """Run asset ``name`` of night ``night`` on ``home``; return its seconds and metadata."""
    from integration import assets
    from integration.home import init_home
    from integration.resources import ScfHome

    if name == "landed_files":
        shutil.rmtree(home, ignore_errors=True)
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
    args = parser.parse_args()
    if args.stage == "copy":
        started = time.perf_counter()
        copy_home(args.home, args.to)
        print(f"copied {args.home} to {args.to} in {time.perf_counter() - started:.1f} s")
        return
    print(json.dumps(run_stage(args.stage, args.home, args.inbox, args.night), indent=2, default=str))


if __name__ == "__main__":
    main()
