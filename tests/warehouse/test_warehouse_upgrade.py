"""A warehouse made before the waybill layouts and the wider unit prices opens, upgraded in
place: nothing it held is lost, and new rows load."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import duckdb
import pyarrow as pa

from tests.factories import insert
from warehouse.connection import Warehouse
from warehouse.registry import create_table
from warehouse.schemas import PARSED

DAY = dt.date(2026, 11, 20)


def test_an_earlier_warehouse_is_upgraded_without_loss(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    waybills, lines = PARSED["waybills"], PARSED["tax_invoice_lines"]
    old_waybills = replace(waybills, columns=tuple(c for c in waybills.columns if c.name not in ("origin_region", "layout")))
    old_lines = replace(lines, columns=tuple(replace(c, type=pa.decimal128(24, 8)) if c.name == "unit_price" else c
                                             for c in lines.columns))
    con = duckdb.connect(str(path))
    create_table(con, old_waybills)
    create_table(con, old_lines)
    con.execute("INSERT INTO waybills (business_date, src_sha256, src_pos, waybill_no) VALUES (?, 'a', 1, 'SD1')", [DAY])
    con.execute("INSERT INTO tax_invoice_lines (business_date, src_sha256, src_pos, invoice_no, unit_price) "
                "VALUES (?, 'b', 1, '26320000000000012345', 1.12345678)", [DAY])
    con.close()
    with Warehouse(path) as wh:
        insert(wh, "waybills", DAY, waybill_no="SD2", layout="2015WCCYR")
        insert(wh, "tax_invoice_lines", DAY, invoice_no="26320000000000012346", unit_price=Decimal("990.0990099010"))
        assert wh.con.execute("SELECT waybill_no, layout FROM waybills ORDER BY 1").fetchall() == [
            ("SD1", None), ("SD2", "2015WCCYR")]
        assert wh.con.execute("SELECT unit_price FROM tax_invoice_lines ORDER BY 1").fetchall() == [
            (Decimal("1.12345678"),), (Decimal("990.0990099010"),)]
