"""The files of OUTPUTS.md the back office receives each night: findings and verdicts."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from reconciliation import standing
from reconciliation.check import severity_rank_sql
from reconciliation.findings import verdict_rank_sql

#: The columns of findings.csv and financing_status.csv (OUTPUTS.md), in their order.
FINDINGS_COLUMNS = ("finding_id", "business_date", "check_id", "category", "severity", "financing_id", "voucher_id",
                    "invoice_no", "bill_ref", "waybill_no", "detail", "evidence", "first_seen_date")
STATUS_COLUMNS = ("financing_id", "verdict", "check_ids", "bank_code", "product", "applicant_uscc", "debtor_uscc",
                  "financed_amount", "status", "verdict_since")
_DATE_COLUMNS = frozenset({"business_date", "first_seen_date", "verdict_since"})
_YUAN = {"financed_amount": "financed_amount_fen"}  # a column written as exact yuan text from the fen column


def night_report_dir(home: Path, business_date: dt.date) -> Path:
    """``<home>/reports/<date>/``, created if missing."""
    folder = home / "reports" / business_date.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass(frozen=True)
class CsvReport:
    """One contract CSV of a night (OUTPUTS.md): its file, the columns and the table it lists,
    in a fixed order so that a re-run of the same night writes byte-identical files."""

    file_name: str
    columns: tuple[str, ...]
    source: Callable[[duckdb.DuckDBPyConnection, dt.date], str]  # a FROM item of the night: a table, or an as-of reader
    order_by: str

    def query(self, con: duckdb.DuckDBPyConnection, business_date: dt.date) -> str:
        """The rows of night ``business_date`` (``$1``), in the file's order."""
        return (f"SELECT {_select_list(self.columns)} FROM {self.source(con, business_date)} t WHERE business_date = $1 "
                f"ORDER BY {self.order_by}")


def _verdicts_of_the_night(con: duckdb.DuckDBPyConnection, business_date: dt.date) -> str:
    """The verdicts as of the night (stored as changes): the standing table when it is of that night, as it is
    once the night's findings are stored, else the window over every row (:func:`standing.verdicts_as_of`)."""
    return f"({standing.verdicts_as_of(con, business_date)})"


CSV_REPORTS: tuple[CsvReport, ...] = (
    CsvReport("findings.csv", FINDINGS_COLUMNS, lambda con, night: "findings",
              f"{severity_rank_sql('t.severity')}, t.check_id, t.financing_id NULLS LAST, t.finding_id"),
    CsvReport("financing_status.csv", STATUS_COLUMNS, _verdicts_of_the_night, f"{verdict_rank_sql('t.verdict')}, t.financing_id"),
)
#: How many files :func:`write_csv_reports` writes: each report and its :func:`excel_variant`.
CSV_REPORT_FILES = 2 * len(CSV_REPORTS)


def write_csv_reports(con: duckdb.DuckDBPyConnection, home: Path, business_date: dt.date,
                      written: Callable[[Path], object] = lambda path: None) -> list[Path]:
    """Write every :data:`CSV_REPORTS` file of a night (``findings.csv``, ``financing_status.csv``),
    then beside each its :func:`excel_variant`; return their paths (``written`` is called with each
    as it is done).  Temporary ``*.part`` files a killed run left under ``reports/`` are removed first.
    """
    for stale in (home / "reports").glob("*/*.part"):  # left by a killed run; one night runs at a time
        stale.unlink()
    folder = night_report_dir(home, business_date)
    paths = []
    for report in CSV_REPORTS:
        path = folder / report.file_name
        _copy(con, report.query(con, business_date), business_date, path)
        written(path)
        paths.append(path)
    for path in list(paths):
        paths.append(excel_variant(path))
        written(paths[-1])
    return paths


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
    """A report's select list: each text column made spreadsheet-safe, the dates as they are, an amount
    as yuan text (``-?digits.digits``: a plain number, which :func:`spreadsheet_safe` leaves as it is, so it
    is not tested row by row: ~10 % of the CPU of a 955k-row financing_status.csv).  The outputs keep the
    columns' names: a report orders by the table's columns (``t.``), not by them."""
    return ", ".join(
        column if column in _DATE_COLUMNS else f"yuan({_YUAN[column]}) AS {column}" if column in _YUAN
        else f"{spreadsheet_safe_sql(column)} AS {column}"
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
