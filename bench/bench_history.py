"""Benchmark of a home's history (not a test): does night N cost what night 1 did?

Simulates ``--nights`` consecutive nights of ``--trades`` trades each (in a child process), runs
them in order into ONE home with the nightly Dagster job, each night in a fresh process (as ``scf run``
and the daemon's runs do: nothing an earlier night read is still in memory), and records per night the seconds of
each stage (the ``scf.progress`` log) and the warehouse's size.  Writes ``history.json``, a table
(``history.md``: per stage, night 1, night N, their ratio, the least-squares slope in seconds per
night and the extrapolation to night 250) and a plot of seconds per stage by night
(``history.svg``, and ``history.png`` rendered from it by headless Chromium, `make browser`).
``--full`` runs every night in full mode (the oracle) for comparison; ``--plot`` only writes
the table and plots again from the ``history.json`` an earlier run left in ``--out``.

``--compare-findings`` (on the home an earlier run left) times the findings stage of the last night
three ways on copies of the warehouse, in one run: on the as-of state kept from the night before,
judging only the financings touched since (incremental), rebuilding the state from every night and
judging every financing (``--full``), and over ``cur_*`` window views of all history as the engine
did before the state was kept.

    .venv/bin/python bench/bench_history.py --nights 30 --trades 100000 --out bench/out/history
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path

START = dt.date(2026, 10, 1)  # nights must be over (integration.nights.out_of_range)
HORIZON = 250
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


class StepTimes(logging.Handler):
    """Collects the seconds each asset reports on the ``scf.progress`` logger."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if hasattr(record, "asset"):
            self.seconds[record.asset] = record.seconds  # type: ignore[attr-defined]


def simulate(out: Path, nights: int, trades: int, seed: int) -> None:
    """Generate the nights in a child process (its memory is not the engine's)."""
    subprocess.run([sys.executable, "-m", "integration.cli", "simulate", "--out", str(out), "--nights", str(nights),
                    "--start", START.isoformat(), "--trades", str(trades), "--seed", str(seed)],
                   check=True, stdout=subprocess.DEVNULL)


def fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares line through the points: (intercept, slope)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0
    return my - slope * mx, slope


#: What each night was made of, from its assets' metadata: (asset, metadata key) by the name recorded.
SIZE_METADATA = {"records": ("typed_tables", "records"), "ledger_entries": ("voucher_ledger", "appended")}


def night_size(result: object) -> dict[str, int]:
    """The night's typed records, ledger entries appended and financings with a verdict (the book
    named), read from the metadata of its run's materializations (``result``: the run's result)."""
    metadata = {event.asset_key.to_user_string(): event.materialization.metadata
                for event in result.get_asset_materialization_events()}  # type: ignore[attr-defined]
    named = sum(int(v.value) for k, v in metadata["findings"].items() if k.startswith("verdicts."))
    return {**{name: int(metadata[asset][key].value) for name, (asset, key) in SIZE_METADATA.items()},
            "financings_named": named}


def table(rows: list[dict]) -> str:
    """The markdown table: per stage night 1, night N, ratio, slope (s/night), extrapolated night 250."""
    stages = list(rows[0]["steps_s"])
    lines = ["| stage | night 1 s | night N s | N / 1 | slope s/night | night 250 s (fit) |", "|---|---|---|---|---|---|"]
    for stage in [*stages, "total"]:
        ys = [r["total_s"] if stage == "total" else r["steps_s"].get(stage, 0.0) for r in rows]
        intercept, slope = fit([float(r["night"]) for r in rows], ys)
        ratio = ys[-1] / ys[0] if ys[0] else float("nan")
        lines.append(f"| {stage} | {ys[0]:.2f} | {ys[-1]:.2f} | {ratio:.2f} | {slope:+.3f} | {intercept + slope * HORIZON:.1f} |")
    mib = [r["warehouse_mib"] for r in rows]
    _, growth = fit([float(r["night"]) for r in rows], mib)
    lines.append(f"\nwarehouse: {mib[0]:.0f} MiB after night 1, {mib[-1]:.0f} MiB after night {rows[-1]['night']} "
                 f"({growth:+.1f} MiB/night)")
    if "size" in rows[0]:  # (recorded since 2026-12-01)
        for row in (rows[0], rows[-1]):
            lines.append(f"\nnight {row['night']}: " + ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in row["size"].items()))
    return "\n".join(lines) + "\n"


def svg(rows: list[dict], width: int = 880, height: int = 400, pad: int = 48, legend: int = 170) -> str:
    """Seconds per stage by night, one polyline per stage, as a standalone SVG (the legend right of the plot)."""
    stages = list(rows[0]["steps_s"])
    top = max(max(r["steps_s"].values()) for r in rows) or 1.0
    last = max(r["night"] for r in rows)
    right = width - legend

    def point(night: int, seconds: float) -> str:
        x = pad + (right - pad) * (night - 1) / max(last - 1, 1)
        return f"{x:.1f},{height - pad - (height - 2 * pad) * seconds / top:.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<line x1="{pad}" y1="{height - pad}" x2="{right}" y2="{height - pad}" stroke="black"/>',
             f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="black"/>',
             f'<text x="{(pad + right) / 2}" y="{height - 12}" text-anchor="middle">night (1 … {last})</text>',
             f'<text x="{pad - 4}" y="{pad}" text-anchor="end">{top:.1f} s</text>',
             f'<text x="{pad - 4}" y="{height - pad}" text-anchor="end">0</text>']
    for i, stage in enumerate(stages):
        colour = COLOURS[i % len(COLOURS)]
        points = " ".join(point(r["night"], r["steps_s"].get(stage, 0.0)) for r in rows)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/>')
        parts.append(f'<text x="{right + 12}" y="{pad + 14 * i}" fill="{colour}">{stage}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def png(svg_file: Path, width: int = 880, height: int = 400) -> Path | None:
    """``svg_file`` rendered to PNG beside it by headless Chromium; ``None`` (said) when no Chromium is installed."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        print(f"no Chromium here (`make browser` installs it): {svg_file.with_suffix('.png').name} not written", flush=True)
        return None
    out = svg_file.with_suffix(".png")
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--screenshot={out}",
                    f"--window-size={width},{height}", svg_file.resolve().as_uri()],
                   check=True, timeout=120, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return out


def write_outputs(out: Path, rows: list[dict]) -> None:
    """``history.json``, ``history.md``, ``history.svg`` and ``history.png`` of the nights' ``rows`` in ``out``."""
    (out / "history.json").write_text(json.dumps(rows, indent=1) + "\n", "utf-8")
    (out / "history.md").write_text(table(rows), "utf-8")
    (out / "history.svg").write_text(svg(rows), "utf-8")
    png(out / "history.svg")
    print(table(rows))


def compare_findings(home: Path, nights: int, scratch: Path) -> dict[str, object]:
    """Seconds of the last night's findings stage: incremental, full, and over window views (and
    of each way, the as-of state's share and the slowest steps), each on a copy of the home's
    warehouse in ``scratch`` (the home is only read)."""
    import shutil as sh
    from unittest import mock

    from reconciliation import session
    from reconciliation.findings import run_catalogue
    from warehouse.asof import create_asof_views
    from warehouse.asof_state import Build, Refresh, refresh_asof_state
    from warehouse.connection import Warehouse

    last, before = START + dt.timedelta(days=nights - 1), START + dt.timedelta(days=nights - 2)
    seconds: dict[str, object] = {}
    for way in ("incremental", "full", "window_views"):
        copy = scratch / f"compare-{way}.duckdb"
        sh.copyfile(home / "warehouse.duckdb", copy)
        with Warehouse(copy) as wh:
            refresh_asof_state(wh.con, before, full=True, kept=session.KEPT)  # the state the night before left
            started = time.perf_counter()
            if way == "window_views":
                with (mock.patch.object(session, "refresh_asof_state", lambda *a, **k: Refresh(Build.FULL, "window views")),
                      mock.patch.object(session, "create_state_views", lambda con: create_asof_views(con, last))):
                    run = run_catalogue(wh.con, last)
            else:
                run = run_catalogue(wh.con, last, full=way == "full")
            seconds[way] = round(time.perf_counter() - started, 2)
            seconds[f"{way}_scope"] = str(run.scope)
            slowest = sorted(run.seconds_by_check.items(), key=lambda kv: -kv[1])[:4]
            seconds[f"{way}_steps"] = {k: round(v, 2) for k, v in slowest}
        copy.unlink()
    return seconds


def run_one_night(home: Path, inbox: Path, night: dt.date, *, full: bool) -> dict:
    """Run night ``night`` into ``home`` in this process (a fresh one per night, as a night runs in
    production: nothing read by an earlier night is still in memory); its seconds, stages and size."""
    from integration.runner import failure_messages, run_night

    times = StepTimes()
    progress = logging.getLogger("scf.progress")
    progress.addHandler(times)
    progress.setLevel(logging.INFO)
    started = time.perf_counter()
    result = run_night(night, home=home, inbox=inbox, full=full)
    if not result.success:
        raise SystemExit("\n".join(failure_messages(result)))
    return {"date": night.isoformat(), "total_s": round(time.perf_counter() - started, 2),
            "steps_s": {k: round(v, 2) for k, v in times.seconds.items()}, "size": night_size(result),
            "warehouse_mib": round((home / "warehouse.duckdb").stat().st_size / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=30)
    parser.add_argument("--trades", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--full", action="store_true", help="run every night in full mode (the oracle)")
    parser.add_argument("--out", type=Path, default=Path("bench/out/history"))
    parser.add_argument("--keep", action="store_true", help="reuse an existing simulation in --out")
    parser.add_argument("--compare-findings", action="store_true", help="only time the last night's findings three ways")
    parser.add_argument("--scratch", type=Path, help="where --compare-findings puts its copies of the warehouse (default: --out)")
    parser.add_argument("--child-night", type=dt.date.fromisoformat, help=argparse.SUPPRESS)  # one night, this process
    parser.add_argument("--plot", action="store_true", help="only write the table and plots again from --out/history.json")
    args = parser.parse_args()
    if args.plot:
        write_outputs(args.out, json.loads((args.out / "history.json").read_text("utf-8")))
        return
    if args.child_night:
        print(json.dumps(run_one_night(args.out / "home", args.out / "simulated" / "inbox", args.child_night, full=args.full)))
        return
    if args.compare_findings:
        scratch = args.scratch or args.out
        scratch.mkdir(parents=True, exist_ok=True)
        print(json.dumps(compare_findings(args.out / "home", args.nights, scratch)))
        return

    sim, home = args.out / "simulated", args.out / "home"
    if not (args.keep and sim.exists()):
        shutil.rmtree(args.out, ignore_errors=True)
        started = time.perf_counter()
        simulate(sim, args.nights, args.trades, args.seed)
        print(f"simulated {args.nights} nights of {args.trades} trades in {time.perf_counter() - started:.0f} s", flush=True)
    shutil.rmtree(home, ignore_errors=True)
    from integration.home import init_home

    init_home(home)
    rows = []
    for n in range(1, args.nights + 1):
        night = START + dt.timedelta(days=n - 1)
        child = [sys.executable, __file__, "--child-night", night.isoformat(), "--out", str(args.out)] + (["--full"] * args.full)
        done = subprocess.run(child, check=False, stdout=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise SystemExit(f"night {night} failed (exit {done.returncode}): {done.stdout.strip()}")
        row = {"night": n, **json.loads(done.stdout.splitlines()[-1])}
        rows.append(row)
        print(json.dumps(row), flush=True)
    write_outputs(args.out, rows)


if __name__ == "__main__":
    main()
