"""CSV for Excel: the CSVs of OUTPUTS.md stay as they are (no BOM) and each gets a UTF-8-BOM
twin a Chinese Excel opens correctly by a double click."""

from __future__ import annotations

import csv
import datetime as dt
import io

from reconciliation.reports import CSV_REPORT_FILES, write_csv_reports
from tests.factories import financing, invoice
from tests.trade_factories import run_trade_catalogue
from warehouse.connection import Warehouse

D1 = dt.date(2026, 11, 20)


def test_each_csv_has_a_bom_twin_with_the_same_rows(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        invoice(wh, D1, "26320000000000000001", 10_000_00)
        financing(wh, D1, "F-苏州-1", "INVOICE", invoices={"26320000000000000001": 20_000_00})
        run_trade_catalogue(wh, D1)
        done: list = []
        paths = write_csv_reports(wh.con, tmp_path, D1, done.append)
    assert done == paths and len(paths) == CSV_REPORT_FILES  # each file counted on the stage's progress as it is written
    assert [p.name for p in paths] == ["findings.csv", "financing_status.csv", "findings_excel.csv",
                                       "financing_status_excel.csv"]
    for plain, excel in zip(paths[:2], paths[2:], strict=True):
        data = plain.read_bytes()
        assert not data.startswith(b"\xef\xbb\xbf") and excel.read_bytes() == b"\xef\xbb\xbf" + data
        rows = list(csv.DictReader(io.StringIO(excel.read_text("utf-8-sig"))))
        assert rows == list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert "F-苏州-1" in paths[3].read_text("utf-8-sig")
    assert list(csv.reader(io.StringIO(paths[0].read_text("utf-8"))))[0][:3] == ["finding_id", "business_date",
                                                                                "check_id"]
