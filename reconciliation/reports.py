"""The files of OUTPUTS.md the back office receives each night: findings and verdicts."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb

from reconciliation.check import severity_rank_sql
from reconciliation.findings import verdict_rank_sql

#: The columns of findings.csv and financing_status.csv (OUTPUTS.md), in their order.
FINDINGS_COLUMNS = ("finding_id", "business_date", "check_id", "category", "severity", "financing_id", "voucher_id",
                    "invoice_no", "bill_ref", "waybill_no", "detail", "evidence", "first_seen_date")
STATUS_COLUMNS = ("financing_id", "verdict", "check_ids", "bank_code", "product", "applicant_uscc", "debtor_uscc",
                  "financed_amount", "status", "verdict_since")
_DATE_COLUMNS = frozenset({"business_date", "first_seen_date", "verdict_since"})
_COMPUTED = {"financed_amount": "yuan(financed_amount_fen)"}  # exact yuan text from fen


def night_report_dir(home: Path, business_date: dt.date) -> Path:
    """``<home>/reports/<date>/``, created if missing."""
    folder = home / "reports" / business_date.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_csv_reports(con: duckdb.DuckDBPyConnection, home: Path, business_date: dt.date,
                      written: Callable[[Path], object] = lambda path: None) -> list[Path]:
    """Write ``findings.csv`` and ``financing_status.csv`` of a night, and beside each its
    :func:`excel_variant`; return their paths (``written`` is called with each as it is done).

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
        f"SELECT {_select_list(FINDINGS_COLUMNS)} FROM findings t WHERE business_date = ? "
        f"ORDER BY {severity_rank_sql('t.severity')}, t.check_id, t.financing_id NULLS LAST, t.finding_id",
        business_date,
        findings,
    )
    written(findings)
    _copy(
        con,
        f"SELECT {_select_list(STATUS_COLUMNS)} FROM financing_verdicts t WHERE business_date = ? "
        f"ORDER BY {verdict_rank_sql('t.verdict')}, t.financing_id",
        business_date,
        status,
    )
    written(status)
    paths = [findings, status]
    for path in (findings, status):
        paths.append(excel_variant(path))
        written(paths[-1])
    return paths


#: How many files :func:`write_csv_reports` writes (a CSV and its twin for findings and verdicts).
CSV_REPORT_FILES = 4


EXCEL_SUFFIX = "_excel"
UTF8_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 20


def excel_variant(path: Path) -> Path:
    """``<name>_excel.csv`` beside ``<name>.csv``: the same bytes after a UTF-8 byte-order mark, so
    that Excel (a Chinese Windows Excel included) opens it by a double click as UTF-8, not as
    GBK.  The file of OUTPUTS.md itself stays without a BOM for the systems that read it."""
    target = path.with_name(path.stem + EXCEL_SUFFIX + path.suffix)
    tmp = target.with_suffix(".csv.part")
    with path.open("rb") as source, tmp.open("wb") as out:
        out.write(UTF8_BOM)
        shutil.copyfileobj(source, out, _CHUNK)
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


def spreadsheet_safe_sql(expr: str) -> str:
    """The SQL of :func:`spreadsheet_safe` applied to the text expression ``expr`` (NULL stays NULL)."""
    starts = ", ".join(str(ord(c)) for c in _FORMULA_START)  # ascii(): the first character's code point
    return (f"CASE WHEN ascii({expr}) IN ({starts}) THEN CASE WHEN regexp_full_match({expr}, '{_PLAIN_NUMBER.pattern}') "
            f"THEN {expr} ELSE chr(39) || {expr} END ELSE {expr} END")


def _select_list(columns: tuple[str, ...]) -> str:
    """A report's select list: each text column made spreadsheet-safe, the dates as they are.  The
    outputs keep the columns' names: a report orders by the table's columns (``t.``), not by them."""
    return ", ".join(
        column if column in _DATE_COLUMNS else f"{spreadsheet_safe_sql(_COMPUTED.get(column, column))} AS {column}"
        for column in columns
    )


def _copy(con: duckdb.DuckDBPyConnection, query: str, day: dt.date, target: Path) -> None:
    """Write the query's rows with a header by DuckDB's ``COPY``, through a temporary file renamed
    over ``target``: UTF-8, ``,`` between fields, ``\\n`` after each row; NULL empty, an empty text
    ``""``, a text holding a delimiter, quote or line break quoted with its quotes doubled.  The
    date is a query parameter, nothing from the data is pasted into SQL."""
    tmp = target.with_suffix(".csv.part")
    path = str(tmp).replace("'", "''")
    con.execute(f"COPY ({query}) TO '{path}' (FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"', ESCAPE '\"', "
                "NEW_LINE '\\n')", [day])
    tmp.replace(target)
