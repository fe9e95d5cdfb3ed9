"""Pools in Dagster: the nightly surveillance asset and the pool-cut job the team launches.

``pool_surveillance`` is the last step (and asset) of a night: every active pool is
surveyed on the night.  ``pool_cut`` is a job launched from the UI with its cut-off
and criteria file as run config; a cut whose limits cannot hold fails the run with the
explanation.
"""


import datetime as dt
import time
from pathlib import Path

import dagster as dg

from foundation.errors import ConfigError
from integration.pool_cli import ledger_signing, pools_dir
from integration.resources import ScfHome
from pools.cut import cut_pool
from pools.selection import Infeasible
from pools.surveillance import survey


def pool_surveillance(context: dg.AssetExecutionContext, scf: ScfHome) -> dg.MaterializeResult:
    """Surveillance of every active ABS pool on the night: assets no longer clean, closed or
    matured unpaid, and limits the remaining assets break (pools/<pool_id>/surveillance/<date>.csv)."""
    from integration.assets import _report, business_date_of  # the night's steps import this one

    started = time.perf_counter()
    settings = scf.settings()
    with settings.open_warehouse() as warehouse:
        found = survey(warehouse.con, pools_dir(settings), business_date_of(context))
    alerts = {pool_id: len(a) for pool_id, a in found.items()}
    _report(context, started, f"{len(found)} active pools, alerts {alerts}")
    return dg.MaterializeResult(metadata={"pools": len(found), **{f"alerts.{k}": v for k, v in alerts.items()}})


class PoolCutConfig(dg.Config):
    """Run config of a cut: the cut-off date and the programme's criteria file."""

    cutoff: str
    criteria_file: str
    gap: float = 1e-6


@dg.op(description="Cut an ABS pool: eligibility, optimal selection (HiGHS), signed files.")
def cut_pool_op(context: dg.OpExecutionContext, config: PoolCutConfig, scf: ScfHome) -> dict:
    settings = scf.settings()
    if settings.bank_code is None:
        raise ConfigError(f"{settings.home / 'scf.toml'}: set [bank] code to cut pools")
    with scf.night_lock(), settings.open_warehouse() as warehouse:  # never while a night runs
        result = cut_pool(warehouse.con, pools_dir=pools_dir(settings), bank_code=settings.bank_code,
                          cutoff=dt.date.fromisoformat(config.cutoff), criteria_path=Path(config.criteria_file),
                          signing=ledger_signing(settings), gap=config.gap)
    if isinstance(result.outcome, Infeasible):
        raise dg.Failure(description=result.outcome.explain())
    context.log.info(f"pool {result.pool_id}: {len(result.outcome.keys)} assets under {result.folder}")
    return {"pool_id": result.pool_id, "folder": str(result.folder)}


@dg.job(description="Cut an ABS pool from the eligible set under a criteria file (run config).")
def pool_cut() -> None:
    cut_pool_op()
