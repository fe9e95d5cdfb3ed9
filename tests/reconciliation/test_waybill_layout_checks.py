"""The four-flow match and the waybill checks use what a waybill's layout carries: a 2015WCCYR
waybill names its parties by name and region and carries no quantity; a missing field is never
a mismatch, a name or region that differs is."""

from __future__ import annotations

import datetime as dt

from tests.reconciliation.test_trade_checks import findings_of, fired, verdicts_of
from tests.trade_factories import (
    Trade,
    deep_trade,
    make_uscc,
    run_trade_catalogue,
    tier1_trade,
)
from warehouse.asof import matches_as_of_sql
from warehouse.connection import Warehouse

D1 = dt.date(2026, 11, 19)
CORE = make_uscc("440305")
OTHER_CORE = make_uscc("500112")
SUPPLIER = make_uscc("320506")
SUPPLIER_2 = make_uscc("320507")
SUB = make_uscc("320111")


def name_of(uscc: str) -> str:
    """A registered name per party (the invoices and the waybills spell it alike)."""
    return f"测试{uscc[10:17]}有限公司"


def named_invoices(wh: Warehouse) -> None:
    """Give every invoice its parties' names, as real 数电票 carry them."""
    for (no, seller, buyer) in wh.con.execute("SELECT invoice_no, seller_uscc, buyer_uscc FROM tax_invoices").fetchall():
        wh.con.execute("UPDATE tax_invoices SET seller_name = ?, buyer_name = ? WHERE invoice_no = ?",
                       [name_of(seller), name_of(buyer), no])


def as_2015wccyr(wh: Warehouse, trade: Trade, *, consignee_name: str | None = None,
                 origin_region: str | None = None) -> None:
    """Turn a trade's waybills into what a 2015WCCYR carrier sends: no party USCCs, no quantity,
    parties by name (spelt with full-width brackets and spaces) and division code."""
    for no in trade.waybill_nos:
        consignor, consignee = wh.con.execute(
            "SELECT consignor_uscc, consignee_uscc FROM waybills WHERE waybill_no = ?", [no]).fetchone()
        wh.con.execute(
            "UPDATE waybills SET layout = '2015WCCYR', consignor_uscc = NULL, consignee_uscc = NULL, quantity = NULL,"
            " consignor_name = ?, consignee_name = ?, origin_region = ?, region_code = ? WHERE waybill_no = ?",
            [" " + name_of(consignor).replace("有限", "（有限）"), consignee_name or name_of(consignee),
             origin_region or consignor[2:8], consignee[2:8], no])


def test_clean_trades_with_2015wccyr_waybills_stay_clean(wh):
    t1 = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER)
    t2 = deep_trade(wh, D1, core=CORE, holder=SUPPLIER, seller=SUB, parent_voucher=t1.voucher_id, remark=True)
    unkeyed = deep_trade(wh, D1, core=CORE, holder=SUPPLIER, seller=make_uscc("320111"),
                         parent_voucher=t1.voucher_id)
    split = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER_2, waybills=[(50, "3"), (30, "3"), (20, "3")])
    named_invoices(wh)
    for trade in (t1, t2, unkeyed, split):
        as_2015wccyr(wh, trade)
    run_trade_catalogue(wh, D1)
    assert findings_of(wh, D1) == []
    assert set(verdicts_of(wh, D1).values()) == {"clean"}
    matches = wh.con.execute(
        f"SELECT financing_id, waybill_outcome, waybill_quantity FROM ({matches_as_of_sql()})",
        [D1]).fetchall()
    assert {(f, o, q) for f, o, q in matches} == {(t.financing_id, "matched", None) for t in (t1, t2, unkeyed, split)}


def test_a_2015wccyr_waybill_to_another_party_is_found_by_name(wh):
    elsewhere = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER)
    named_invoices(wh)
    as_2015wccyr(wh, elsewhere, consignee_name="重庆另一家公司")
    run_trade_catalogue(wh, D1)
    [finding] = findings_of(wh, D1, "TRADE_WAYBILL_QTY_MISMATCH")
    assert "delivered elsewhere" in finding["detail"] and "重庆另一家公司" in finding["detail"]


def test_a_2015wccyr_waybill_from_another_region_does_not_evidence_an_unstated_trade(wh):
    t1 = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER)
    unkeyed = deep_trade(wh, D1, core=CORE, holder=SUPPLIER, seller=SUB, parent_voucher=t1.voucher_id)
    named_invoices(wh)
    as_2015wccyr(wh, unkeyed, origin_region="110105")  # the seller is registered in 320111
    run_trade_catalogue(wh, D1)
    assert ("TRADE_NO_WAYBILL", unkeyed.financing_id) in fired(wh, D1)


def test_a_2015wccyr_waybill_not_signed_for_is_not_received(wh):
    transit = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER, waybills=[(100, "2")])
    named_invoices(wh)
    as_2015wccyr(wh, transit)
    run_trade_catalogue(wh, D1)
    got = fired(wh, D1)
    assert ("TRADE_WAYBILL_NOT_RECEIVED", transit.financing_id) in got
    assert ("TRADE_WAYBILL_QTY_MISMATCH", transit.financing_id) not in got
