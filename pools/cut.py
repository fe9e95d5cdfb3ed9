"""Cutting a pool: candidates → eligibility → optimal selection → signed files + register.

A cut is made against the latest signed ledger checkpoint of a night up to the cut-off:
every asset's FINANCING entry must lie inside that tree.  The pool's assets are then
reserved in the ledger (``POOL_RESERVE`` entries, under a checkpoint signed at once:
:mod:`pools.membership`), and each tape row names both leaves.  Files are written to a temporary
folder and renamed into ``<home>/pools/<pool_id>/`` inside the transaction that registers
the pool, so a failed cut leaves neither a folder nor a register row.
"""

from __future__ import annotations

import base64
import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import duckdb

from foundation.errors import ConfigError
from foundation.values import format_fen
from foundation.vocabulary import PoolStatus
from ledger.entries import PoolReserve
from ledger.schema import ensure_schema as ensure_ledger_schema
from pools import manifest, membership, registry, strata
from pools.candidates import Candidate, load_candidates
from pools.criteria import Criteria, load_criteria
from pools.eligibility import Verdict, WaterfallStep, assess, waterfall
from pools.selection import Asset, Infeasible, Selection, select
from pools.tape import write_eligibility, write_tape
from warehouse.transactions import transaction

MANIFEST = "manifest.json"
POOL_FILES = ("tape.csv", "tape.parquet", "data_dictionary.csv", "eligibility.csv", "criteria.toml",
              "stratification.xlsx", "pool_report.html")


@dataclass(frozen=True)
class LedgerCut:
    """The signed checkpoint a pool is cut against."""

    tree_size: int
    root: bytes
    note: str
    business_date: dt.date | None


@dataclass(frozen=True)
class CutResult:
    """What a cut produced: the pool (or why there is none), the eligibility and waterfall."""

    pool_id: str | None
    folder: Path | None
    criteria: Criteria
    verdicts: list[Verdict]
    steps: list[WaterfallStep]
    outcome: Selection | Infeasible


def latest_checkpoint(con: duckdb.DuckDBPyConnection, cutoff: dt.date) -> LedgerCut:
    """The largest signed checkpoint of a night up to ``cutoff``; none stops the cut."""
    ensure_ledger_schema(con)
    row = con.execute(
        """SELECT tree_size, root_hash, note, business_date FROM ledger_checkpoints
           WHERE business_date <= ? ORDER BY tree_size DESC LIMIT 1""",
        [cutoff],
    ).fetchone()
    if row is None:
        raise ConfigError(f"no signed ledger checkpoint up to {cutoff}: run the nights up to the cut-off first")
    return LedgerCut(int(row[0]), bytes(row[1]), row[2], row[3])


def to_asset(c: Candidate) -> Asset:
    """The selection's view of an eligible candidate."""
    assert c.rate is not None and c.remaining_term_days is not None
    return Asset(c.asset_key, c.outstanding_fen, Fraction(c.rate), c.obligor_uscc or "",
                 c.industry_division or "", c.province or "", c.remaining_term_days)


def cut_pool(
    con: duckdb.DuckDBPyConnection,
    *,
    pools_dir: Path,
    bank_code: str,
    cutoff: dt.date,
    criteria_path: Path,
    signing: membership.LedgerSigning,
    gap: float = 1e-6,
) -> CutResult:
    """Cut a pool as of ``cutoff`` under the criteria file; register and sign it if one exists."""
    criteria = load_criteria(criteria_path)
    ledger_cut = latest_checkpoint(con, cutoff)
    candidates = load_candidates(con, bank_code=bank_code, cutoff=cutoff, tree_size=ledger_cut.tree_size)
    verdicts = assess(candidates, criteria.eligibility)
    steps = waterfall(verdicts)
    eligible = [v.candidate for v in verdicts if v.eligible]
    outcome = select([to_asset(c) for c in eligible], criteria.limits, criteria.objective, gap=gap)
    if isinstance(outcome, Infeasible):
        return CutResult(None, None, criteria, verdicts, steps, outcome)
    chosen = set(outcome.keys)
    pool = [c for c in eligible if c.asset_key in chosen]
    with transaction(con):
        pool_id = registry.next_pool_id(con, cutoff)
        folder = pools_dir / pool_id
        with staged(folder) as staging:
            digest = write_signed_files(
                con, staging, PoolFiles(pool_id, bank_code, cutoff, criteria, criteria_path, verdicts, steps, outcome,
                                        pool, ledger_cut), signing)
            registry.record_pool(
                con,
                registry.PoolRecord(pool_id, cutoff, PoolStatus.ACTIVE, bank_code, criteria.sha256, outcome.total_fen,
                                    len(pool), digest, None),
                [(c.financing_id, c.asset_key, c.outstanding_fen) for c in pool],
            )
    return CutResult(pool_id, folder, criteria, verdicts, steps, outcome)


@dataclass(frozen=True)
class PoolFiles:
    """What a pool's (or a replenishment's) signed files hold: ``pool`` are the assets added."""

    pool_id: str
    bank_code: str
    day: dt.date  # the cut-off, or the replenishment's night
    criteria: Criteria
    criteria_path: Path
    verdicts: list[Verdict]
    steps: list[WaterfallStep]
    outcome: Selection
    pool: list[Candidate]
    ledger_cut: LedgerCut
    extra: dict[str, Any] = field(default_factory=dict)  # more manifest members


@contextmanager
def staged(folder: Path) -> Iterator[Path]:
    """A temporary folder beside ``folder``, renamed to it when the block succeeds and removed
    when it fails; an existing ``folder`` is never replaced."""
    staging = folder.parent / f".{folder.name}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        yield staging
        if folder.exists():
            raise ConfigError(f"{folder} exists but the register does not hold it: move it away")
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_signed_files(con: duckdb.DuckDBPyConnection, staging: Path, files: PoolFiles,
                       signing: membership.LedgerSigning) -> str:
    """Reserve the added assets in the ledger and write every file and the signed manifest into
    ``staging`` (inside the caller's transaction); the manifest's SHA-256."""
    pool, day = files.pool, files.day
    reserve_leaves, reservation = reserve(con, files.pool_id, pool, day, signing)
    write_tape(staging, pool, reserve_leaves)
    write_eligibility(staging, files.verdicts, {c.asset_key for c in pool})
    shutil.copyfile(files.criteria_path, staging / "criteria.toml")
    weighted = weighted_averages(pool, day, sum(c.outstanding_fen for c in pool))
    figures, tables = strata.key_figures(pool, weighted), strata.tables(pool)
    strata.write_xlsx(staging / "stratification.xlsx", files.pool_id, figures, tables)
    strata.write_html(staging / "pool_report.html", files.pool_id, figures, tables)
    doc = _manifest(files.pool_id, files.bank_code, day, files.criteria, files.steps, files.outcome, pool, weighted,
                    files.ledger_cut, staging)
    doc.update(files.extra, ledger_reservation=reservation)
    return manifest.write(staging / MANIFEST, manifest.sign(doc, signing.signer))


def reserve(con: duckdb.DuckDBPyConnection, pool_id: str, assets: list[Candidate], on: dt.date,
            signing: membership.LedgerSigning) -> tuple[dict[str, int], dict[str, Any]]:
    """Reserve the assets for the pool in the ledger: each asset's POOL_RESERVE leaf, and the
    signed checkpoint that holds them (as the manifest records it)."""
    records = [PoolReserve(pool_id, c.financing_id, c.asset_key, c.outstanding_fen, c.ledger_leaf_index)
               for c in sorted(assets, key=lambda c: c.asset_key)]
    seqs, published = membership.record(con, records, on, signing)
    return ({r.asset_key: seq for r, seq in zip(records, seqs, strict=True)},
            {**membership.checkpoint_doc(published), "business_date": on.isoformat()})


def _yuan(fen: int) -> str:
    return format_fen(fen)


def _decimal(value: Fraction, places: int = 6) -> str:
    return f"{float(value):.{places}f}"


def weighted_averages(pool: list[Candidate], cutoff: dt.date, total: int) -> dict[str, str]:
    """Amount-weighted rate, remaining and original term, seasoning (exact, rendered)."""
    def wa(value: Callable[[Candidate], Fraction | int]) -> Fraction:
        return sum((Fraction(value(c)) * c.outstanding_fen for c in pool), Fraction(0)) / total

    return {
        "rate": _decimal(wa(lambda c: Fraction(c.rate or 0))),
        "remaining_term_days": _decimal(wa(lambda c: c.remaining_term_days or 0), 1),
        "original_term_days": _decimal(wa(lambda c: (c.maturity_date - c.value_date).days
                                          if c.maturity_date and c.value_date else 0), 1),
        "seasoning_days": _decimal(wa(lambda c: (cutoff - c.value_date).days if c.value_date else 0), 1),
    }


def _manifest(pool_id: str, bank_code: str, cutoff: dt.date, criteria: Criteria, steps: list[WaterfallStep],
              selection: Selection, pool: list[Candidate], weighted: dict[str, str], ledger_cut: LedgerCut,
              folder: Path) -> dict[str, Any]:
    total = sum(c.outstanding_fen for c in pool)
    return {
        "pool_id": pool_id,
        "cutoff_date": cutoff.isoformat(),
        "bank_code": bank_code,
        "criteria": {"file": "criteria.toml", **criteria.summary()},
        "solver": {
            "engine": "HiGHS",
            "status": selection.status,
            "mip_gap": selection.mip_gap,
            "objective": selection.objective,
            "objective_value": _decimal(selection.objective_value),
            "solves": selection.solves,
        },
        "totals": {
            "asset_count": len(pool),
            "obligor_count": len({c.obligor_uscc for c in pool}),
            "outstanding_amount": _yuan(total),
            "weighted_average": weighted,
        },
        "limits_measured": [
            {"limit": m.name, "value": _decimal(m.value), "bound": _decimal(m.limit), "holds": m.holds}
            for m in selection.measures
        ],
        "eligibility_waterfall": [
            {"rule": s.code, "description": s.description, "removed_count": s.removed_count,
             "removed_amount": _yuan(s.removed_fen), "failing_count": s.failing_count,
             "remaining_count": s.remaining_count, "remaining_amount": _yuan(s.remaining_fen)}
            for s in steps
        ],
        "ledger_checkpoint": {
            "tree_size": ledger_cut.tree_size,
            "root": base64.b64encode(ledger_cut.root).decode("ascii"),
            "business_date": ledger_cut.business_date.isoformat() if ledger_cut.business_date else None,
            "note": ledger_cut.note,
        },
        "files": {name: manifest.file_sha256(folder / name) for name in POOL_FILES},
    }
