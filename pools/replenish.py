"""Replenishing a revolving pool (循环购买): top it up from a night's eligible set.

The pool's assets still ACTIVE on the night stay in it (the selection must keep them); the
bank's other candidates on that night are judged by the pool's own criteria file, and the
selection adds the best of the eligible ones so that the whole pool meets the same limits
and target again.  The added assets are reserved in the ledger (``POOL_RESERVE`` dated the
night, under a checkpoint signed at once) and written, with their own signed manifest, to
``pools/<pool_id>/replenishments/<date>/`` (the files of a cut, for the added assets;
``limits_measured`` is of the whole pool).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import duckdb

from foundation.errors import ConfigError
from foundation.vocabulary import PoolStatus
from pools import membership, registry
from pools.candidates import load_candidates
from pools.criteria import load_criteria
from pools.cut import CutResult, PoolFiles, latest_checkpoint, staged, to_asset, write_signed_files
from pools.eligibility import assess, waterfall
from pools.selection import Infeasible, select
from warehouse.transactions import transaction


def replenishment_folder(pools_dir: Path, pool_id: str, day: dt.date) -> Path:
    """``<pools_dir>/<pool_id>/replenishments/<date>``."""
    return pools_dir / pool_id / "replenishments" / day.isoformat()


def replenish_pool(
    con: duckdb.DuckDBPyConnection,
    *,
    pools_dir: Path,
    pool_id: str,
    day: dt.date,
    signing: membership.LedgerSigning,
    gap: float = 1e-6,
) -> CutResult:
    """Top an active pool up on ``day``; the result's folder is ``None`` when nothing was added."""
    registry.ensure_tables(con)
    record = registry.get_pool(con, pool_id)
    if record.status != PoolStatus.ACTIVE:
        raise ConfigError(f"pool {pool_id} is {record.status.lower()}: only an active pool is replenished")
    if day < record.cutoff_date:
        raise ConfigError(f"pool {pool_id} was cut on {record.cutoff_date}: replenish it on a later night")
    criteria_path = pools_dir / pool_id / "criteria.toml"
    criteria = load_criteria(criteria_path)
    ledger_cut = latest_checkpoint(con, day)
    members = {key for _, key, _, _ in registry.pool_assets(con, pool_id)}
    candidates = load_candidates(con, bank_code=record.bank_code, cutoff=day, tree_size=ledger_cut.tree_size)
    kept = [c for c in candidates  # candidates are the ACTIVE financings: a repaid member has left
            if c.asset_key in members and c.rate is not None and c.remaining_term_days is not None]
    verdicts = assess([c for c in candidates if c.asset_key not in members], criteria.eligibility)
    steps = waterfall(verdicts)
    eligible = [v.candidate for v in verdicts if v.eligible]
    outcome = select([replace(to_asset(c), fixed=True) for c in kept] + [to_asset(c) for c in eligible],
                     criteria.limits, criteria.objective, gap=gap)
    if isinstance(outcome, Infeasible):
        return CutResult(pool_id, None, criteria, verdicts, steps, outcome)
    chosen = set(outcome.keys)
    added = [c for c in eligible if c.asset_key in chosen]
    if not added:
        return CutResult(pool_id, None, criteria, verdicts, steps, outcome)
    folder = replenishment_folder(pools_dir, pool_id, day)
    files = PoolFiles(pool_id, record.bank_code, day, criteria, criteria_path, verdicts, steps, outcome, added,
                      ledger_cut, {"replenishment": {"date": day.isoformat(), "kept_assets": len(kept),
                                                     "added_assets": len(added)}})
    with transaction(con), staged(folder) as staging:
        write_signed_files(con, staging, files, signing)
        registry.add_assets(con, pool_id, [(c.financing_id, c.asset_key, c.outstanding_fen) for c in added], day)
    return CutResult(pool_id, folder, criteria, verdicts, steps, outcome)
