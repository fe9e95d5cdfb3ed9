"""Nightly surveillance of active pools: ``<home>/pools/<pool_id>/surveillance/<date>.csv``.

For every pool active on the night (cut on or before it, not released), each asset is
reported when it is no longer ``clean`` (a red-flushed invoice, a duplicate found at a peer
bank, …), has been DEFAULTED or CANCELLED, or has matured and is still ACTIVE (unpaid);
and the pool is reported when its remaining assets (those still ACTIVE) break a
concentration limit of the criteria it was cut under (repayments and ageing change the
shares).  The target size is not surveyed: a pool shrinks as it repays (``replenish``).
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from connectors.warehouse import create_asof_views
from pools import registry
from pools.candidates import load_candidates
from pools.criteria import load_criteria
from pools.cut import to_asset
from pools.selection import measure
from pools.tape import tape_text

NOT_CLEAN, CLOSED, MATURED_UNPAID, LIMIT_BREACH = "NOT_CLEAN", "CLOSED", "MATURED_UNPAID", "LIMIT_BREACH"
COLUMNS = ("pool_id", "business_date", "financing_id", "asset_id", "issue", "detail")

_ASSETS_SQL = """
WITH verdict AS (
  SELECT financing_id, verdict, check_ids FROM financing_verdicts WHERE business_date <= $day
  QUALIFY row_number() OVER (PARTITION BY financing_id ORDER BY business_date DESC) = 1
)
SELECT a.financing_id, a.asset_key, f.status, f.maturity_date, v.verdict, v.check_ids
FROM pool_assets a
LEFT JOIN cur_financings f USING (financing_id)
LEFT JOIN verdict v USING (financing_id)
WHERE a.pool_id = $pool
ORDER BY a.asset_key
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
    alerts = []
    active_ids = set()
    for fid, key, status, maturity, verdict, checks in con.execute(
        _ASSETS_SQL, {"day": day, "pool": record.pool_id}
    ).fetchall():
        def alert(issue: str, detail: str, fid: str = fid, key: str = key) -> None:
            alerts.append(Alert(record.pool_id, day, fid, key, issue, detail))

        if status in ("DEFAULTED", "CANCELLED"):
            alert(CLOSED, f"financing {status.lower()}")
        elif status == "ACTIVE":
            active_ids.add(fid)
            if maturity is not None and maturity < day:
                alert(MATURED_UNPAID, f"matured {maturity} and still active")
        if verdict not in (None, "clean", "closed"):
            alert(NOT_CLEAN, f"verdict {verdict}: {checks}")
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
    create_asof_views(con, day)
    out = {}
    for record in registry.list_pools(con):
        if record.cutoff_date > day or (record.status != registry.ACTIVE and
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
