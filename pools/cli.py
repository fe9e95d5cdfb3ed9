"""``scf pool cut|verify|survey|list|release``: ABS pools for the securitization team."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from connectors.errors import ConfigError
from connectors.values import format_fen
from connectors.warehouse import Warehouse
from integration.home import ledger_keys, pinned_log_verifier
from integration.settings import Settings, load_settings
from ledger.checkpoint import NoteVerifier
from ledger.keys import load_verifier
from pools import registry
from pools.cut import CutResult, cut_pool
from pools.selection import Infeasible
from pools.surveillance import survey
from pools.verify import verify_pool

pool_app = typer.Typer(help="ABS pools: cut, verify, list, release.", no_args_is_help=True)
console = Console()

HOME = typer.Option(None, "--home", help="Engine home. Default: $SCF_HOME or ./home.")
DEMO_CRITERIA = Path(__file__).resolve().parents[1] / "docs" / "examples" / "pool_criteria.toml"


def pools_dir(settings: Settings) -> Path:
    """``<home>/pools``."""
    return settings.home / "pools"


def _warehouse(settings: Settings, *, read_only: bool) -> Warehouse:
    if not settings.warehouse_path.exists():
        raise ConfigError(f"no warehouse at {settings.warehouse_path}: run the nights first")
    if read_only:
        return Warehouse(settings.warehouse_path, read_only=True)
    return settings.open_warehouse()


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not a date YYYY-MM-DD: {text}") from None


@pool_app.command("cut")
def cut_command(
    cutoff: str = typer.Option(..., "--cutoff", help="Cut-off date YYYY-MM-DD (a night already run)."),
    criteria: Path = typer.Option(..., "--criteria", help="The programme's criteria file (TOML)."),
    home: Path | None = HOME,
    gap: float = typer.Option(1e-6, "--gap", help="Relative optimality gap at which HiGHS may stop."),
) -> None:
    """Cut a pool: eligibility of every candidate, optimal selection, signed files."""
    settings = load_settings(home)
    if settings.bank_code is None:
        raise ConfigError(f"{settings.home / 'scf.toml'}: set [bank] code (the bank's 12-digit CNAPS code) to cut pools")
    with _warehouse(settings, read_only=False) as warehouse:
        result = cut_pool(warehouse.con, pools_dir=pools_dir(settings), bank_code=settings.bank_code,
                          cutoff=_date(cutoff), criteria_path=criteria, signer=ledger_keys(settings).signer, gap=gap)
    print_cut(result)
    if isinstance(result.outcome, Infeasible):
        raise typer.Exit(1)


def print_cut(result: CutResult) -> None:
    """The waterfall and the pool's summary (or why there is no pool)."""
    table = Table(title=f"eligibility waterfall — criteria {result.criteria.name} v{result.criteria.version}")
    for column in ("rule", "removed", "removed ¥", "failing", "remaining", "remaining ¥"):
        table.add_column(column, justify="left" if column == "rule" else "right")
    for s in result.steps:
        table.add_row(s.code, str(s.removed_count), format_fen(s.removed_fen), str(s.failing_count),
                      str(s.remaining_count), format_fen(s.remaining_fen))
    console.print(table)
    outcome = result.outcome
    if isinstance(outcome, Infeasible):
        console.print(f"[red]no pool[/red]: {outcome.explain()}")
        return
    console.print(f"pool {result.pool_id}: {len(outcome.keys)} assets, ¥{format_fen(outcome.total_fen)}, "
                  f"{outcome.objective} {float(outcome.objective_value):.6f}, HiGHS {outcome.status}, "
                  f"gap {outcome.mip_gap:.2e}")
    for m in outcome.measures:
        console.print(f"  {m.describe()}")
    console.print(f"files under {result.folder}")


@pool_app.command("verify")
def verify_command(
    pool_id: str = typer.Argument(..., help="The pool to verify, e.g. POOL-20261120-01."),
    home: Path | None = HOME,
    log_key: str | None = typer.Option(None, "--log-key", help="Pinned ledger verifier key (text or PEM); "
                                          "default: the key pinned by `scf init`."),
) -> None:
    """Re-check a pool: file hashes, signature, each asset's inclusion proof, nothing pooled twice."""
    settings = load_settings(home)
    folder = pools_dir(settings) / pool_id
    if not folder.is_dir():
        raise ConfigError(f"no pool folder {folder}: `scf pool list` shows the pools")
    verifier: NoteVerifier = (load_verifier(log_key, settings.ledger.signer_name) if log_key
                              else pinned_log_verifier(settings))
    with _warehouse(settings, read_only=True) as warehouse:
        problems = verify_pool(folder, warehouse.con, log=verifier, origin=settings.ledger.origin)
    for problem in problems:
        console.print(f"[red]FAIL[/red] {problem}", markup=True, highlight=False)
    if problems:
        raise typer.Exit(1)
    console.print(f"pool {pool_id} verified: files, signature, inclusion proofs, no asset pooled twice")


@pool_app.command("survey")
def survey_command(
    date: str = typer.Option(..., "--date", help="Business date YYYY-MM-DD (a night already run)."),
    home: Path | None = HOME,
) -> None:
    """Surveillance of every active pool on a night: assets no longer clean, closed, matured
    unpaid, or limits broken (writes pools/<pool_id>/surveillance/<date>.csv)."""
    settings = load_settings(home)
    with _warehouse(settings, read_only=False) as warehouse:
        found = survey(warehouse.con, pools_dir(settings), _date(date))
    for pool_id, alerts in found.items():
        console.print(f"pool {pool_id}: {len(alerts)} alert(s)")
        for a in alerts:
            console.print(f"  {a.issue} {a.financing_id} {a.detail}", markup=False, highlight=False)


@pool_app.command("list")
def list_command(home: Path | None = HOME) -> None:
    """Every pool cut in this home."""
    settings = load_settings(home)
    with _warehouse(settings, read_only=False) as warehouse:
        registry.ensure_tables(warehouse.con)
        pools = registry.list_pools(warehouse.con)
    table = Table(title="pools")
    for column in ("pool", "cut-off", "status", "assets", "total ¥", "criteria sha256"):
        table.add_column(column)
    for p in pools:
        table.add_row(p.pool_id, p.cutoff_date.isoformat(), p.status.lower(), str(p.asset_count),
                      format_fen(p.total_fen), p.criteria_sha256[:16])
    console.print(table)


@pool_app.command("release")
def release_command(
    pool_id: str = typer.Argument(..., help="The pool to release."),
    on: str = typer.Option(None, "--on", help="Release date YYYY-MM-DD (default: today)."),
    home: Path | None = HOME,
) -> None:
    """Release an active pool: its assets may be pooled again (files and register row are kept)."""
    settings = load_settings(home)
    with _warehouse(settings, read_only=False) as warehouse:
        registry.ensure_tables(warehouse.con)
        registry.release_pool(warehouse.con, pool_id, _date(on) if on else dt.date.today())
    console.print(f"pool {pool_id} released")


def demo_cut(home: Path, cutoff: dt.date) -> None:
    """The demo's last step: cut a pool for the bank with the most clean financings on ``cutoff``
    (configured as ``[bank] code`` in the demo home's scf.toml) and print its summary."""
    settings = load_settings(home)
    with _warehouse(settings, read_only=True) as warehouse:
        row = warehouse.con.execute(
            """SELECT bank_code FROM financing_verdicts WHERE business_date = ? AND verdict = 'clean'
               AND status = 'ACTIVE' GROUP BY ALL ORDER BY count(*) DESC, bank_code LIMIT 1""", [cutoff]
        ).fetchone()
    if row is None:
        raise ConfigError(f"no clean financing on {cutoff}: nothing to pool")
    config = settings.home / "scf.toml"
    if settings.bank_code is None:
        with config.open("a", encoding="utf-8") as fh:
            fh.write(f'\n[bank]\ncode = "{row[0]}"\n')
    console.rule(f"ABS pool of bank {row[0]} as of {cutoff}")
    cut_command(cutoff=cutoff.isoformat(), criteria=DEMO_CRITERIA, home=home, gap=1e-6)
