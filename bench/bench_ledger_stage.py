"""The voucher_ledger stage of a night already run, again: on a copy of the home's warehouse with
the ledger's tables emptied, ``append_night`` exactly as the asset calls it (the home's keys,
evidence window and archive head), timed, and the ledger it leaves compared with the one the
home's own run left (the same tree root is the same entry bytes; the other ledger tables are
compared by row count and a hash of their rows).  The home is only read.

For the first night of a home (the 1M-invoice night of ``bench/bench_night.py``), that is the
stage as the night ran it, without the stages around it: a minute or two a run.

Usage::

    .venv/bin/python bench/bench_ledger_stage.py --home /tmp/b1m/home --work /tmp/ledger-stage [--runs 1]

Before against after, alternately, one process at a time (each a child of this script)::

    git worktree add /tmp/old <commit>   # and build its codec
    .venv/bin/python bench/bench_ledger_stage.py --home ... --work ... --compare /tmp/old [--rounds 3]
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


def _tree() -> Path:
    """The source tree whose code runs the stage: ``--tree DIR`` (a child of ``--compare``), else this script's."""
    if "--tree" in sys.argv:
        return Path(sys.argv[sys.argv.index("--tree") + 1]).resolve()
    return Path(__file__).resolve().parents[1]


sys.path.insert(0, str(_tree()))

import duckdb  # noqa: E402

from bench.bench_night import LEDGER_ENTRIES_PER_S  # noqa: E402
from integration.home import ledger_keys  # noqa: E402
from integration.settings import load_settings  # noqa: E402
from ledger.entries import ArchiveManifest  # noqa: E402
from ledger.nightly import append_night  # noqa: E402
from reconciliation.catalogue import default_params  # noqa: E402
from warehouse.connection import Warehouse  # noqa: E402
from warehouse.results import LEDGER_TABLES  # noqa: E402

_UNCOMPARED = ("ledger_checkpoints",)  # signed notes: their text holds the signing time


def ledger_digest(con: duckdb.DuckDBPyConnection) -> dict[str, list]:
    """Per ledger table: its row count and the XOR of its rows' hashes (timestamps left out), and the tree head."""
    out: dict[str, list] = {}
    for table in LEDGER_TABLES:
        if table.name in _UNCOMPARED:
            continue
        columns = [
            name for name, kind in con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                [table.name],
            ).fetchall() if not kind.startswith("TIMESTAMP")
        ]
        row = con.execute(
            f"SELECT count(*), bit_xor(hash({', '.join(columns)})) FROM {table.name}"
        ).fetchone()
        out[table.name] = [int(row[0]), str(row[1])] if row else [0, "None"]
    head = con.execute("SELECT tree_size, hex(root_hash), business_date FROM ledger_tree").fetchone()
    out["head"] = [int(head[0]), head[1], str(head[2])] if head else []
    return out


def prepare(home: Path, work: Path) -> None:
    """``work/base.duckdb``: the home's warehouse with the ledger's tables emptied; ``work/reference.json``:
    the digest of the ledger the home's run left."""
    if (work / "base.duckdb").exists():
        return
    work.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(home / "warehouse.duckdb", work / "copy.duckdb")
    con = duckdb.connect(str(work / "copy.duckdb"))
    reference = ledger_digest(con)
    for table in LEDGER_TABLES:
        con.execute(f"DELETE FROM {table.name}")
    con.execute("CHECKPOINT")
    con.close()
    (work / "reference.json").write_text(json.dumps(reference, indent=1))
    (work / "copy.duckdb").rename(work / "base.duckdb")


def run_stage(home: Path, work: Path) -> dict:
    """The stage once on a fresh copy of the base: its figures and whether its ledger is the reference."""
    settings = load_settings(home)
    reference = json.loads((work / "reference.json").read_text())
    night = dt.date.fromisoformat(reference["head"][2])
    target = work / "run.duckdb"
    shutil.copyfile(work / "base.duckdb", target)
    checkpoints = work / "checkpoints"
    shutil.rmtree(checkpoints, ignore_errors=True)
    keys = ledger_keys(settings)
    head = settings.archive().head()
    warehouse = Warehouse(target, memory_limit=settings.warehouse_memory_limit)
    load = os.getloadavg()[0]
    wall, own = time.perf_counter(), time.thread_time()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result = append_night(
        warehouse.con, night, checkpoint_dir=checkpoints, signing_key=keys.signer.private_key,
        key_name=keys.signer.name, origin=settings.ledger.origin, fingerprint_key=keys.fingerprint_key,
        evidence_window_days=int({**default_params(), **settings.check_params}["evidence_window_days"]),
        manifest=ArchiveManifest(head.lines, head.head),
    )
    after = resource.getrusage(resource.RUSAGE_SELF)
    wall, own = time.perf_counter() - wall, time.thread_time() - own
    cpu = (after.ru_utime + after.ru_stime) - (usage.ru_utime + usage.ru_stime)
    same = ledger_digest(warehouse.con) == reference
    warehouse.con.close()
    target.unlink()
    return {"wall": wall, "cpu": cpu, "thread": own, "appended": result.appended, "tree_size": result.tree_size,
            "entries_per_s": result.appended / wall, "peak_rss_mib": after.ru_maxrss / 1024, "load_before": load,
            "same_ledger": same}


def compare(args: argparse.Namespace) -> None:
    """The stage on ``args.compare``'s code and on this tree's, alternately, ``args.rounds`` times."""
    trees = {"before": args.compare.resolve(), "after": _tree()}
    totals: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": [], "thread": []} for name in trees}
    for r in range(args.rounds):
        for name, tree in trees.items():
            child = subprocess.run(
                [sys.executable, __file__, "--tree", str(tree), "--home", str(args.home), "--work", str(args.work)],
                capture_output=True, text=True, check=True,
            )
            figures = [json.loads(line[len("figures: "):]) for line in child.stdout.splitlines() if line.startswith("figures: ")]
            for key in totals[name]:
                totals[name][key].append(figures[0][key])
            print(f"round {r + 1} {name}: {json.dumps(figures[0])}", flush=True)
    median = {name: {key: statistics.median(v) for key, v in t.items()} for name, t in totals.items()}
    print("medians: " + json.dumps(median))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="the home whose night is run again (only read)")
    parser.add_argument("--work", type=Path, required=True, help="where the copies go")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--compare", type=Path, help="another source tree (the code before): run both alternately")
    parser.add_argument("--rounds", type=int, default=3, help="with --compare: how many times each tree runs")
    parser.add_argument("--tree", type=Path, help=argparse.SUPPRESS)  # read by _tree() before the imports
    args = parser.parse_args()
    prepare(args.home, args.work)
    if args.compare is not None:
        compare(args)
        return
    for _ in range(args.runs):
        figures = run_stage(args.home, args.work)
        print(f"{figures['appended']:,} entries in {figures['wall']:.1f} s wall, {figures['cpu']:.1f} s CPU "
              f"({figures['thread']:.1f} s on the Python thread): {figures['entries_per_s']:,.0f} entries/s = "
              f"{figures['entries_per_s'] / LEDGER_ENTRIES_PER_S:.3f}x the limit; peak RSS {figures['peak_rss_mib']:,.0f} MiB; "
              f"load {figures['load_before']:.1f}; ledger {'the same as' if figures['same_ledger'] else 'DIFFERENT from'} "
              "the home's", flush=True)
        print("figures: " + json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
