"""The ``scf`` command line: run a night, simulate deliveries, the demo, the catalogue, the ledger."""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import traceback
from pathlib import Path

import duckdb
import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from foundation.errors import ScfError
from integration import nights
from integration.finding_cli import finding_app
from integration.ledger_cli import ledger_app
from integration.pool_cli import demo_cut, pool_app
from integration.progress import RichRenderer, rendered_by
from integration.runner import nights_of_inbox, plan_night, raise_if_failed, run_night
from integration.scoring import read_labels, score
from integration.settings import load_settings
from integration.summary import NightSummary, night_summary
from reconciliation.catalogue import BY_ID, catalogue_markdown
from reconciliation.findings import Verdict
from warehouse.asof import verdicts_as_of_sql


class _Scf(typer.Typer):
    """The ``scf`` command: any failure ends with ``error: <cause and fix>`` on one line and exit
    code 1; the trace goes to ``<home>/logs/scf.log`` (see :func:`_write_trace`)."""

    def __call__(self, *args: object, **kwargs: object) -> object:
        argv = kwargs.get("args")
        argv = list(argv) if isinstance(argv, (list, tuple)) else sys.argv[1:]
        try:
            return super().__call__(*args, **kwargs)
        except Exception as error:  # every failure: one line for the operator, the trace to the log
            log_file = _write_trace(_home_of(argv), error)
            trace = f" (trace in {log_file})" if log_file else ""
            print(f"error: {_one_line(error)}{trace}", file=sys.stderr)
            raise SystemExit(1) from None


app = _Scf(help="scf-recon: nightly data integration and fraud reconciliation for supply-chain finance.",
                  no_args_is_help=True)
app.add_typer(ledger_app, name="ledger", help="The hashed voucher ledger: verify, prove, checkpoint, cosign, lineage.")
app.add_typer(finding_app, name="finding", help="The worklist: acknowledge, assign, waive, approve, confirm, load a workbook.")
app.add_typer(pool_app, name="pool", help="ABS pools for securitization: cut, verify, list, release.")
console = Console()

HomeOption = typer.Option(None, "--home", help="Engine home (warehouse, archive, reports). Default: $SCF_HOME or ./home.")
InboxOption = typer.Option(None, "--inbox", help="Local inbox folder holding <YYYY-MM-DD>/ deliveries.")


def _show_progress() -> None:
    handler = RichHandler(console=console, show_path=False, show_level=False)
    progress = logging.getLogger("scf.progress")
    progress.handlers[:] = [handler]
    progress.setLevel(logging.INFO)
    progress.propagate = False


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not a date YYYY-MM-DD: {text}") from None


def _summary_table(summaries: list[NightSummary]) -> Table:
    table = Table(title="scf-recon nightly summary")
    for column in ("night", "files", "records", "quarantined", "findings by category", "verdicts"):
        table.add_column(column)

    def fmt(counts: dict[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in counts.items()) or "—"

    for s in summaries:
        table.add_row(
            s.business_date.isoformat(),
            fmt(s.files_by_status),
            str(s.records),
            str(s.quarantined),
            fmt(s.findings_by_category),
            fmt(s.verdicts),
        )
    return table


def run_nights(dates: list[dt.date], home: Path | None, inbox: Path | None, *, full: bool = False) -> None:
    """Run the nightly job for each date in order and print the summary table.

    A failed night stops the list: :class:`~integration.runner.NightFailedError` names it."""
    _show_progress()
    settings = load_settings(home, inbox)
    summaries = []
    for day in dates:
        console.rule(f"business date {day}")
        with RichRenderer(console) as bars, rendered_by(bars):
            result = run_night(day, home=settings.home, inbox=inbox, full=full)  # no inbox: the configured source
        raise_if_failed(result, day)
        with settings.open_warehouse() as warehouse:
            summaries.append(night_summary(warehouse.con, day))
    console.print(_summary_table(summaries))
    console.print(f"Reports under {settings.home / 'reports'}")


@app.command()
def run(
    date: str = typer.Option(None, "--date", help="Business date YYYY-MM-DD to run."),
    all_nights: bool = typer.Option(False, "--all", help="Run every night the inbox holds (or the home ran), in order."),
    catch_up: bool = typer.Option(False, "--catch-up", help="With --date: first run the earlier nights that have not run."),
    full: bool = typer.Option(False, "--full", help="Recompute each night from every night, not on top of the last (the oracle)."),
    inbox: Path = InboxOption,
    home: Path = HomeOption,
) -> None:
    """Run the nightly job (the same Dagster job the schedule runs) for one or all nights, in order.

    --date D refuses when an earlier night has not run (unless --catch-up), and replays the
    later nights already run, so their reports are what they would have been."""
    if (date is None) == (not all_nights):
        raise typer.BadParameter("give either --date YYYY-MM-DD or --all")
    settings = load_settings(home, inbox)
    if all_nights:
        dates, skipped = nights_of_inbox(settings)
        for folder, reason in skipped:
            console.print(f"[yellow]skipping[/yellow] night folder {folder}: {reason}")
    else:
        day = _parse_date(date)
        outside = nights.out_of_range(day, settings.first_night, nights.last_finished_night())
        if outside:
            raise nights.NightOrderError(f"business date {day}: {outside}; give a date in that range")
        plan = plan_night(settings, day, catch_up=catch_up)
        if plan.missing:
            console.print(f"Catching up first: {', '.join(map(str, plan.missing))}")
        if plan.replay:
            console.print(f"Replaying the later nights already run, in order, so their reports are what they "
                          f"would have been: {', '.join(map(str, plan.replay))}")
        dates = list(plan.nights)
    run_nights(dates, home, inbox, full=full)


@app.command()
def status(inbox: Path = InboxOption, home: Path = HomeOption) -> None:
    """The nights of the home: done, failed, stale (an earlier night ran after it) or pending, with verdicts."""
    settings = load_settings(home, inbox)
    with settings.open_warehouse() as warehouse:
        runs = nights.latest_runs(warehouse.con)
        verdicts = {
            (day, verdict): n for (day,) in warehouse.con.execute(
                "SELECT business_date FROM verdict_nights").fetchall() for verdict, n in warehouse.con.execute(
                f"SELECT verdict, count(*) FROM ({verdicts_as_of_sql('$1')}) GROUP BY ALL", [day]).fetchall()
        } if _has_table(warehouse.con, "verdict_nights") else {}
    skipped: list[tuple[dt.date | None, str]]
    try:
        delivered, found = nights_of_inbox(settings)
        skipped = list(found)
    except FileNotFoundError as error:  # the inbox is gone: the history still shows
        delivered, skipped = [], [(None, str(error))]
    stale = nights.stale_nights(runs)
    console.print(f"Nights of {settings.home} (times UTC):")
    for day in sorted({*runs, *delivered}):
        run = runs.get(day)
        counts = ", ".join(f"{v} {verdicts[(day, v)]}" for v in Verdict if (day, v) in verdicts)
        if run is None:
            console.print(f"{day}  pending", markup=False)
            continue
        state = "stale (an earlier night ran after it: replay it)" if day in stale else run.status
        ended = f" -> {run.ended_at:%H:%M:%S}" if run.ended_at else ""
        console.print(f"{day}  {state}  {run.started_at:%Y-%m-%d %H:%M:%S}{ended}  config {run.config_hash}  "
                      f"run {run.run_id[:8]}  {counts}".rstrip(), markup=False)
        if run.status == nights.FAILED:
            console.print(f"    {run.error}", markup=False)
    for folder, reason in skipped:
        console.print(f"not a night: {folder}: {reason}" if folder else reason, markup=False)


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchone()
    return bool(found and found[0])


@app.command()
def init(home: Path = HomeOption) -> None:
    """Create a new engine home, or what it lacks: folders, an scf.toml template, the ledger's
    signing and fingerprint keys, and their pins. Never replaces a key."""
    from integration.home import init_home

    try:
        created = init_home(home)
    except ScfError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    for path in created:
        typer.echo(f"created {path}")
    typer.echo(f"engine home {load_settings(home).home} is ready" + ("" if created else " (nothing to create)"))


@app.command()
def verify(home: Path = HomeOption) -> None:
    """Verify the engine home as one whole: keys against their pins, every archived object,
    the manifest's hash chain, the ledger (entries, tree, checkpoints, recorded manifest
    heads, index columns). Exit 1 naming the first problem."""
    from integration.audit import audit_home

    try:
        report = audit_home(load_settings(home))
    except ScfError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    for line in report.lines:
        typer.echo(line)


@app.command()
def simulate(
    out: Path = typer.Option(..., "--out", help="Folder to write inbox/<date>/… and labels.csv into."),
    seed: int = typer.Option(7, help="Seed: the same seed writes the same bytes."),
    nights: int = typer.Option(3, help="Number of consecutive nights."),
    start: str = typer.Option("2026-11-18", help="First business date."),
    trades: int = typer.Option(200, "--trades", help="Trades per night."),
    banks: int | None = typer.Option(None, "--banks", help="Partner banks on the platform (at least 3; default the catalogue's 7)."),
    anomalies: bool = typer.Option(True, help="Plant labelled anomalies and look-alikes."),
    malformed_rows: bool = typer.Option(False, "--malformed-rows", help="Also plant malformed financings.csv rows "
                                        "(full-width characters, 19-digit invoice numbers) with their labels."),
    fault: list[str] = typer.Option([], "--fault", help="Plant an operational fault (repeatable): late_source:N, "
                                    "late_carrier:N, late_tax:N, restated_file:N, bad_config:N, out_of_order:0,2,1,2, "
                                    "rerun:N, backfill:N "
                                    "(N: night index); writes deliveries/ and schedule.json."),
    wccyr_carrier: list[str] = typer.Option([], "--wccyr-carrier", help="A carrier (USCC, or * for all) that "
                                            "sends its waybills in the real 2015WCCYR layout (repeatable)."),
    dq_fault: list[str] = typer.Option([], "--dq-fault", help="Plant a data-quality fault (repeatable): "
                                       "missing_source:N, late_file:N, renamed_column:N, volume_collapse:N, "
                                       "invalid_identifier:N, duplicated_key:N; writes dq_faults.json."),
) -> None:
    """Write a synthetic bank's deliveries, with planted anomalies and their labels."""
    from simulator import Tuning
    from simulator import simulate as generate
    from simulator.dq_faults import parse_dq_fault, plant_dq_faults
    from simulator.operations import parse_fault, plan_operations

    try:
        faults = [parse_fault(text) for text in fault]
        dq_faults = [parse_dq_fault(text) for text in dq_fault]
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    try:
        summary = generate(out, seed=seed, nights=nights, start=_parse_date(start), trades_per_night=trades,
                           anomalies=anomalies, tuning=Tuning(plant_malformed_rows=malformed_rows,
                                                        wccyr_carriers=frozenset(wccyr_carrier), banks=banks))
    except ValueError as err:  # the simulator's own bounds (nights, trades, banks)
        raise typer.BadParameter(str(err)) from None
    console.print(summary)
    if dq_faults:
        try:
            planted = plant_dq_faults(out, *dq_faults)
        except ValueError as err:
            raise typer.BadParameter(str(err)) from None
        console.print(f"{len(planted)} data-quality fault(s) planted: {out / 'dq_faults.json'}")
    if faults:
        try:
            schedule = plan_operations(out, *faults, seed=seed)
        except ValueError as err:
            raise typer.BadParameter(str(err)) from None
        console.print(f"{len(schedule.faults)} fault(s) planted, {len(schedule.steps)} steps: {out / 'schedule.json'}")


@app.command()
def demo(
    home: Path = typer.Option(Path("demo"), "--home", help="Folder for the demo's inbox and engine home."),
    seed: int = typer.Option(7),
    nights: int = typer.Option(3),
    trades: int = typer.Option(200, "--trades"),
) -> None:
    """Simulate a few nights and run them end to end on the embedded default."""
    from integration.home import init_home
    from simulator import simulate as generate

    home = home.resolve()
    sim = home / "simulated"
    start = dt.date(2026, 11, 18)
    generate(sim, seed=seed, nights=nights, start=start, trades_per_night=trades, anomalies=True)
    init_home(home / "engine")
    dates = [start + dt.timedelta(days=i) for i in range(nights)]
    run_nights(dates, home / "engine", sim / "inbox")
    with load_settings(home / "engine").open_warehouse() as warehouse:
        result = score(warehouse.con, read_labels(sim / "labels.csv"), set(BY_ID))
    console.print(
        f"Against the planted truth ({sim / 'labels.csv'}): {result.found} of {result.planted} planted "
        f"anomalies found on their night; {len(result.lookalikes_blocked)} of {result.lookalikes} legitimate "
        f"look-alikes blocked; {len(result.unlabelled_blocked)} clean financings blocked."
    )
    demo_cut(home / "engine", dates[-1])


@app.command()
def quality(
    date: str = typer.Option(None, "--date", help="Business date YYYY-MM-DD (default: the latest night validated)."),
    home: Path = HomeOption,
) -> None:
    """Print a night's data-quality scorecard (sources, expectations per dimension) and where its reports are."""
    from quality.scorecard import print_scorecard

    settings = load_settings(home)
    with settings.open_warehouse() as warehouse:
        day = _parse_date(date) if date else None
        print_scorecard(console, warehouse.con, day, settings.home / "reports")


@app.command()
def checks(write: bool = typer.Option(False, "--write", help="Write docs/CHECKS.md instead of printing.")) -> None:
    """Print the check catalogue (or regenerate docs/CHECKS.md)."""
    text = catalogue_markdown()
    if write:
        Path("docs/CHECKS.md").write_text(text, "utf-8")
    else:
        console.print(text, markup=False)


LOG_FILE = Path("logs") / "scf.log"
"""Where, under the engine home, a failed command writes its trace."""


def _home_of(args: list[str]) -> Path:
    """The engine home a command line names (``--home``), else ``$SCF_HOME`` or ``./home``."""
    for i, arg in enumerate(args):
        if arg == "--home" and i + 1 < len(args):
            return Path(args[i + 1])
        if arg.startswith("--home="):
            return Path(arg.partition("=")[2])
    return Path(os.environ.get("SCF_HOME") or "home")


def _one_line(error: BaseException) -> str:
    """What the operator reads: the cause and the fix, on one line."""
    if isinstance(error, ScfError):
        text = str(error)
    elif isinstance(error, PermissionError):
        text = f"permission denied on {error.filename}: give this user access to it, or use another --home"
    elif isinstance(error, FileNotFoundError):
        text = f"no such file or folder: {error.filename}: check the path (--home, --inbox, scf.toml)"
    elif isinstance(error, OSError):
        text = f"{error.strerror or error} ({error.filename or 'no file named'}): check the disk and the paths"
    else:
        first = str(error).strip().splitlines()
        text = f"{type(error).__name__}: {first[0] if first else 'no message'}: unexpected; report it with the log"
    return " ".join(text.split())


def _write_trace(home: Path, error: BaseException) -> Path | None:
    """Append the error's trace (and a failed night's step traces) to ``<home>/logs/scf.log``."""
    log_file = home / LOG_FILE
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("a", encoding="utf-8") as out:
            out.write(f"--- {dt.datetime.now(dt.UTC).isoformat()} scf {' '.join(sys.argv[1:])}\n")
            out.write("".join(traceback.format_exception(error)))
            for trace in getattr(error, "traces", ()):
                out.write(trace + "\n")
    except OSError:
        return None
    return log_file


if __name__ == "__main__":
    app()
