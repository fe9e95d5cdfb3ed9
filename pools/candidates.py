"""The candidates of a cut: the bank's own ACTIVE financings as of a cut-off date.

Each candidate carries what the eligibility rules need: its latest verdict and open
findings, whether its asset has been settled, cancelled, red-flushed or ended, whether it
sits in an active pool, its ledger leaf, and its obligor's and originator's party data
(``reference/parties.csv``, the row valid on the cut-off date).  Everything is read as of
the cut-off: rows delivered on later nights are not seen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import duckdb

from foundation.vocabulary import EventType, FinancingStatus, PoolStatus, sql_literal
from ledger.schema import ensure_schema as ensure_ledger_schema
from pools import registry
from reconciliation.findings import ensure_tables as ensure_findings_tables
from reconciliation.session import sql_script
from warehouse.asof import create_asof_views, verdicts_as_of_sql

_SQL = f"""
WITH party AS (
  SELECT * FROM cur_parties WHERE valid_from <= $cutoff
  QUALIFY row_number() OVER (PARTITION BY uscc ORDER BY valid_from DESC) = 1
), verdict AS (
  SELECT financing_id, business_date, verdict  -- as of the last night judged up to the cut-off
  FROM ({verdicts_as_of_sql("(SELECT max(business_date) FROM verdict_nights WHERE business_date <= $cutoff)")})
), open_findings AS (
  SELECT v.financing_id, string_agg(DISTINCT f.check_id, ';' ORDER BY f.check_id) AS check_ids
  FROM verdict v JOIN findings f ON f.financing_id = v.financing_id AND f.business_date = v.business_date
  GROUP BY ALL
), ended AS (
  SELECT voucher_id AS ref, 'voucher ' || lower(max(event_type)) AS why FROM cur_voucher_events
  WHERE event_type IN ({sql_literal(EventType.SETTLE)}, {sql_literal(EventType.CANCEL)}) GROUP BY ALL
  UNION ALL
  SELECT invoice_no, CASE status WHEN '2' THEN 'invoice void' ELSE 'invoice red-flushed' END
  FROM cur_tax_invoice_status WHERE status IN ('2', '3') OR red_flushed_fen > 0
), bill_ended AS (
  SELECT DISTINCT cd_no, range_start, range_end FROM cur_bills WHERE circulation_status = 'TF0501'
), pooled AS (
  SELECT a.financing_id, a.asset_key,
         CASE WHEN a.sold_on IS NULL THEN '' ELSE 'sold with ' END || a.pool_id AS pool_id
  FROM pool_assets a JOIN pools p USING (pool_id)
  WHERE p.status = {sql_literal(PoolStatus.ACTIVE)} OR a.sold_on IS NOT NULL
), leaf AS (
  SELECT financing_id, max(seq) AS seq FROM ledger_entries
  WHERE entry_type = 'FINANCING' AND seq < $tree_size GROUP BY ALL
)
SELECT f.financing_id, f.product, f.asset_ref, f.product || ':' || f.asset_ref AS asset_key,
       f.applicant_uscc AS originator_uscc, f.debtor_uscc AS obligor_uscc, ob.name AS obligor_name,
       ob.industry, ob.group_id AS obligor_group, ob.rating, og.group_id AS originator_group,
       f.face_amount_fen AS outstanding_fen, f.rate, f.value_date, f.maturity_date, f.invoice_nos,
       v.verdict, o.check_ids AS open_checks,
       coalesce(ev.why, ei.why, CASE WHEN b.cd_no IS NOT NULL THEN 'bill ended' END) AS asset_ended,
       coalesce(pf.pool_id, pk.pool_id) AS pooled_in, l.seq AS ledger_leaf_index,
       uscc_region(f.debtor_uscc) AS region
FROM cur_financings f
LEFT JOIN party ob ON ob.uscc = f.debtor_uscc
LEFT JOIN party og ON og.uscc = f.applicant_uscc
LEFT JOIN verdict v USING (financing_id)
LEFT JOIN open_findings o USING (financing_id)
LEFT JOIN ended ev ON ev.ref = f.asset_voucher_id
LEFT JOIN ended ei ON ei.ref = f.asset_invoice_no
LEFT JOIN bill_ended b ON b.cd_no = f.asset_cd_no AND b.range_start <= f.asset_range_start
                      AND b.range_end >= f.asset_range_end
LEFT JOIN pooled pf ON pf.financing_id = f.financing_id
LEFT JOIN pooled pk ON pk.asset_key = f.product || ':' || f.asset_ref
LEFT JOIN leaf l USING (financing_id)
WHERE f.bank_code = $bank AND f.status = {sql_literal(FinancingStatus.ACTIVE)}
ORDER BY f.financing_id
"""


@dataclass(frozen=True)
class Candidate:
    """One financing of the bank that a pool could hold, with everything the rules test."""

    financing_id: str
    product: str
    asset_ref: str
    asset_key: str  # product:asset_ref, the asset's identity across pools
    originator_uscc: str | None
    obligor_uscc: str | None
    obligor_name: str | None
    industry: str | None
    obligor_group: str | None
    rating: str | None
    originator_group: str | None
    outstanding_fen: int  # the face amount the obligor pays at maturity
    rate: Decimal | None
    value_date: dt.date | None
    maturity_date: dt.date | None
    invoice_nos: str | None
    verdict: str | None
    open_checks: str | None  # check ids of the open findings, ';'-separated
    asset_ended: str | None  # why the asset has no value left, if so
    pooled_in: str | None  # the active pool holding it (or 'sold with <pool>'), if any
    ledger_leaf_index: int | None
    region: str | None  # the obligor's administrative-division code: uscc_region, the checks' one rule
    cutoff: dt.date

    @property
    def remaining_term_days(self) -> int | None:
        """Days from the cut-off to maturity."""
        return None if self.maturity_date is None else (self.maturity_date - self.cutoff).days

    @property
    def province(self) -> str | None:
        """The first two digits of the division code."""
        return self.region[:2] if self.region else None

    @property
    def industry_division(self) -> str | None:
        """门类 letter + 大类 digits of the obligor's industry (``C3976`` → ``C39``)."""
        return self.industry[:3] if self.industry else None


def load_candidates(
    con: duckdb.DuckDBPyConnection, *, bank_code: str, cutoff: dt.date, tree_size: int
) -> list[Candidate]:
    """The bank's ACTIVE financings as of ``cutoff``; ledger leaves are those below ``tree_size``."""
    ensure_findings_tables(con)
    ensure_ledger_schema(con)
    registry.ensure_tables(con)
    create_asof_views(con, cutoff)
    con.execute(sql_script("match_macros.sql"))  # uscc_region (positions 3–8 of a well-formed USCC)
    cursor = con.execute(_SQL, {"cutoff": cutoff, "bank": bank_code, "tree_size": tree_size})
    names = [column[0] for column in cursor.description]  # the SELECT names each of Candidate's fields but the cut-off
    return [Candidate(**dict(zip(names, row, strict=True)), cutoff=cutoff) for row in cursor.fetchall()]
