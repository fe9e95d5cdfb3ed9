"""The four-flow match on hand-built histories: what each link finds, and its outcome."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from stdnum.cn import uscc as stdnum_uscc

from reconciliation.matching import LINKS, match_night
from reconciliation.session import sql_script
from reconciliation.vocabulary import LinkOutcome
from tests.trade_factories import (
    deep_trade,
    financed_by,
    invoice_number,
    make_uscc,
    payable,
    purchase_order,
    run_trade_catalogue,
    tier1_trade,
    trade_invoice,
    waybill,
)
from warehouse.connection import Warehouse

D1 = dt.date(2026, 11, 19)
D2 = dt.date(2026, 11, 20)
CORE = make_uscc("440305")
SUPPLIER = make_uscc("320506")
SUB = make_uscc("320507")



def matches(wh: Warehouse, day: dt.date) -> dict[tuple[str, str], dict]:
    cur = wh.con.execute("SELECT * FROM trade_matches WHERE business_date = ?", [day])
    names = [d[0] for d in cur.description]
    return {(r[1], r[2]): dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def only(rows: dict[tuple[str, str], dict]) -> dict:
    assert len(rows) == 1
    return next(iter(rows.values()))


def test_tier1_trade_matches_every_flow(wh):
    trade = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER)
    assert match_night(wh.con, D1) == 1
    m = matches(wh, D1)[(trade.financing_id, trade.invoice_no)]
    assert m["tier"] == 1 and m["invoice_known"]
    assert {m[f"{link}_outcome"] for link in LINKS} == {"matched"}
    assert m["po_core_uscc"] == CORE and m["po_ebelns"] == [trade.ebeln]
    assert m["ap_refs"] == [trade.ap_ref] and m["ap_net_fen"] == trade.total_fen
    assert m["waybill_method"] == "order" and m["waybill_nos"] == trade.waybill_nos
    assert m["gr_quantity"] == Decimal(100) and m["waybill_quantity"] == Decimal(100)
    assert m["instrument_refs"][0].startswith("ISSUE ")
    assert m["evidence_night"] == D1


def test_one_order_delivered_by_several_waybills_is_one_match(wh):
    trade = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER, waybills=[(60, "3"), (40, "3")])
    match_night(wh.con, D1)
    m = only(matches(wh, D1))
    assert m["waybill_outcome"] == "matched" and m["waybill_candidates"] == 1
    assert m["waybill_nos"] == sorted(trade.waybill_nos) and m["waybill_quantity"] == Decimal(100)
    assert len(m["gr_docs"]) == 2


def test_deeper_tier_has_no_erp_and_matches_waybill_by_order_or_parties(wh):
    parent = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER)
    by_order = deep_trade(wh, D1, core=CORE, holder=SUPPLIER, seller=SUB, parent_voucher=parent.voucher_id,
                          remark=True)
    by_parties = deep_trade(wh, D1, core=CORE, holder=SUPPLIER, seller=make_uscc(), parent_voucher=parent.voucher_id,
                            quantity=700)
    match_night(wh.con, D1)
    rows = matches(wh, D1)
    for trade, method in ((by_order, "order"), (by_parties, "parties")):
        m = rows[(trade.financing_id, trade.invoice_no)]
        assert m["tier"] == 2
        assert (m["po_outcome"], m["ap_outcome"], m["gr_outcome"]) == ("not_applicable",) * 3
        assert (m["waybill_outcome"], m["waybill_method"], m["waybill_nos"]) == ("matched", method, trade.waybill_nos)
        assert m["instrument_outcome"] == "matched" and m["instrument_refs"][0].startswith("TRANSFER ")


def test_inferred_purchase_order_is_ambiguous_when_two_qualify(wh):
    lifnr = "0000100001"
    inv = invoice_number()
    for ebeln in ("4500000001", "4500000002"):
        purchase_order(wh, D1, CORE, ebeln, vendor=SUPPLIER, lifnr=lifnr, ordered=D1 - dt.timedelta(days=9),
                       quantity=100, net_fen=100_000_00)
    trade_invoice(wh, D1, inv, 113_000_00, seller=SUPPLIER, buyer=CORE, issued=D1 - dt.timedelta(days=5),
                  amount_fen=100_000_00, tax_fen=13_000_00)
    payable(wh, D1, CORE, "5100000001", invoice_no=inv, amount_fen=113_000_00, posted=D1 - dt.timedelta(days=4),
            lifnr=lifnr)
    financed_by(wh, D1, "F1", "INVOICE", invoices={inv: 113_000_00}, applicant=SUPPLIER, debtor=CORE, value_date=D1)
    match_night(wh.con, D1)
    m = only(matches(wh, D1))
    assert (m["po_outcome"], m["po_candidates"], m["po_ebelns"]) == ("ambiguous", 2, ["4500000001", "4500000002"])
    assert m["gr_outcome"] == "missing" and m["ap_outcome"] == "matched"
    assert m["instrument_outcome"] == "not_applicable"  # invoice factoring: the invoice is the asset


def test_deep_waybill_without_order_number_is_ambiguous_when_two_deliveries_qualify(wh):
    inv = invoice_number()
    trade_invoice(wh, D1, inv, 30_000_00, seller=SUB, buyer=SUPPLIER, issued=D1 - dt.timedelta(days=3), quantity=50)
    for n, po_no in enumerate(("RF-PO-1", "RF-PO-2")):
        waybill(wh, D1, f"SD{n}", consignor=SUB, consignee=SUPPLIER, quantity=50, shipped=D1 - dt.timedelta(days=5 + n),
                received=D1 - dt.timedelta(days=4), po_no=po_no)
    waybill(wh, D1, "SD9", consignor=SUB, consignee=SUPPLIER, quantity=7, shipped=D1 - dt.timedelta(days=5),
            received=D1 - dt.timedelta(days=4))  # a delivery of another quantity does not qualify
    financed_by(wh, D1, "F1", "INVOICE", invoices={inv: 30_000_00}, applicant=SUB, debtor=CORE, value_date=D1)
    match_night(wh.con, D1)
    m = only(matches(wh, D1))
    assert (m["waybill_outcome"], m["waybill_candidates"], m["waybill_nos"]) == ("ambiguous", 2, ["SD0", "SD1"])


def test_missing_links_and_unknown_invoices(wh):
    trade = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER, waybills=[], with_payable=False)
    financed_by(wh, D1, "F9", "INVOICE", invoices={"26999999999999999999": 1_00}, applicant=SUPPLIER, debtor=CORE,
                value_date=D1)
    match_night(wh.con, D1)
    rows = matches(wh, D1)
    m = rows[(trade.financing_id, trade.invoice_no)]
    assert (m["po_outcome"], m["ap_outcome"], m["gr_outcome"], m["waybill_outcome"]) == (
        "matched", "missing", "missing", "missing")
    assert m["searched_orders"] == [trade.ebeln]
    unknown = rows[("F9", "26999999999999999999")]
    assert unknown["invoice_known"] is False and unknown["tier"] is None
    assert {unknown[f"{link}_outcome"] for link in LINKS} <= set(LinkOutcome)


def test_matches_are_kept_per_night_and_follow_late_evidence(wh):
    trade = tier1_trade(wh, D1, core=CORE, seller=SUPPLIER, waybills=[])
    run_trade_catalogue(wh, D1)
    assert only(matches(wh, D1))["waybill_outcome"] == "missing"
    waybill(wh, D2, "SD20261118001", consignor=SUPPLIER, consignee=CORE, quantity=100,
            shipped=D1 - dt.timedelta(days=15), received=D1 - dt.timedelta(days=12), po_no=trade.ebeln)
    run_trade_catalogue(wh, D2)
    late = only(matches(wh, D2))
    assert late["waybill_outcome"] == "matched" and late["evidence_night"] == D2
    run_trade_catalogue(wh, D1)  # re-running the first night still sees only what it had
    assert only(matches(wh, D1))["waybill_outcome"] == "missing"
    assert wh.con.execute("SELECT count(*) FROM trade_matches").fetchone()[0] == 2


def test_uscc_macro_agrees_with_python_stdnum(wh):
    rng = random.Random(20261120)
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    samples = ["91320500MA1X000024", "91440300MA5F00001A", "91440300MA5F00001B", "9132050OMA1X000024",
               "91320500ma1x000024", "9132 0500-MA1X000024", "91320500MA1X00002", "913205000A1X00002I", ""]
    for _ in range(400):
        body = "".join(rng.choice("0123456789") for _ in range(8)) + "".join(rng.choice(alphabet) for _ in range(9))
        samples.append(body + (stdnum_uscc.calc_check_digit(body) if rng.random() < 0.5 else rng.choice(alphabet)))
    wh.con.execute(open_sql("match_macros.sql"))
    got = wh.con.execute("SELECT s, uscc_valid(s) FROM unnest(?::VARCHAR[]) t(s)", [samples]).fetchall()
    assert {s: bool(v) for s, v in got} == {s: stdnum_uscc.is_valid(s) for s in samples}


@pytest.mark.parametrize(("remark", "refs"), [
    ("订单4500012345", ["4500012345"]),
    ("采购订单号：ABC-PO-202611-0000007，请查收", ["ABC-PO-202611-0000007"]),
    ("PO 4500012345; 订单 X-1", ["4500012345", "X-1"]),
    ("RF-PO-202611-07", []),
    ("红字发票 原发票号码26320000000000045678", []),
    (None, []),
])
def test_order_numbers_read_from_the_remark(wh, remark, refs):
    wh.con.execute(open_sql("match_macros.sql"))
    assert wh.con.execute("SELECT remark_order_refs(?)", [remark]).fetchone()[0] == refs


def open_sql(name: str) -> str:
    return sql_script(name)  # as the session reads it: vocabulary placeholders expanded


@pytest.mark.parametrize(("fen", "ppm"), [(100, 1000), (0, 1000), (5000, 1), (100, 999_999), (0, 0), (100, 0), (100, 1_000_000)])
def test_agreeing_amounts_and_dates_fall_in_neighbouring_bands_and_periods(wh, fen, ppm):
    """The closure's equality keys (reconciliation/sql/_scope_closure.sql) never lose a pair the
    window rule keeps: amounts that agree are at most one band apart, dates within the window at
    most one period apart, at the tolerance's edges and for either sign."""
    rng = random.Random(fen * 7 + ppm)
    wh.con.execute("SET VARIABLE amount_tolerance_fen = ?", [fen])
    wh.con.execute("SET VARIABLE amount_tolerance_ratio_ppm = ?", [ppm])
    wh.con.execute(open_sql("match_macros.sql"))
    pairs = []
    for _ in range(3000):
        a = rng.choice([0, 1, 99, 100, 101, 10**5, 10**8, 10**11]) + rng.randrange(-1000, 10**6)
        a = -a if rng.random() < 0.1 else a
        tolerance = max(fen, abs(a) * ppm // 1_000_000) + rng.choice([0, 1])
        pairs.append((a, a + rng.choice([-tolerance, tolerance, -(tolerance + 1) // 2, tolerance - 1])))
    bad = wh.con.execute(
        "SELECT a, b FROM unnest(?::STRUCT(a BIGINT, b BIGINT)[]) t(p), LATERAL (SELECT p.a, p.b) "
        "WHERE amounts_agree(a, b) AND abs(amount_band(a) - amount_band(b)) > 1",
        [[{"a": a, "b": b} for a, b in pairs]]).fetchall()
    assert bad == []
    agreeing = wh.con.execute("SELECT count(*) FROM unnest(?::STRUCT(a BIGINT, b BIGINT)[]) t(p) WHERE amounts_agree(p.a, p.b)",
                              [[{"a": a, "b": b} for a, b in pairs]]).fetchone()[0]
    assert 0 < agreeing < len(pairs)  # the pairs straddle the tolerance's edge
    days = [(dt.date(1999, 12, 1) + dt.timedelta(days=rng.randrange(800)), w, rng.randrange(-w - 1, w + 2)) for w in (0, 1, 15, 30)
            for _ in range(500)]
    far = wh.con.execute(
        "SELECT d, w, k FROM unnest(?::STRUCT(d DATE, w INTEGER, k INTEGER)[]) t(p), LATERAL (SELECT p.d, p.w, p.k) "
        "WHERE abs(k) <= w AND abs(date_period(d, w) - date_period(d + k, w)) > 1",
        [[{"d": d, "w": w, "k": k} for d, w, k in days]]).fetchall()
    assert far == []
