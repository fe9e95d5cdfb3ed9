"""The files of OUTPUTS.md the back office receives each night: findings and verdicts."""

from __future__ import annotations

import datetime as dt
import re
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
    """Write ``findings.csv`` and ``financing_status.csv`` of a night, and beside each its
    :func:`excel_variant`; return their paths.

    Rows are in a fixed order (gravest first, then by id) so that a re-run of the same
    night writes byte-identical files.  Temporary ``*.part`` files a killed run left under
    ``reports/`` are removed first.
    """
    for stale in (home / "reports").glob("*/*.part"):  # left by a killed run; one night runs at a time
        stale.unlink()
    folder = night_report_dir(home, business_date)
    findings = folder / "findings.csv"
    status = folder / "financing_status.csv"
    _copy(
        con,
        f"SELECT {FINDINGS_COLUMNS} FROM findings WHERE business_date = ? "
        f"ORDER BY {_SEVERITY_ORDER}, check_id, financing_id NULLS LAST, finding_id",
        business_date,
        findings,
    )
    _copy(
        con,
        f"SELECT {STATUS_COLUMNS} FROM financing_verdicts WHERE business_date = ? "
        f"ORDER BY {verdict_rank_sql()}, financing_id",
        business_date,
        status,
    )
    return [findings, status, excel_variant(findings), excel_variant(status)]


EXCEL_SUFFIX = "_excel"
UTF8_BOM = b"\xef\xbb\xbf"


def excel_variant(path: Path) -> Path:
    """``<name>_excel.csv`` beside ``<name>.csv``: the same bytes after a UTF-8 byte-order mark, so
    that Excel (a Chinese Windows Excel included) opens it by a double click as UTF-8, not as
    GBK.  The file of OUTPUTS.md itself stays without a BOM for the systems that read it."""
    target = path.with_name(path.stem + EXCEL_SUFFIX + path.suffix)
    tmp = target.with_suffix(".csv.part")
    tmp.write_bytes(UTF8_BOM + path.read_bytes())
    tmp.replace(target)
    return target


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def spreadsheet_safe(value: str) -> str:
    """A text cell a spreadsheet will not run as a formula (OWASP CSV injection): a leading ``=``,
    ``+``, ``-``, ``@``, tab or carriage return gets a ``'`` in front; a plain number is left as is."""
    if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _csv_cell(value: object) -> str:
    """One CSV field as DuckDB's COPY writes it: NULL empty, an empty text ``""``, a text holding a
    delimiter, quote or line break quoted (quotes doubled); text made :func:`spreadsheet_safe`."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return str(value)
    text = spreadsheet_safe(value)
    if not text or _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


_NEEDS_QUOTES = re.compile('[,"\n\r]')


def _copy(con: duckdb.DuckDBPyConnection, query: str, day: dt.date, target: Path) -> None:
    """Write the query's rows as CSV with a header (see :func:`_csv_cell`), through a temporary
    file renamed over ``target``; the date is a query parameter, nothing is pasted into SQL."""
    cursor = con.execute(query, [day])
    tmp = target.with_suffix(".csv.part")
    with tmp.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(_csv_cell(column[0]) for column in cursor.description) + "\n")
        while rows := cursor.fetchmany(10_000):
            out.writelines(",".join(map(_csv_cell, row)) + "\n" for row in rows)
    tmp.replace(target)
