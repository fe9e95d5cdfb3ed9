"""Names beside codes: the party master's latest valid name first, else the latest invoice's,
looked up only for the parties a report shows."""

from __future__ import annotations

import datetime as dt

from tests.factories import insert
from warehouse.connection import Warehouse
from worklist.names import create_party_names

D1, D2, D3 = dt.date(2026, 11, 20), dt.date(2026, 11, 21), dt.date(2026, 11, 22)
A, B, C, D = "91320500MA1X000024", "91440300MA5F00001A", "91110000MA00000001", "91310000MA00000002"


def test_master_first_then_the_latest_invoice_for_the_wanted_parties_only(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        insert(wh, "parties", D1, uscc=A, name="甲旧名", valid_from=D1)
        insert(wh, "parties", D2, uscc=A, name="甲公司", valid_from=D2)
        insert(wh, "parties", D2, uscc=A, name="甲将来", valid_from=D3)  # not valid yet on D2
        insert(wh, "parties", D2, uscc=C, name="", valid_from=D1)  # an empty name names nobody
        insert(wh, "tax_invoices", D1, invoice_no="1", seller_uscc=A, seller_name="甲发票名", buyer_uscc=B,
               buyer_name="乙旧")
        insert(wh, "tax_invoices", D2, invoice_no="2", seller_uscc=C, seller_name="丙公司", buyer_uscc=B,
               buyer_name="乙公司")
        insert(wh, "tax_invoices", D3, invoice_no="3", seller_uscc=D, seller_name="丁公司", buyer_uscc=B,
               buyer_name="乙以后")  # after the night
        create_party_names(wh.con, D2, f"SELECT unnest(['{A}', '{B}', '{C}', NULL])")
        names = dict(wh.con.execute("SELECT uscc, name FROM party_names").fetchall())
    assert names == {A: "甲公司", B: "乙公司", C: "丙公司"}
