"""Run the catalogue over the warehouse for one night and keep findings and verdicts.

Findings of night D are every problem the checks see in the history up to D (not only
what arrived tonight): a fraud assembled from pieces of several nights is found the night
its last piece arrives, and it stays listed while it stands.  ``finding_id`` depends only
on what the finding is about, so the same problem keeps its id night after night and a
re-run of a night reproduces its findings exactly.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import duckdb

from dispositions.effective import ensure_tables as ensure_worklist_tables
from dispositions.effective import store_night_dispositions, waived_sql
from reconciliation.catalogue import CHECKS
from reconciliation.check import Category, Check, severity_rank_sql
from reconciliation.matching import prepare_trade_matches, store_trade_matches
from reconciliation.session import open_night
from warehouse.connection import transaction

FINDINGS_DDL = """
CREATE TABLE IF NOT EXISTS findings (
  finding_id VARCHAR NOT NULL, business_date DATE NOT NULL, check_id VARCHAR NOT NULL,
  category VARCHAR NOT NULL, severity VARCHAR NOT NULL, financing_id VARCHAR,
  voucher_id VARCHAR, invoice_no VARCHAR, bill_ref VARCHAR, waybill_no VARCHAR,
  detail VARCHAR NOT NULL, evidence VARCHAR, first_seen_date DATE NOT NULL)
"""
VERDICTS_DDL = """
CREATE TABLE IF NOT EXISTS financing_verdicts (
  business_date DATE NOT NULL, financing_id VARCHAR NOT NULL, verdict VARCHAR NOT NULL,
  check_ids VARCHAR NOT NULL, bank_code VARCHAR, product VARCHAR, applicant_uscc VARCHAR,
  debtor_uscc VARCHAR, financed_amount_fen BIGINT, status VARCHAR, verdict_since DATE NOT NULL)
"""
_SEVERITY_RANK = severity_rank_sql()


class Verdict(StrEnum):
    """The verdicts of OUTPUTS.md, in the order the reports list them."""

    BLOCKED = "blocked"  # any high or critical finding
    REVIEW = "review"  # only medium ones: evidence pending, a row that could not be read …
    CLEAN = "clean"  # nothing above low: the only verdict whose assets may enter a pool
    CLOSED = "closed"  # no longer live, whatever its findings


#: Financing statuses of a financing that is no longer live (its verdict is ``closed``).
CLOSED_STATUSES: tuple[str, ...] = ("REPAID", "DEFAULTED", "CANCELLED")


def verdict_rank_sql(column: str = "verdict") -> str:
    """SQL ranking a verdict column in :class:`Verdict` order (blocked first)."""
    ranks = " ".join(f"WHEN '{verdict.value}' THEN {rank}" for rank, verdict in enumerate(Verdict))
    return f"CASE {column} {ranks} ELSE {len(Verdict)} END"


_CLOSED = ", ".join(f"'{status}'" for status in CLOSED_STATUSES)
#: A finding whose evidence is only pending (INTERFACES: ``"pending": true``) is a data-quality
#: finding whatever its check: evidence not here yet is not evidence of fraud.
_PENDING = "coalesce(json_extract_string(evidence::JSON, '$.pending') = 'true', false)"
_DOCUMENT_COLUMNS = ("financing_id", "voucher_id", "invoice_no", "bill_ref", "waybill_no")


@dataclass
class CheckRun:
    """What one night's run of the catalogue produced."""

    business_date: dt.date
    seconds_by_check: dict[str, float] = field(default_factory=dict)  # and the match's steps
    findings_by_category: dict[str, int] = field(default_factory=dict)
    verdicts: dict[str, int] = field(default_factory=dict)


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the findings and verdict tables (and the worklist's) if missing."""
    con.execute(FINDINGS_DDL)
    con.execute(VERDICTS_DDL)
    ensure_worklist_tables(con)


def run_catalogue(
    con: duckdb.DuckDBPyConnection,
    business_date: dt.date,
    *,
    params: Mapping[str, int | str] | None = None,
    checks: Iterable[Check] = CHECKS,
) -> CheckRun:
    """Run every check for ``business_date`` and replace that night's findings and verdicts."""
    ensure_tables(con)
    run = CheckRun(business_date)
    open_night(con, business_date, params)
    prepare_trade_matches(con, run.seconds_by_check)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE night_findings (check_id VARCHAR, category VARCHAR, "
        "severity VARCHAR, financing_id VARCHAR, voucher_id VARCHAR, invoice_no VARCHAR, "
        "bill_ref VARCHAR, waybill_no VARCHAR, detail VARCHAR, evidence VARCHAR)"
    )
    for check in checks:
        started = time.perf_counter()
        con.execute("SET VARIABLE check_id = ?", [check.check_id])
        con.execute(
            f"""INSERT INTO night_findings
            SELECT '{check.check_id}',
                   CASE WHEN {_PENDING} THEN '{Category.DATA_QUALITY.value}' ELSE '{check.category.value}' END,
                   coalesce(severity, '{check.severity.value}'),
                   financing_id, voucher_id, invoice_no, bill_ref, waybill_no, detail, evidence::VARCHAR
            FROM ({check.sql()})"""
        )
        run.seconds_by_check[check.check_id] = time.perf_counter() - started
    with transaction(con):
        _store_night(con, business_date)
        store_trade_matches(con, business_date)
    run.findings_by_category = dict(
        con.execute(
            "SELECT category, count(*) FROM findings WHERE business_date = ? GROUP BY ALL ORDER BY 1",
            [business_date],
        ).fetchall()
    )
    run.verdicts = dict(
        con.execute(
            "SELECT verdict, count(*) FROM financing_verdicts WHERE business_date = ? GROUP BY ALL ORDER BY 1",
            [business_date],
        ).fetchall()
    )
    return run


def _store_night(con: duckdb.DuckDBPyConnection, business_date: dt.date) -> None:
    key = ", ".join(f"coalesce({c}, '')" for c in _DOCUMENT_COLUMNS)
    con.execute("DELETE FROM findings WHERE business_date = ?", [business_date])
    con.execute(
        f"""INSERT INTO findings
        WITH keyed AS (
          SELECT 'FND-' || substr(sha256(concat_ws('|', check_id, {key})), 1, 20) AS finding_id, *
          FROM night_findings
          QUALIFY row_number() OVER (PARTITION BY finding_id ORDER BY {_SEVERITY_RANK}, detail, evidence) = 1
        )
        SELECT k.finding_id, $1, k.check_id, k.category, k.severity, k.financing_id, k.voucher_id,
               k.invoice_no, k.bill_ref, k.waybill_no, k.detail, k.evidence,
               coalesce((SELECT min(p.business_date) FROM findings p
                         WHERE p.finding_id = k.finding_id AND p.business_date < $1), $1)
        FROM keyed k""",
        [business_date],
    )
    store_night_dispositions(con, business_date)
    con.execute("DELETE FROM financing_verdicts WHERE business_date = ?", [business_date])
    con.execute(
        f"""INSERT INTO financing_verdicts
        WITH worst AS (
          SELECT financing_id, min({_SEVERITY_RANK}) AS rank,
                 string_agg(DISTINCT check_id, ';' ORDER BY check_id) AS check_ids
          FROM findings WHERE business_date = $1 AND financing_id IS NOT NULL
            AND finding_id NOT IN ({waived_sql()})  -- an approved waiver (worklist) no longer counts
          GROUP BY financing_id
        ), named AS (  -- every financing named by a delivered row, readable or not
          SELECT financing_id, bank_code, product, applicant_uscc, debtor_uscc, financed_amount_fen, status
          FROM cur_financings
          UNION ALL
          SELECT financing_id, bank_code, product, NULL, NULL, NULL, NULL FROM unreadable_financings u
          WHERE financing_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM cur_financings c WHERE c.financing_id = u.financing_id)
        ), judged AS (
          SELECT f.financing_id,
                 CASE WHEN f.status IN ({_CLOSED}) THEN '{Verdict.CLOSED.value}'
                      WHEN w.rank <= 1 THEN '{Verdict.BLOCKED.value}'
                      WHEN w.rank = 2 THEN '{Verdict.REVIEW.value}'
                      ELSE '{Verdict.CLEAN.value}' END AS verdict,
                 coalesce(w.check_ids, '') AS check_ids, f.bank_code, f.product, f.applicant_uscc,
                 f.debtor_uscc, f.financed_amount_fen, f.status
          FROM named f LEFT JOIN worst w USING (financing_id)
        ), previous AS (
          SELECT financing_id, verdict, verdict_since FROM financing_verdicts
          WHERE business_date < $1
          QUALIFY row_number() OVER (PARTITION BY financing_id ORDER BY business_date DESC) = 1
        )
        SELECT $1, j.financing_id, j.verdict, j.check_ids, j.bank_code, j.product, j.applicant_uscc,
               j.debtor_uscc, j.financed_amount_fen, j.status,
               CASE WHEN p.verdict = j.verdict THEN p.verdict_since ELSE $1 END
        FROM judged j LEFT JOIN previous p USING (financing_id)""",
        [business_date],
    )
