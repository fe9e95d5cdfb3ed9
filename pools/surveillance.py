"""Nightly surveillance of active pools: ``<home>/pools/<pool_id>/surveillance/<date>.csv``.

For every pool active on the night (cut on or before it, not released), the file lists its
assets' surveillance findings of the night — the ``POOL_*`` checks of the catalogue
(family ``pool`` of :mod:`reconciliation.catalogue`, ``sql/POOL.sql``): no longer clean, DEFAULTED or CANCELLED, matured and still ACTIVE;
they are in that night's ``findings.csv`` too — and ``LIMIT_BREACH`` for each concentration
limit of the pool's criteria that its remaining assets (those still ACTIVE) break
(repayments and ageing change the shares).  The target size is not surveyed: a pool
shrinks as it repays (``scf pool replenish``).  The night's findings must exist (the
night was run).
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from foundation.vocabulary import FinancingStatus, PoolStatus, sql_literal
from pools import registry
from pools.candidates import load_candidates
from pools.criteria import load_criteria
from pools.cut import to_asset
from pools.selection import measure
from pools.tape import tape_text
from reconciliation.catalogue import CATALOGUE
from reconciliation.check import Family
from reconciliation.findings import ensure_tables as ensure_findings_tables
from warehouse.asof import create_asof_views

LIMIT_BREACH = "LIMIT_BREACH"
COLUMNS = ("pool_id", "business_date", "financing_id", "asset_id", "issue", "detail")

_FINDINGS_SQL = """
SELECT financing_id, json_extract_string(evidence, '$.asset_id'), check_id, detail FROM findings
WHERE business_date = $day AND check_id IN (SELECT unnest($checks::VARCHAR[]))
  AND json_extract_string(evidence, '$.pool_id') = $pool
ORDER BY 2, 3
"""
_ACTIVE_SQL = f"""
SELECT a.financing_id FROM pool_assets a JOIN cur_financings f USING (financing_id)
WHERE a.pool_id = $pool AND a.added_on <= $day AND f.status = {sql_literal(FinancingStatus.ACTIVE)}
"""


@dataclass(frozen=True)
class Alert:
    """One line of a surveillance file."""

    pool_id: str
    business_date: dt.date
    financing_id: str
    asset_id: str
    issue: str
    detail: str


def survey_pool(con: duckdb.DuckDBPyConnection, record: registry.PoolRecord, folder: Path,
                day: dt.date) -> list[Alert]:
    """The alerts of one pool on ``day`` (views as of ``day`` must exist)."""
    alerts = [Alert(record.pool_id, day, fid, key, check_id, detail) for fid, key, check_id, detail in con.execute(
        _FINDINGS_SQL, {"day": day, "checks": [c.check_id for c in CATALOGUE.of(Family.POOL)], "pool": record.pool_id}
    ).fetchall()]
    active_ids = {r[0] for r in con.execute(_ACTIVE_SQL, {"day": day, "pool": record.pool_id}).fetchall()}
    criteria = load_criteria(folder / "criteria.toml")
    remaining = [c for c in load_candidates(con, bank_code=record.bank_code, cutoff=day, tree_size=2**62)
                 if c.financing_id in active_ids and c.rate is not None and c.remaining_term_days is not None]
    for m in measure([to_asset(c) for c in remaining], criteria.limits):
        if not m.holds and not m.name.startswith("target_"):
            alerts.append(Alert(record.pool_id, day, "", "", LIMIT_BREACH, m.describe()))
    return alerts


def survey(con: duckdb.DuckDBPyConnection, pools_dir: Path, day: dt.date) -> dict[str, list[Alert]]:
    """Survey every pool active on ``day``; write each one's ``surveillance/<day>.csv``."""
    registry.ensure_tables(con)
    ensure_findings_tables(con)
    create_asof_views(con, day)
    out = {}
    for record in registry.list_pools(con):
        if record.cutoff_date > day or (record.status != PoolStatus.ACTIVE and
                                        (record.released_on is None or record.released_on <= day)):
            continue
        folder = pools_dir / record.pool_id
        alerts = survey_pool(con, record, folder, day)
        target = folder / "surveillance" / f"{day.isoformat()}.csv"
        target.parent.mkdir(exist_ok=True)
        with target.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS)
            writer.writerows([tape_text(v) for v in (a.pool_id, a.business_date, a.financing_id, a.asset_id, a.issue,
                                                     a.detail)] for a in alerts)
        out[record.pool_id] = alerts
    return out
