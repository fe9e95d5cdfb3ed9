"""The consistency frames know what the as-of views know, without ranking every version of history."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from quality.suites import CONSISTENCY
from tests.factories import insert
from warehouse.asof import create_asof_views
from warehouse.connection import Warehouse

D1, D2, D3 = dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 3)
CORE = "91320500MA1X000024"


def _with_views(frame_sql: str) -> str:
    """The frame as it read before: each history side from the ``cur_*`` view (the oracle)."""
    return (frame_sql
            .replace("FROM tax_invoices WHERE business_date <= $day AND invoice_no IN "
                     "(SELECT invoice_no FROM financing_invoices WHERE business_date = $day)", "FROM cur_tax_invoices")
            .replace("FROM erp_po_items WHERE business_date <= $day", "FROM cur_erp_po_items WHERE true"))


KNOWN_VOUCHERS_BY_VIEW = ("SELECT e.voucher_id, v.voucher_id AS known_voucher_id, e.src_sha256, e.src_pos FROM voucher_events e "
                          "LEFT JOIN (SELECT DISTINCT voucher_id FROM cur_voucher_events WHERE event_type IN ('ISSUE', 'SPLIT')) v "
                          "USING (voucher_id) WHERE e.business_date = $day ORDER BY e.src_sha256, e.src_pos")


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    w = Warehouse(tmp_path / "warehouse.duckdb")
    # an ISSUE restated as a TRANSFER: its voucher is no longer known; another's voucher restated away and back
    insert(w, "voucher_events", D1, event_id="E1", event_type="ISSUE", voucher_id="V1")
    insert(w, "voucher_events", D2, event_id="E1", event_type="TRANSFER", voucher_id="V1")
    insert(w, "voucher_events", D1, event_id="E2", event_type="SPLIT", voucher_id="V2")
    insert(w, "voucher_events", D2, event_id="E2", event_type="SPLIT", voucher_id="V2X")
    insert(w, "voucher_events", D1, event_id="E3", event_type="ISSUE", voucher_id="V3")
    insert(w, "voucher_events", D3, event_id="E3", event_type="ISSUE", voucher_id="V4")
    for voucher in ("V1", "V2", "V2X", "V3", "V4", "V5"):
        insert(w, "voucher_events", D3, event_id=f"T-{voucher}", event_type="TRANSFER", voucher_id=voucher)
    insert(w, "tax_invoices", D1, invoice_no="INV1")
    insert(w, "tax_invoices", D3, invoice_no="INV1")
    insert(w, "tax_invoices", D3, invoice_no="INV2")
    insert(w, "erp_po_items", D1, core_uscc=CORE, ebeln="PO1", ebelp="10")
    for night in (D2, D3):
        for invoice_no in ("INV1", "INV2", "INV3", None):
            insert(w, "financing_invoices", night, financing_id=f"F-{invoice_no}", invoice_no=invoice_no)
        for ebeln, ebelp in (("PO1", "10"), ("PO1", "20"), ("PO2", "10")):
            insert(w, "erp_goods_receipts", night, core_uscc=CORE, mblnr=f"M{ebeln}{ebelp}", mjahr="2026", zeile="1",
                   ebeln=ebeln, ebelp=ebelp)
        for waybill_no, po_no in (("W1", "PO1"), ("W2", "PO2"), ("W3", None)):
            insert(w, "waybills", night, carrier_uscc=CORE, waybill_no=waybill_no, po_no=po_no, consignee_uscc=CORE)
    return w


@pytest.mark.parametrize("night", [D1, D2, D3])
def test_each_frame_gives_the_rows_the_as_of_views_give(warehouse: Warehouse, night: dt.date) -> None:
    con = warehouse.con
    create_asof_views(con, night)
    for frame, column in CONSISTENCY:
        oracle = KNOWN_VOUCHERS_BY_VIEW if frame.source == "voucher_events" else _with_views(frame.sql)
        assert oracle != frame.sql
        day = f"DATE '{night.isoformat()}'"
        rows = sorted(con.execute(frame.sql.replace("$day", day)).fetchall(), key=repr)
        assert rows == sorted(con.execute(oracle.replace("$day", day)).fetchall(), key=repr), (frame.source, column)
    if night == D3:
        known = {row[0]: row[1] for row in con.execute(CONSISTENCY[1][0].sql.replace("$day", f"DATE '{night.isoformat()}'")).fetchall()}
        assert known == {"V1": None, "V2": None, "V2X": "V2X", "V3": None, "V4": "V4", "V5": None}
