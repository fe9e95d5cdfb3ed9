"""``scf pool cut|verify|survey|list|replenish|release|sell``: ABS pools for the securitization team."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from foundation.errors import ConfigError
from foundation.values import format_fen
from foundation.vocabulary import FinancingStatus, sql_literal
from integration.home import ledger_keys, pinned_log_verifier
from integration.settings import Settings, load_settings
from ledger.checkpoint import NoteVerifier
from ledger.keys import load_verifier
from pools import membership, registry
from pools.cut import CutResult, cut_pool
from pools.replenish import replenish_pool
from pools.selection import Infeasible
from pools.surveillance import survey
from pools.verify import verify_pool
from reconciliation.findings import Verdict
from warehouse.asof import verdicts_as_of_sql
from warehouse.connection import Warehouse

pool_app = typer.Typer(help="ABS pools: cut, verify, survey, list, replenish, release, sell.", no_args_is_help=True)
console = Console()

HOME = typer.Option(None, "--home", help="Engine home. Default: $SCF_HOME or ./home.")
DEMO_CRITERIA = Path(__file__).resolve().parents[1] / "docs" / "examples" / "pool_criteria.toml"


def pools_dir(settings: Settings) -> Path:
    """``<home>/pools``."""
    return settings.home / "pools"


def ledger_signing(settings: Settings) -> membership.LedgerSigning:
    """The home's ledger signer (checked against its pin), origin and checkpoint folder."""
    return membership.LedgerSigning(ledger_keys(settings).signer, settings.ledger.origin, settings.checkpoint_dir)


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
                          cutoff=_date(cutoff), criteria_path=criteria, signing=ledger_signing(settings), gap=gap)
    print_cut(result)
    if isinstance(result.outcome, Infeasible):
        raise typer.Exit(1)


@pool_app.command("replenish")
def replenish_command(
    pool_id: str = typer.Argument(..., help="The active (revolving) pool to top up."),
    date: str = typer.Option(..., "--date", help="Business date YYYY-MM-DD (a night already run)."),
    home: Path | None = HOME,
    gap: float = typer.Option(1e-6, "--gap", help="Relative optimality gap at which HiGHS may stop."),
) -> None:
    """Top an active pool up from the night's eligible set under its own criteria and limits: its
    remaining assets stay, the added ones are reserved in the ledger (pools/<id>/replenishments/<date>/)."""
    settings = load_settings(home)
    with _warehouse(settings, read_only=False) as warehouse:
        result = replenish_pool(warehouse.con, pools_dir=pools_dir(settings), pool_id=pool_id, day=_date(date),
                                signing=ledger_signing(settings), gap=gap)
    if result.folder is None and not isinstance(result.outcome, Infeasible):
        console.print(f"pool {pool_id} meets its limits as it is: nothing to add")
        return
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
    """Release an active pool: its assets may be pooled again unless sold (files and register row
    are kept; the ledger records a POOL_RELEASE of each asset)."""
    settings = load_settings(home)
    with _warehouse(settings, read_only=False) as warehouse:
        registry.ensure_tables(warehouse.con)
        published = membership.release(warehouse.con, pool_id, _date(on) if on else dt.date.today(),
                                       ledger_signing(settings))
    console.print(f"pool {pool_id} released (ledger checkpoint {published.checkpoint.size})")


@pool_app.command("sell")
def sell_command(
    pool_id: str = typer.Argument(..., help="The pool sold to the issuing vehicle."),
    on: str = typer.Option(..., "--on", help="Sale date YYYY-MM-DD."),
    home: Path | None = HOME,
) -> None:
    """Record the sale of an active pool's assets: the ledger records a POOL_SELL of each; a sold
    asset is never pooled or financed again (a new financing of it is refused: LEDGER_ASSET_SOLD)."""
    settings = load_settings(home)
    with _warehouse(settings, read_only=False) as warehouse:
        registry.ensure_tables(warehouse.con)
        published = membership.sell(warehouse.con, pool_id, _date(on), ledger_signing(settings))
    console.print(f"pool {pool_id} sold (ledger checkpoint {published.checkpoint.size})")


def demo_cut(home: Path, cutoff: dt.date) -> None:
    """The demo's last step: cut a pool for the bank with the most clean financings on ``cutoff``
    (configured as ``[bank] code`` in the demo home's scf.toml) and print its summary."""
    settings = load_settings(home)
    with _warehouse(settings, read_only=True) as warehouse:
        row = warehouse.con.execute(
            f"""SELECT bank_code FROM ({verdicts_as_of_sql('$1')}) WHERE verdict = {sql_literal(Verdict.CLEAN)}
               AND status = {sql_literal(FinancingStatus.ACTIVE)} GROUP BY ALL ORDER BY count(*) DESC, bank_code LIMIT 1""", [cutoff]
        ).fetchone()
    if row is None:
        raise ConfigError(f"no clean financing on {cutoff}: nothing to pool")
    config = settings.home / "scf.toml"
    if settings.bank_code is None:
        with config.open("a", encoding="utf-8") as fh:
            fh.write(f'\n[bank]\ncode = "{row[0]}"\n')
    console.rule(f"ABS pool of bank {row[0]} as of {cutoff}")
    cut_command(cutoff=cutoff.isoformat(), criteria=DEMO_CRITERIA, home=home, gap=1e-6)
