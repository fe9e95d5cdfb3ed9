"""findings.csv and financing_status.csv are written by DuckDB's COPY: every awkward text a
delivered row can carry comes out as the contract's CSV (quoting, NULL vs empty, formula
neutralising, exact yuan, ordering), the rows read back as they were stored."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from reconciliation.reports import spreadsheet_safe, spreadsheet_safe_sql, write_csv_reports
from warehouse.connection import Warehouse

D1 = dt.date(2026, 11, 20)
AWKWARD = ("", "plain", "a,b", 'say "hi"', "two\nlines", "cr\rhere", " spaced ", "=1+1", "+cmd|' /C calc'!A0",
           "@SUM(1)", "-2+3", "-1234.56", "\tx", "\rx", "中文，逗号", "NULL", "\\N", "'quoted'", "é")


def _cell(value: object) -> str:
    """The contract's CSV field, as the Python writer the COPY replaced wrote it (the oracle)."""
    if value is None:
        return ""
    text = spreadsheet_safe(value) if isinstance(value, str) else str(value)
    if isinstance(value, str) and (not text or any(c in text for c in ',"\n\r')):
        return '"' + text.replace('"', '""') + '"'
    return text


@pytest.fixture
def night(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        for n, text in enumerate(AWKWARD):
            wh.con.execute(
                "INSERT INTO findings BY NAME SELECT ? AS business_date, ? AS finding_id, 'CHECK_X' AS check_id, "
                "'fake_trade' AS category, ? AS severity, ? AS financing_id, ? AS detail, ? AS evidence, "
                "? AS first_seen_date",
                [D1, f"FND-{n:02d}", ("critical", "low", "medium", "high")[n % 4], text, text or "-", None if n % 3 else text,
                 D1 - dt.timedelta(days=n)])
            wh.con.execute(
                "INSERT INTO financing_verdicts BY NAME SELECT ? AS business_date, ? AS financing_id, ? AS verdict, "
                "? AS check_ids, ? AS bank_code, ? AS financed_amount_fen, ? AS verdict_since, false AS dropped",
                [D1, f"F{n:02d}{text}", ("clean", "blocked", "closed", "review")[n % 4], text,
                 None if n % 5 == 0 else text, (None, 0, 5, -7, 123_456_789_01, -100)[n % 6], D1])
        yield wh, tmp_path / "home"


def _expected(wh: Warehouse, sql: str, header: list[str]) -> str:
    rows = wh.con.execute(sql, [D1]).fetchall()
    return "".join(",".join(map(_cell, row)) + "\n" for row in [tuple(header), *rows])


def test_csvs_are_the_contracts_bytes_for_awkward_texts(night):
    wh, home = night
    findings, status, *_ = write_csv_reports(wh.con, home, D1)
    columns = ["finding_id", "business_date", "check_id", "category", "severity", "financing_id", "voucher_id",
               "invoice_no", "bill_ref", "waybill_no", "detail", "evidence", "first_seen_date"]
    rank = "CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END"
    assert findings.read_bytes().decode("utf-8") == _expected(
        wh, f"SELECT {', '.join(columns)} FROM findings WHERE business_date = ? "
            f"ORDER BY {rank}, check_id, financing_id NULLS LAST, finding_id", columns)
    columns = ["financing_id", "verdict", "check_ids", "bank_code", "product", "applicant_uscc", "debtor_uscc",
               "financed_amount", "status", "verdict_since"]
    yuan = ("CASE WHEN financed_amount_fen IS NULL THEN NULL ELSE "
            "(CASE WHEN financed_amount_fen < 0 THEN '-' ELSE '' END) || (abs(financed_amount_fen) // 100)::VARCHAR "
            "|| '.' || lpad((abs(financed_amount_fen) % 100)::VARCHAR, 2, '0') END")
    order = "CASE verdict WHEN 'blocked' THEN 0 WHEN 'review' THEN 1 WHEN 'clean' THEN 2 ELSE 3 END, financing_id"
    assert status.read_bytes().decode("utf-8") == _expected(
        wh, f"SELECT {', '.join(columns[:7])}, {yuan}, status, verdict_since FROM financing_verdicts "
            f"WHERE business_date = ? ORDER BY {order}", columns)
    read = {r["financing_id"]: r for r in csv.DictReader(io.StringIO(status.read_bytes().decode("utf-8"), newline=""))}
    assert [read[f]["financed_amount"] for f in ("F00", "F01plain", "F02a,b", 'F03say "hi"', "F04two\nlines")] == [
        "", "0.00", "0.05", "-0.07", "123456789.01"]


@pytest.mark.parametrize("text", [*AWKWARD, None])
def test_the_sql_neutraliser_is_the_python_one(text):
    import duckdb

    got = duckdb.connect().execute(f"SELECT {spreadsheet_safe_sql('$1::VARCHAR')}", [text]).fetchone()[0]
    assert got == (None if text is None else spreadsheet_safe(text))
