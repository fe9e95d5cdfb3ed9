"""The trade checks on hand-built histories: each fraud is found, each look-alike is not."""

from __future__ import annotations

import datetime as dt
import json
import re
from importlib import resources

import pytest
from stdnum.cn import uscc as stdnum_uscc

from reconciliation import catalogue
from reconciliation.check import Category, Family, Severity
from tests.factories import delivered, quarantined
from tests.trade_factories import (
    deep_trade,
    financed_by,
    invoice_number,
    make_uscc,
    payable,
    run_trade_catalogue,
    tier1_trade,
    trade_invoice,
    voucher_event,
    waybill,
)
from warehouse.asof import verdicts_as_of_sql
from warehouse.connection import Warehouse

D1 = dt.date(2026, 11, 19)
D2 = dt.date(2026, 11, 20)
CORE = make_uscc("440305")
OTHER_CORE = make_uscc("500112")
SUPPLIER = make_uscc("320506")
SUPPLIER_2 = make_uscc("320507")
SUB = make_uscc("320111")



def findings_of(wh: Warehouse, day: dt.date, check_id: str | None = None) -> list[dict]:
    cur = wh.con.execute(
        "SELECT * FROM findings WHERE business_date = ? AND (? IS NULL OR check_id = ?) ORDER BY financing_id, finding_id",
        [day, check_id, check_id])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def fired(wh: Warehouse, day: dt.date) -> set[tuple[str, str]]:
    """(check_id, financing_id) of every finding of the night."""
    return {(f["check_id"], f["financing_id"]) for f in findings_of(wh, day)}


def verdicts_of(wh: Warehouse, day: dt.date) -> dict[str, str]:
    return dict(wh.con.execute(
        f"SELECT financing_id, verdict FROM ({verdicts_as_of_sql()})", [day]).fetchall())


def evidence(finding: dict) -> dict:
    return json.loads(finding["evidence"])


# ---- the catalogue ------------------------------------------------------------------------------
TRADE_CHECKS = catalogue.CATALOGUE.of(Family.TRADE)


def test_trade_checks_are_well_formed():
    assert {c.check_id for c in TRADE_CHECKS} == {
        "TRADE_NO_PAYABLE", "TRADE_NO_WAYBILL", "TRADE_WAYBILL_NOT_RECEIVED", "TRADE_WAYBILL_REJECTED",
        "TRADE_WAYBILL_QTY_MISMATCH", "TRADE_WAYBILL_OVERUSED", "TRADE_TIMELINE_BROKEN", "TRADE_PARTY_MISMATCH",
        "TRADE_INVALID_USCC", "TRADE_CIRCULAR", "TRADE_TOTALS_INCONSISTENT", "DUP_INVOICE_REISSUED",
        "MATCH_AMBIGUOUS"}
    severities = {c.check_id: c.severity for c in TRADE_CHECKS}
    assert severities["TRADE_WAYBILL_REJECTED"] == severities["DUP_INVOICE_REISSUED"] == Severity.CRITICAL
    assert severities["MATCH_AMBIGUOUS"] == Severity.MEDIUM
    assert catalogue.BY_ID["DUP_INVOICE_REISSUED"].category == Category.DUPLICATE


def test_trade_parameters_share_names_with_the_catalogue():
    params = catalogue.default_params()
    assert params["amount_tolerance_fen"] == 100 and params["amount_tolerance_ratio_ppm"] == 1000
    assert "TRADE_CIRCULAR" in catalogue.catalogue_markdown()


def test_every_parameter_the_match_and_checks_read_has_a_default():
    folder = resources.files("reconciliation.sql")
    used: set[str] = set()
    for name in ("match_macros.sql", "match_trades.sql", "_prelude_trade.sql"):
        used |= set(re.findall(r"getvariable\('(\w+)'\)", folder.joinpath(name).read_text("utf-8")))
    assert used - {"business_date"} <= set(catalogue.default_params())


# ---- clean trades -----------------------------------------------------------------------------
def test_clean_trades_of_every_tier_are_clean(wh):
    t1 = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER)
    t2 = deep_trade(wh, D1, core=CORE, holder=SUPPLIER, seller=SUB, parent_voucher=t1.voucher_id, remark=True)
    split = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER_2, waybills=[(50, "3"), (30, "3"), (20, "3")])
    run_trade_catalogue(wh, D1)
    assert findings_of(wh, D1) == []
    assert verdicts_of(wh, D1) == {t1.financing_id: "clean", t2.financing_id: "clean", split.financing_id: "clean"}


def test_voucher_split_into_children_each_financed_once_is_clean(wh):
    parent = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER)
    for n, part in enumerate((30_000_00, 40_000_00), start=1):
        child = f"V00000000000000c{n}"
        voucher_event(wh, D1, f"EVS{n}", "SPLIT", child, issuer=CORE, from_uscc=SUPPLIER, to_uscc=SUPPLIER,
                      amount_fen=part, when=D1 - dt.timedelta(days=3), parent=parent.voucher_id)
        financed_by(wh, D1, f"FC{n}", "VOUCHER", invoices={parent.invoice_no: part}, voucher=child,
                    applicant=SUPPLIER, debtor=CORE, value_date=D1, face_fen=part, bank="105100000017")
    wh.con.execute("UPDATE financings SET status = 'CANCELLED' WHERE financing_id = ?", [parent.financing_id])
    run_trade_catalogue(wh, D1)
    assert findings_of(wh, D1) == []
    assert verdicts_of(wh, D1)["FC1"] == verdicts_of(wh, D1)["FC2"] == "clean"


# ---- payables -----------------------------------------------------------------------------------
def test_tier1_invoice_without_payable(wh):
    bad = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER, with_payable=False)
    rounded = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER_2, with_payable=False)
    payable(wh, D1, CORE, "5199999999", invoice_no=rounded.invoice_no, amount_fen=rounded.total_fen - 99,
            posted=D1 - dt.timedelta(days=3), lifnr="0000999999")  # 抹零: ¥0.99 short, within ¥1
    half = tier1_trade(wh, D1, core=CORE, seller=make_uscc(), with_payable=False)
    payable(wh, D1, CORE, "5199999998", invoice_no=half.invoice_no, amount_fen=half.total_fen // 2,
            posted=D1 - dt.timedelta(days=3), lifnr="0000999998")
    deep_trade(wh, D1, core=CORE, holder=SUPPLIER, seller=SUB, parent_voucher=bad.voucher_id)  # no ERP at tier 2
    run_trade_catalogue(wh, D1)
    found = {f["financing_id"]: f for f in findings_of(wh, D1, "TRADE_NO_PAYABLE")}
    assert set(found) == {bad.financing_id, half.financing_id}
    assert "has no payable citing it" in found[bad.financing_id]["detail"]
    assert "confirm only ¥56500.00" in found[half.financing_id]["detail"]
    assert verdicts_of(wh, D1)[rounded.financing_id] == "clean"


def test_payable_pending_while_the_cores_erp_has_not_delivered(wh):
    """The core's ERP delivered on D1 but not on D2: a payable missing on D2 may be in the
    late export, so the finding is pending (review), not fraud; its control, whose core
    delivered both nights, stands."""
    late_core = make_uscc("440306")
    ap_file = f"erp/{late_core}/ap_open_items.csv"
    delivered(wh, D1, ap_file, f"erp/{CORE}/ap_open_items.csv", "tax/a.xml", "logistics/91440300MA5F00004K/w.xml")
    delivered(wh, D2, f"erp/{CORE}/ap_open_items.csv", "tax/a.xml", "logistics/91440300MA5F00004K/w.xml")
    waiting = tier1_trade(wh, D2, core=late_core, seller=SUPPLIER, with_payable=False)
    ghost = tier1_trade(wh, D2, core=late_core, seller=make_uscc(), with_payable=False)
    missing = tier1_trade(wh, D2, core=CORE, seller=SUPPLIER_2, with_payable=False)
    run_trade_catalogue(wh, D2)
    found = {f["financing_id"]: f for f in findings_of(wh, D2, "TRADE_NO_PAYABLE")}
    assert found[missing.financing_id]["severity"] == "high"
    assert found[ghost.financing_id]["severity"] == "medium"
    pending = found[waiting.financing_id]
    assert pending["severity"] == "medium"
    assert pending["detail"].startswith(
        f"Evidence pending since {D2}: awaited from {ap_file} ({ap_file} has not been delivered since {D1})")
    assert evidence(pending)["pending"] is True
    assert verdicts_of(wh, D2) == {waiting.financing_id: "review", ghost.financing_id: "review",
                                   missing.financing_id: "blocked"}
    # The export arrives a night late, with the payable: the financing is clean; the late export
    # brings no payable for the other one, which is no longer pending but missing.
    d3 = D2 + dt.timedelta(days=1)
    delivered(wh, d3, ap_file, f"erp/{CORE}/ap_open_items.csv", "tax/a.xml", "logistics/91440300MA5F00004K/w.xml")
    payable(wh, d3, late_core, "5188888888", invoice_no=waiting.invoice_no, amount_fen=waiting.total_fen,
            posted=waiting.issued, lifnr="0000888888")
    run_trade_catalogue(wh, d3)
    assert verdicts_of(wh, d3)[waiting.financing_id] == "clean"
    assert verdicts_of(wh, d3)[ghost.financing_id] == "blocked"


@pytest.mark.parametrize("known_by", ["its purchase orders", "its vouchers only"])
def test_payable_of_a_core_whose_erp_never_sent_payables_is_pending_for_the_window(wh, known_by):
    """One rule from the first night: a core whose payables never arrived (its ERP sends only
    purchase orders, or nothing: it is known by the vouchers it issues) leaves the payable
    pending for the window, then the finding stands."""
    silent = make_uscc("440307")
    nightly = ["tax/a.xml", "logistics/91440300MA5F00004K/w.xml"]
    if known_by == "its purchase orders":
        nightly.append(f"erp/{silent}/po_items.csv")
    delivered(wh, D1, *nightly)
    trade = tier1_trade(wh, D1, core=silent, seller=SUPPLIER, with_payable=False,
                        with_po=known_by == "its purchase orders")
    run_trade_catalogue(wh, D1)
    (pending,) = findings_of(wh, D1, "TRADE_NO_PAYABLE")
    assert pending["severity"] == "medium"
    assert f"erp/{silent}/ap_open_items.csv has never been delivered" in pending["detail"]
    window_passed = D1 + dt.timedelta(days=7)
    delivered(wh, window_passed, *nightly)
    run_trade_catalogue(wh, window_passed)
    (stands,) = findings_of(wh, window_passed, "TRADE_NO_PAYABLE")
    assert stands["severity"] == "high" and verdicts_of(wh, window_passed)[trade.financing_id] == "blocked"


def test_waybill_pending_while_a_record_citing_the_order_is_quarantined(wh):
    carrier_file = "logistics/91440300MA5F00004K/w.xml"
    delivered(wh, D1, "tax/a.xml", carrier_file)
    quiet = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER, waybills=[])
    unread = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER_2, waybills=[])
    quarantined(wh, D1, carrier_file, src_pos=2,
                raw=f"<Body><OriginalDocumentNumber>{unread.ebeln}</OriginalDocumentNumber><Quantity>1OO</Quantity>")
    run_trade_catalogue(wh, D1)
    found = {f["financing_id"]: f["severity"] for f in findings_of(wh, D1, "TRADE_NO_WAYBILL")}
    assert found == {quiet.financing_id: "high", unread.financing_id: "medium"}


LATE_CARRIER = make_uscc("440304")
ON_TIME_CARRIER = "91440300MA5F00004K"  # the waybill factory's carrier


def _carriers_deliver(wh: Warehouse, day: dt.date, *carriers: str) -> None:
    delivered(wh, day, "tax/a.xml", f"erp/{CORE}/ap_open_items.csv", *(f"logistics/{c}/w.xml" for c in carriers))


def test_waybill_not_found_is_pending_while_a_carrier_has_not_delivered(wh):
    """Waybills are judged per carrier: one carrier late (another delivered) leaves a waybill not
    found pending, whichever carrier holds it; once every carrier has delivered, the finding stands."""
    _carriers_deliver(wh, D1, LATE_CARRIER, ON_TIME_CARRIER)
    _carriers_deliver(wh, D2, ON_TIME_CARRIER)
    awaited = tier1_trade(wh, D2, core=CORE, seller=SUPPLIER, waybills=[])
    run_trade_catalogue(wh, D2)
    (pending,) = findings_of(wh, D2, "TRADE_NO_WAYBILL")
    late = f"logistics/{LATE_CARRIER}/*.xml"
    assert pending["severity"] == "medium" and pending["category"] == "data_quality"
    assert pending["detail"].startswith(f"Evidence pending since {D2}: awaited from {late} "
                                        f"({late} has not been delivered since {D1})")
    assert evidence(pending)["awaited_sources"] == [late]
    d3 = D2 + dt.timedelta(days=1)
    _carriers_deliver(wh, d3, LATE_CARRIER, ON_TIME_CARRIER)  # the late carrier, without the waybill
    run_trade_catalogue(wh, d3)
    (stands,) = findings_of(wh, d3, "TRADE_NO_WAYBILL")
    assert stands["severity"] == "high" and verdicts_of(wh, d3)[awaited.financing_id] == "blocked"


def test_a_required_carrier_is_awaited_from_the_first_night(wh):
    """A carrier that has never delivered cannot be named by the data, but the configuration can
    require it (dq_required_sources): then a waybill not found is pending from the first night."""
    _carriers_deliver(wh, D1, ON_TIME_CARRIER)
    tier1_trade(wh, D1, core=CORE, seller=SUPPLIER, waybills=[])
    late = f"logistics/{LATE_CARRIER}/*.xml"
    run_trade_catalogue(wh, D1, params={"dq_required_sources": f"platform/financings.csv; {late}"})
    (pending,) = findings_of(wh, D1, "TRADE_NO_WAYBILL")
    assert pending["severity"] == "medium" and f"{late} has never been delivered" in pending["detail"]
    run_trade_catalogue(wh, D1)
    assert [f["severity"] for f in findings_of(wh, D1, "TRADE_NO_WAYBILL")] == ["high"]


def test_a_carrier_silent_beyond_the_window_is_no_longer_awaited(wh):
    _carriers_deliver(wh, D1 - dt.timedelta(days=8), LATE_CARRIER, ON_TIME_CARRIER)
    _carriers_deliver(wh, D2, ON_TIME_CARRIER)
    tier1_trade(wh, D2, core=CORE, seller=SUPPLIER, waybills=[])
    run_trade_catalogue(wh, D2)
    assert [f["severity"] for f in findings_of(wh, D2, "TRADE_NO_WAYBILL")] == ["high"]


def test_unsigned_waybill_is_pending_while_its_own_carrier_has_not_delivered(wh):
    """TRADE_WAYBILL_NOT_RECEIVED awaits the carrier holding the unsigned waybill: its late
    delivery may sign it (then clean); the same waybill at a carrier that did deliver is the
    real finding, and an unsigned waybill the late delivery does not sign stands."""
    _carriers_deliver(wh, D1, LATE_CARRIER, ON_TIME_CARRIER)
    _carriers_deliver(wh, D2, ON_TIME_CARRIER)
    signed_late = tier1_trade(wh, D2, core=CORE, seller=SUPPLIER, waybills=[])
    never_signed = tier1_trade(wh, D2, core=CORE, seller=SUPPLIER_2, waybills=[])
    for trade in (signed_late, never_signed):
        waybill(wh, D1, f"LC{trade.ebeln}", consignor=trade.seller, consignee=CORE, quantity=100,
                shipped=trade.issued - dt.timedelta(days=3), received=None, po_no=trade.ebeln, carrier=LATE_CARRIER)
    in_transit = tier1_trade(wh, D2, core=CORE, seller=make_uscc(), waybills=[(100, "2")])  # on-time carrier
    run_trade_catalogue(wh, D2)
    found = {f["financing_id"]: f for f in findings_of(wh, D2, "TRADE_WAYBILL_NOT_RECEIVED")}
    assert {k: f["severity"] for k, f in found.items()} == {
        signed_late.financing_id: "medium", never_signed.financing_id: "medium", in_transit.financing_id: "high"}
    late = f"logistics/{LATE_CARRIER}/*.xml"
    assert found[signed_late.financing_id]["detail"].startswith(f"Evidence pending since {D2}: awaited from {late} (")
    assert evidence(found[signed_late.financing_id])["pending_since"] == str(D2)
    assert verdicts_of(wh, D2)[signed_late.financing_id] == "review"
    d3 = D2 + dt.timedelta(days=1)
    _carriers_deliver(wh, d3, LATE_CARRIER, ON_TIME_CARRIER)
    waybill(wh, d3, f"LC{signed_late.ebeln}", consignor=SUPPLIER, consignee=CORE, quantity=100,
            shipped=signed_late.issued - dt.timedelta(days=3), received=signed_late.issued - dt.timedelta(days=1),
            po_no=signed_late.ebeln, carrier=LATE_CARRIER)
    run_trade_catalogue(wh, d3)
    found = {f["financing_id"]: f["severity"] for f in findings_of(wh, d3, "TRADE_WAYBILL_NOT_RECEIVED")}
    assert found == {never_signed.financing_id: "high", in_transit.financing_id: "high"}


# ---- receivables already paid -------------------------------------------------------------------
def test_receivable_cleared_on_or_before_the_value_date(wh):
    paid = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER)
    later = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER_2)
    factored = tier1_trade(wh, D1, core=CORE, seller=make_uscc(), finance=False)
    financed_by(wh, D1, "FINV", "INVOICE", invoices={factored.invoice_no: factored.total_fen},
                applicant=factored.seller, debtor=CORE, value_date=D1 - dt.timedelta(days=2))
    for trade, cleared in ((paid, D1 - dt.timedelta(days=2)), (later, D1 - dt.timedelta(days=1)),
                           (factored, D1 - dt.timedelta(days=3))):
        wh.con.execute("UPDATE erp_ap_items SET clearing_date = ?, clearing_doc = '1500000001' WHERE ap_ref = ?",
                       [cleared, trade.ap_ref])
    wh.con.execute("UPDATE financings SET value_date = ? WHERE financing_id = ?",
                   [D1 - dt.timedelta(days=2), later.financing_id])
    run_trade_catalogue(wh, D1)
    found = {(f["financing_id"], f["voucher_id"], f["invoice_no"]) for f in findings_of(wh, D1, "RECEIVABLE_ALREADY_PAID")}
    assert found == {(paid.financing_id, paid.voucher_id, None), ("FINV", None, factored.invoice_no)}
    assert verdicts_of(wh, D1)[later.financing_id] == "clean", "paid at maturity, after the value date"


def test_voucher_issued_on_a_payable_already_paid(wh):
    trade = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER, finance=False)
    wh.con.execute("UPDATE erp_ap_items SET clearing_date = ? WHERE ap_ref = ?", [trade.issued, trade.ap_ref])
    voucher_event(wh, D1, "EVPAID01", "ISSUE", "V00000000000000aa", issuer=CORE, from_uscc=CORE, to_uscc=SUPPLIER,
                  amount_fen=trade.total_fen, when=trade.issued + dt.timedelta(days=1),
                  invoices={trade.invoice_no: trade.total_fen}, ap_ref=trade.ap_ref)
    run_trade_catalogue(wh, D1)
    (found,) = findings_of(wh, D1, "RECEIVABLE_ALREADY_PAID")
    assert (found["financing_id"], found["voucher_id"]) == (None, "V00000000000000aa")
    assert "which the core's ERP shows paid on" in found["detail"]


# ---- waybills -----------------------------------------------------------------------------------
def test_no_waybill_then_the_waybill_arrives(wh):
    t1 = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER, waybills=[])
    t2 = deep_trade(wh, D1, core=CORE, holder=SUPPLIER, seller=SUB, parent_voucher=t1.voucher_id, remark=True,
                    waybills=[])
    run_trade_catalogue(wh, D1)
    found = {f["financing_id"]: f for f in findings_of(wh, D1, "TRADE_NO_WAYBILL")}
    assert set(found) == {t1.financing_id, t2.financing_id}
    assert f"none cites order {t1.ebeln}" in found[t1.financing_id]["detail"]
    assert verdicts_of(wh, D1)[t1.financing_id] == "blocked"
    waybill(wh, D2, "SD20261101777", consignor=SUPPLIER, consignee=CORE, quantity=100,
            shipped=D1 - dt.timedelta(days=19), received=D1 - dt.timedelta(days=17), po_no=t1.ebeln)
    run_trade_catalogue(wh, D2)
    assert ("TRADE_NO_WAYBILL", t1.financing_id) not in fired(wh, D2)
    since = wh.con.execute(f"SELECT verdict, verdict_since FROM ({verdicts_as_of_sql()}) WHERE financing_id = $2",
                           [D2, t1.financing_id]).fetchone()
    assert since == ("clean", D2)


def test_waybill_in_transit_and_rejected(wh):
    transit = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER, waybills=[(100, "2")])
    rejected = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER_2, waybills=[(100, "4")])
    partly = tier1_trade(wh, D1, core=CORE, seller=make_uscc(), waybills=[(70, "3"), (30, "2")])
    run_trade_catalogue(wh, D1)
    got = fired(wh, D1)
    assert ("TRADE_WAYBILL_NOT_RECEIVED", transit.financing_id) in got
    assert ("TRADE_WAYBILL_NOT_RECEIVED", partly.financing_id) in got
    assert ("TRADE_WAYBILL_REJECTED", rejected.financing_id) in got
    assert ("TRADE_WAYBILL_NOT_RECEIVED", rejected.financing_id) not in got
    [rej] = findings_of(wh, D1, "TRADE_WAYBILL_REJECTED")
    assert rej["severity"] == "critical" and rej["waybill_no"] == rejected.waybill_nos[0]
    [part] = [f for f in findings_of(wh, D1, "TRADE_WAYBILL_NOT_RECEIVED") if f["financing_id"] == partly.financing_id]
    assert evidence(part)["signed_for"] == "70" and part["waybill_no"] == partly.waybill_nos[1]


def test_waybill_quantity_or_consignee_inconsistent(wh):
    short = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER, waybills=[(40, "3")])
    elsewhere = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER_2, consignee=OTHER_CORE)
    one_to_n = tier1_trade(wh, D1, core=CORE, seller=make_uscc(), waybills=[(34, "3"), (33, "3"), (33, "3")])
    run_trade_catalogue(wh, D1)
    found = {f["financing_id"]: f for f in findings_of(wh, D1, "TRADE_WAYBILL_QTY_MISMATCH")}
    assert set(found) == {short.financing_id, elsewhere.financing_id}
    assert "carrying 40" in found[short.financing_id]["detail"]
    assert f"delivered elsewhere ({elsewhere.waybill_nos[0]} to {OTHER_CORE})" in found[elsewhere.financing_id]["detail"]
    assert verdicts_of(wh, D1)[one_to_n.financing_id] == "clean"


def test_one_waybill_backing_more_than_it_carried(wh):
    trade = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER, finance=False)
    extras = []
    for qty, total in ((80, 90_400_00), (70, 79_100_00)):
        inv = invoice_number()
        trade_invoice(wh, D1, inv, total, seller=SUPPLIER, buyer=CORE, issued=trade.issued, quantity=qty,
                      remark=f"订单{trade.ebeln}")
        extras.append(inv)
    for n, inv in enumerate([trade.invoice_no, *extras]):
        financed_by(wh, D1, f"FO{n}", "INVOICE", invoices={inv: 10_000_00}, applicant=SUPPLIER, debtor=CORE,
                    value_date=D1)
    # Look-alike: one delivery of 100 invoiced in two parts, 60 + 40.
    whole = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER_2, quantity=100, finance=False)
    for n, (qty, total) in enumerate(((60, 67_800_00), (40, 45_200_00))):
        inv = invoice_number()
        trade_invoice(wh, D1, inv, total, seller=SUPPLIER_2, buyer=CORE, issued=whole.issued, quantity=qty,
                      remark=f"订单{whole.ebeln}")
        payable(wh, D1, CORE, f"519000000{n}", invoice_no=inv, amount_fen=total, posted=whole.issued, lifnr="0000777777")
        financed_by(wh, D1, f"FP{n}", "INVOICE", invoices={inv: total}, applicant=SUPPLIER_2, debtor=CORE,
                    value_date=D1)
    run_trade_catalogue(wh, D1)
    found = {f["financing_id"]: f for f in findings_of(wh, D1, "TRADE_WAYBILL_OVERUSED")}
    assert set(found) == {"FO0", "FO1", "FO2"}
    assert evidence(found["FO1"])["carried"] == "100" and evidence(found["FO1"])["claimed"] == "250"
    assert found["FO1"]["waybill_no"] == trade.waybill_nos[0]
    assert {(c, f) for c, f in fired(wh, D1) if f in ("FP0", "FP1")} == set()


# ---- timeline, parties, USCC --------------------------------------------------------------------
def test_timeline_broken(wh):
    before_po = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER, ordered=D1 - dt.timedelta(days=10),
                            issued=D1 - dt.timedelta(days=15), waybill_shipped=D1 - dt.timedelta(days=17),
                            received_on=D1 - dt.timedelta(days=16))
    late = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER_2, received_on=D1 - dt.timedelta(days=1),
                       value_date=D1 - dt.timedelta(days=3))
    run_trade_catalogue(wh, D1)
    found = {f["financing_id"]: f for f in findings_of(wh, D1, "TRADE_TIMELINE_BROKEN")}
    assert set(found) == {before_po.financing_id, late.financing_id}
    detail = found[before_po.financing_id]["detail"]
    assert f"issued on {D1 - dt.timedelta(days=15)}, before its order {before_po.ebeln}" in detail
    assert "consigned on" in detail
    broken = evidence(found[late.financing_id])["broken"]
    assert len(broken) == 2 and any("goods receipt" in b for b in broken) and any("signed for after" in b for b in broken)


def test_party_mismatch(wh):
    parent = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER)
    stranger = make_uscc()
    # The voucher goes SUPPLIER → SUB, but the invoice is sold by a stranger.
    odd = deep_trade(wh, D1, core=CORE, holder=SUPPLIER, seller=stranger, parent_voucher=parent.voucher_id,
                     applicant=SUB, transfer_from=SUPPLIER)
    wh.con.execute("UPDATE voucher_events SET to_uscc = ? WHERE event_type = 'TRANSFER'", [SUB])
    impostor = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER_2, applicant=make_uscc())
    run_trade_catalogue(wh, D1)
    found = {f["financing_id"]: f for f in findings_of(wh, D1, "TRADE_PARTY_MISMATCH")}
    assert set(found) == {odd.financing_id, impostor.financing_id}
    assert "the voucher step presenting it runs TRANSFER" in found[odd.financing_id]["detail"]
    assert found[odd.financing_id]["voucher_id"] == odd.voucher_id
    assert "is not the seller" in found[impostor.financing_id]["detail"]


def test_invalid_uscc_on_trade_documents(wh):
    shell = make_uscc(valid=False)
    bad = tier1_trade(wh, D1, core=CORE, seller=shell)
    good = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER)
    run_trade_catalogue(wh, D1)
    found = findings_of(wh, D1, "TRADE_INVALID_USCC")
    assert {f["financing_id"] for f in found} == {bad.financing_id}
    docs = {(f["invoice_no"], f["waybill_no"]) for f in found}
    assert docs == {(bad.invoice_no, None), (bad.invoice_no, bad.waybill_nos[0])}
    inv = next(f for f in found if f["waybill_no"] is None)
    assert f"seller {shell} (check character should be {make_check(shell)})" in inv["detail"]
    assert good.financing_id not in {f["financing_id"] for f in found}


def make_check(uscc: str) -> str:
    return stdnum_uscc.calc_check_digit(uscc[:17])


# ---- circular trade -----------------------------------------------------------------------------
def _leg(wh: Warehouse, day: dt.date, seller: str, buyer: str, issued: dt.date, financing_id: str) -> str:
    inv = invoice_number()
    trade_invoice(wh, day, inv, 50_000_00, seller=seller, buyer=buyer, issued=issued, quantity=10)
    waybill(wh, day, "SD" + inv[-8:], consignor=seller, consignee=buyer, quantity=10,
            shipped=issued - dt.timedelta(days=1), received=issued)
    financed_by(wh, day, financing_id, "INVOICE", invoices={inv: 50_000_00}, applicant=seller, debtor=buyer,
                value_date=day)
    return inv


def test_circular_trade_found_the_night_its_last_leg_arrives(wh):
    a, b, c = make_uscc(), make_uscc(), make_uscc()
    _leg(wh, D1, a, b, D1 - dt.timedelta(days=4), "FA")
    _leg(wh, D1, b, c, D1 - dt.timedelta(days=3), "FB")
    _leg(wh, D1, a, SUPPLIER, D1 - dt.timedelta(days=3), "FX")  # A also sells elsewhere: not in the cycle
    run_trade_catalogue(wh, D1)
    assert findings_of(wh, D1, "TRADE_CIRCULAR") == []
    _leg(wh, D2, c, a, D2 - dt.timedelta(days=2), "FC")
    run_trade_catalogue(wh, D2)
    found = {f["financing_id"]: f for f in findings_of(wh, D2, "TRADE_CIRCULAR")}
    assert set(found) == {"FA", "FB", "FC"}
    assert all(f["first_seen_date"] == D2 for f in found.values())
    assert "a circular trade" in found["FA"]["detail"] and len(evidence(found["FA"])["invoices"]) == 3


def test_reversed_pair_within_the_window_only(wh):
    a, b, c, d = make_uscc(), make_uscc(), make_uscc(), make_uscc()
    _leg(wh, D1, a, b, D1 - dt.timedelta(days=10), "F1")
    _leg(wh, D1, b, a, D1 - dt.timedelta(days=2), "F2")
    _leg(wh, D1, c, d, D1 - dt.timedelta(days=200), "F3")
    _leg(wh, D1, d, c, D1 - dt.timedelta(days=2), "F4")  # 198 days apart: outside the window
    run_trade_catalogue(wh, D1)
    found = {f["financing_id"]: f for f in findings_of(wh, D1, "TRADE_CIRCULAR")}
    assert set(found) == {"F1", "F2"}
    assert "a reversed pair" in found["F1"]["detail"]


# ---- totals ---------------------------------------------------------------------------------------
def test_invoice_totals_that_do_not_add_up(wh):
    rows = {
        "FT1": dict(total_fen=113_000_00, amount_fen=100_000_00, tax_fen=12_000_00),  # total ≠ amount + tax
        "FT2": dict(total_fen=113_500_00, amount_fen=100_500_00, tax_fen=13_000_00, lines_amount_fen=100_000_00),
        "FT3": dict(total_fen=113_000_00, max_line_tax_gap_fen=7),
        "FT4": dict(total_fen=113_000_00, max_line_tax_gap_fen=5),  # within ¥0.06: fine
    }
    for fid, kw in rows.items():
        inv = invoice_number()
        trade_invoice(wh, D1, inv, kw.pop("total_fen"), seller=SUB, buyer=SUPPLIER, issued=D1 - dt.timedelta(days=3),
                      quantity=None, **kw)
        financed_by(wh, D1, fid, "INVOICE", invoices={inv: 10_000_00}, applicant=SUB, debtor=CORE, value_date=D1)
    run_trade_catalogue(wh, D1)
    found = {f["financing_id"]: f for f in findings_of(wh, D1, "TRADE_TOTALS_INCONSISTENT")}
    assert set(found) == {"FT1", "FT2", "FT3"}
    assert "total ¥113000.00 ≠ amount ¥100000.00 + tax ¥12000.00" in found["FT1"]["detail"]
    assert "amount ¥100500.00 ≠ ¥100000.00 on its lines" in found["FT2"]["detail"]


# ---- re-issued invoices -----------------------------------------------------------------------------
def _copy(wh: Warehouse, trade, financing_id: str, *, total_fen: int | None = None, days_later: int = 0,
          remark: str | None = None, bank: str = "105100000017") -> str:
    inv = invoice_number()
    trade_invoice(wh, D1, inv, total_fen or trade.total_fen, seller=trade.seller, buyer=trade.buyer,
                  issued=trade.issued + dt.timedelta(days=days_later), quantity=trade.quantity,
                  remark=remark if remark is not None else f"订单{trade.ebeln}")
    financed_by(wh, D1, financing_id, "INVOICE", invoices={inv: total_fen or trade.total_fen}, applicant=trade.seller,
                debtor=trade.buyer, value_date=D1, bank=bank)
    return inv


def test_invoice_reissued_under_a_new_number(wh):
    original = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER)
    copy = _copy(wh, original, "FR", total_fen=original.total_fen + 50)  # within ¥1
    run_trade_catalogue(wh, D1)
    found = {f["financing_id"]: f for f in findings_of(wh, D1, "DUP_INVOICE_REISSUED")}
    assert set(found) == {original.financing_id, "FR"}
    assert {f["severity"] for f in found.values()} == {"critical"}
    assert found["FR"]["invoice_no"] == copy
    look = evidence(found["FR"])["look_alikes"][0]
    assert look["invoice_no"] == original.invoice_no and look["same_trade"] and look["score"] >= 3


def test_reissue_look_alikes_are_not_reissues(wh):
    # Same amount and day between different parties.
    first = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER)
    tier1_trade(wh, D1, core=OTHER_CORE, seller=SUPPLIER_2, total_fen=first.total_fen, issued=first.issued)
    # A wrong invoice fully red-flushed, then re-issued; only the re-issue is financed.
    wrong = tier1_trade(wh, D1, core=CORE, seller=SUB, finance=False)
    trade_invoice(wh, D1, invoice_number(), -wrong.total_fen, seller=SUB, buyer=CORE, issued=wrong.issued,
                  quantity=-100, red_of=wrong.invoice_no)
    financed_by(wh, D1, "FW", "INVOICE", invoices={wrong.invoice_no: 1_00}, applicant=SUB, debtor=CORE,
                value_date=D1, status="CANCELLED")
    reissued = _copy(wh, wrong, "FN")
    payable(wh, D1, CORE, "5188888888", invoice_no=reissued, amount_fen=wrong.total_fen, posted=wrong.issued,
            lifnr="0000555555")
    # Two genuine sales of the same goods and amount a few days apart, each on its own order.
    repeat = make_uscc()
    one = tier1_trade(wh, D1, core=CORE, seller=repeat, total_fen=226_000_00)
    tier1_trade(wh, D1, core=CORE, seller=repeat, total_fen=226_000_00, issued=one.issued + dt.timedelta(days=2))
    run_trade_catalogue(wh, D1)
    assert findings_of(wh, D1, "DUP_INVOICE_REISSUED") == []
    assert "blocked" not in verdicts_of(wh, D1).values()


# ---- ambiguity -----------------------------------------------------------------------------------
def test_ambiguous_match_goes_to_review_not_to_block(wh):
    inv = invoice_number()
    trade_invoice(wh, D1, inv, 30_000_00, seller=SUB, buyer=SUPPLIER, issued=D1 - dt.timedelta(days=3), quantity=50)
    for n in range(2):
        waybill(wh, D1, f"SD0000000{n}", consignor=SUB, consignee=SUPPLIER, quantity=50,
                shipped=D1 - dt.timedelta(days=6 + n), received=D1 - dt.timedelta(days=5), po_no=f"RF-PO-{n}")
    financed_by(wh, D1, "FA", "INVOICE", invoices={inv: 30_000_00}, applicant=SUB, debtor=CORE, value_date=D1)
    run_trade_catalogue(wh, D1)
    [found] = findings_of(wh, D1)
    assert (found["check_id"], found["severity"]) == ("MATCH_AMBIGUOUS", "medium")
    assert "2 candidate waybills" in found["detail"]
    assert evidence(found)["ambiguous"][0]["candidates"] == ["waybill SD00000000 (50)", "waybill SD00000001 (50)"]
    assert verdicts_of(wh, D1) == {"FA": "review"}
