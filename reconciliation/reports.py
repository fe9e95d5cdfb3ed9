"""The files of OUTPUTS.md the back office receives each night: findings and verdicts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
from reconciliation.check import severity_rank_sql
from reconciliation.findings import verdict_rank_sql

FINDINGS_COLUMNS = (
    "finding_id, business_date, check_id, category, severity, financing_id, voucher_id, "
    "invoice_no, bill_ref, waybill_no, detail, evidence, first_seen_date"
)
STATUS_COLUMNS = (
    "financing_id, verdict, check_ids, bank_code, product, applicant_uscc, debtor_uscc, "
    "yuan(financed_amount_fen) AS financed_amount, status, verdict_since"
)
_SEVERITY_ORDER = severity_rank_sql()


def night_report_dir(home: Path, business_date: dt.date) -> Path:
    """``<home>/reports/<date>/``, created if missing."""
    folder = home / "reports" / business_date.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_csv_reports(con: duckdb.DuckDBPyConnection, home: Path, business_date: dt.date) -> list[Path]:
    """Write ``findings.csv`` and ``financing_status.csv`` of a night; return their paths.

    Rows are in a fixed order (gravest first, then by id) so that a re-run of the same
    night writes byte-identical files.
    """
    folder = night_report_dir(home, business_date)
    day = business_date.isoformat()
    findings = folder / "findings.csv"
    status = folder / "financing_status.csv"
    _copy(
        con,
        f"SELECT {FINDINGS_COLUMNS} FROM findings WHERE business_date = DATE '{day}' "
        f"ORDER BY {_SEVERITY_ORDER}, check_id, financing_id NULLS LAST, finding_id",
        findings,
    )
    _copy(
        con,
        f"SELECT {STATUS_COLUMNS} FROM financing_verdicts WHERE business_date = DATE '{day}' "
        f"ORDER BY {verdict_rank_sql()}, financing_id",
        status,
    )
    return [findings, status]


def _copy(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> None:
    tmp = target.with_suffix(".csv.part")
    con.execute(f"COPY ({query}) TO '{tmp}' (HEADER, DELIMITER ',', QUOTE '\"')")
    tmp.replace(target)
