"""The ``scf`` command line: run a night, simulate deliveries, the demo, the catalogue, the ledger."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from integration.runner import failure_messages, run_night
from integration.settings import load_settings
from integration.summary import NightSummary, night_summary
from ledger.cli import ledger_app
from integration.scoring import read_labels, score
from reconciliation.catalogue import BY_ID, catalogue_markdown

app = typer.Typer(help="scf-recon: nightly data integration and fraud reconciliation for supply-chain finance.",
                  no_args_is_help=True)
app.add_typer(ledger_app, name="ledger", help="The hashed voucher ledger: verify, prove, checkpoint, cosign, lineage.")
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


def run_nights(dates: list[dt.date], home: Path | None, inbox: Path | None) -> None:
    """Run the nightly job for each date in order and print the summary table."""
    _show_progress()
    settings = load_settings(home, inbox)
    summaries = []
    for day in dates:
        console.rule(f"business date {day}")
        result = run_night(day, home=settings.home, inbox=settings.inbox)
        if not result.success:
            for message in failure_messages(result):
                console.print(f"[red]failed[/red] {message}")
            raise typer.Exit(1)
        with settings.open_warehouse() as warehouse:
            summaries.append(night_summary(warehouse.con, day))
    console.print(_summary_table(summaries))
    console.print(f"Reports under {settings.home / 'reports'}")


@app.command()
def run(
    date: str = typer.Option(None, "--date", help="Business date YYYY-MM-DD to run."),
    all_nights: bool = typer.Option(False, "--all", help="Run every night the inbox holds, in order."),
    inbox: Path = InboxOption,
    home: Path = HomeOption,
) -> None:
    """Run the nightly job (the same Dagster job the schedule runs) for one or all nights."""
    if (date is None) == (not all_nights):
        raise typer.BadParameter("give either --date YYYY-MM-DD or --all")
    if all_nights:
        source = load_settings(home, inbox).source()
        try:
            dates = source.nights()
        finally:
            source.close()
    else:
        dates = [_parse_date(date)]
    run_nights(dates, home, inbox)


@app.command()
def simulate(
    out: Path = typer.Option(..., "--out", help="Folder to write inbox/<date>/… and labels.csv into."),
    seed: int = typer.Option(7, help="Seed: the same seed writes the same bytes."),
    nights: int = typer.Option(3, help="Number of consecutive nights."),
    start: str = typer.Option("2026-11-18", help="First business date."),
    trades: int = typer.Option(200, "--trades", help="Trades per night."),
    anomalies: bool = typer.Option(True, help="Plant labelled anomalies and look-alikes."),
) -> None:
    """Write a synthetic bank's deliveries, with planted anomalies and their labels."""
    from simulator import simulate as generate

    summary = generate(out, seed=seed, nights=nights, start=_parse_date(start),
                       trades_per_night=trades, anomalies=anomalies)
    console.print(summary)


@app.command()
def demo(
    home: Path = typer.Option(Path("demo"), "--home", help="Folder for the demo's inbox and engine home."),
    seed: int = typer.Option(7),
    nights: int = typer.Option(3),
    trades: int = typer.Option(200, "--trades"),
) -> None:
    """Simulate a few nights and run them end to end on the embedded default."""
    from simulator import simulate as generate

    home = home.resolve()
    sim = home / "simulated"
    start = dt.date(2026, 11, 18)
    generate(sim, seed=seed, nights=nights, start=start, trades_per_night=trades, anomalies=True)
    dates = [start + dt.timedelta(days=i) for i in range(nights)]
    run_nights(dates, home / "engine", sim / "inbox")
    with load_settings(home / "engine").open_warehouse() as warehouse:
        result = score(warehouse.con, read_labels(sim / "labels.csv"), set(BY_ID))
    console.print(
        f"Against the planted truth ({sim / 'labels.csv'}): {result.found} of {result.planted} planted "
        f"anomalies found on their night; {len(result.lookalikes_blocked)} of {result.lookalikes} legitimate "
        f"look-alikes blocked; {len(result.unlabelled_blocked)} clean financings blocked."
    )


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


if __name__ == "__main__":
    app()
