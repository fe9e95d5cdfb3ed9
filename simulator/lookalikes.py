"""Planters of look-alikes: legitimate financings that resemble what a check hunts for.
Each involved financing is labelled ``lookalike`` with the check it must not trip."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator import flows
from simulator.documents import Discount, Financing
from simulator.flows import factor, factor_trade, percent_of
from simulator.money import discounted
from simulator.planting import Planter, finance_now, issued_voucher, tier1_of_other_core, tonight_or_next
from simulator.timefmt import iso
from simulator.trades import Tweaks

if TYPE_CHECKING:
    from simulator.context import Sim


def _mark(sim: Sim, check: str, kind: str, financings: list[Financing], note: str, **fields: str) -> None:
    for f in financings:
        sim.labels.lookalike(sim.night, check, kind, financing=f, note=note, **fields)


def voucher_plus_bill(sim: Sim, i: int) -> None:
    """One invoice paid part by voucher, part by bill; both financed, together <= total."""
    trade = sim.trades.tier1()
    inv = trade.invoice
    part = percent_of(sim, inv.total, 40, 70)
    v, pos = sim.platform.issue(trade, amount=part)
    first = finance_now(sim, v, pos.take(v.amount))
    bill = sim.platform.new_bill(trade.buyer, trade.seller, inv.total - part, [inv.no])
    second = sim.platform.discount(bill, [(inv.no, bill.amount)], sim.platform.bank(first.bank))
    sim.platform.deliver_bill([bill])
    _mark(sim, "DUP_INVOICE_MULTI_FINANCED", "voucher_plus_bill_split", [first, second],
          f"{inv.no}: {part} by voucher + {bill.amount} by bill = total {inv.total}", invoice_no=inv.no)


def red_letter_other_invoice(sim: Sim, i: int) -> None:
    """Same parties, same amount: the red-letter invoice reverses the unfinanced twin."""
    financed = sim.trades.tier1()
    f = factor_trade(sim, financed)
    twin = sim.trades.tier1(financed.seller, target_total=financed.invoice.total, tw=Tweaks(guard=False))
    red = sim.trades.red_letter(twin.invoice, twin.invoice.total, flows.red_issue_time(sim, twin.invoice))
    assert twin.ap is not None
    sim.trades.payable(twin.seller, red, sim.day - 1, twin.ap.ebeln, twin.invoice.total, credit_memo=True)
    sim.files.status_change(twin.invoice.no, "3", twin.invoice.total, sim.day - 1)
    _mark(sim, "INVOICE_RED_FLUSHED", "red_letter_reverses_twin", [f],
          f"red {red.no} reverses {twin.invoice.no}, not the financed {financed.invoice.no}",
          invoice_no=financed.invoice.no)


def same_amount_other_parties(sim: Sim, i: int) -> None:
    """Two unrelated invoices, same amount and day, different parties; both financed."""
    first = sim.trades.tier1()
    inv = first.invoice
    assert first.ap is not None
    other = tier1_of_other_core(sim, first.seller)
    second = sim.trades.tier1(other, target_total=inv.total,
                              tw=Tweaks(guard=False, invoice_day=inv.day, payable_day=first.ap.budat))
    fs = [factor_trade(sim, first), factor_trade(sim, second)]
    _mark(sim, "DUP_INVOICE_REISSUED", "same_amount_different_parties", fs,
          f"{inv.no} and {second.invoice.no} both {inv.total} fen between different parties")


def partial_financing(sim: Sim, i: int) -> None:
    """Part of an invoice financed (or two parts at two banks on two nights), within its total."""
    trade = sim.trades.tier1()
    inv = trade.invoice
    if i % 2 == 0:
        f = factor_trade(sim, trade, percent_of(sim, inv.total, 50, 80))
        _mark(sim, "INVOICE_FINANCED_BEYOND_VALUE", "partial_factoring", [f],
              f"{f.face} of {inv.total} fen", invoice_no=inv.no)
        return
    a = percent_of(sim, inv.total, 40, 55)
    b = percent_of(sim, inv.total, 20, 40)
    first = factor_trade(sim, trade, a)

    def second(s: Sim) -> None:
        f2 = factor_trade(s, trade, b, bank=s.platform.bank(first.bank))
        _mark(s, "DUP_INVOICE_MULTI_FINANCED", "two_partial_factorings", [first, f2],
              f"{a} + {b} <= {inv.total} fen", invoice_no=inv.no)

    tonight_or_next(sim, second)


def bill_disjoint_ranges(sim: Sim, i: int) -> None:
    """Two non-overlapping sub-ranges of one bill discounted at two banks."""
    trade = sim.trades.tier1()
    inv = trade.invoice
    plat = sim.platform
    bill = plat.new_bill(trade.buyer, trade.seller, inv.total, [inv.no], bank_accepted=bool(i % 2))
    r1, r2 = plat.split_range(bill, percent_of(sim, inv.total, 30, 70))
    f1 = plat.discount(r1, [(inv.no, r1.amount)])
    f2 = plat.discount(r2, [(inv.no, r2.amount)], plat.bank(f1.bank))
    plat.deliver_bill([r1, r2])
    for f, r in ((f1, r1), (f2, r2)):
        sim.labels.lookalike(sim.night, "DUP_BILL_RANGE_MULTI_FINANCED", "disjoint_sub_ranges", financing=f,
                             bill_ref=r.ref, invoice_no=inv.no, note=f"{r1.ref} and {r2.ref} do not overlap")


def multi_waybill_order(sim: Sim, i: int) -> None:
    """One order delivered by several waybills (1:N), then financed."""
    trade = sim.trades.tier1(items=1, tw=Tweaks(waybills=2 + i % 2))
    if i % 2:
        f = factor_trade(sim, trade)
    else:
        _t, v, pos = issued_voucher(sim, trade)
        f = finance_now(sim, v, pos.take(v.amount))
    nos = "+".join(w.no for w in trade.waybills)
    sim.labels.lookalike(sim.night, "TRADE_WAYBILL_QTY_MISMATCH", "one_order_several_waybills", financing=f,
                         invoice_no=trade.invoice.no, waybill_no=trade.waybills[0].no,
                         note=f"waybills {nos} carry {sum(w.quantity for w in trade.waybills)} = invoiced "
                              f"{trade.invoice.quantity}")


def rounding_within_one_yuan(sim: Sim, i: int) -> None:
    """Payable booked a few fen below the invoice (抹零); or a line tax off by a few fen."""
    rng = sim.rng
    if i % 2 == 0:
        short = 1 + int(rng.random() * 99)
        trade = sim.trades.tier1(tw=Tweaks(payable_short_by=short))
        _t, v, pos = issued_voucher(sim, trade)
        f = finance_now(sim, v, pos.take(v.amount))
        sim.labels.lookalike(sim.night, "TRADE_NO_PAYABLE", "payable_rounded_down", financing=f,
                             invoice_no=trade.invoice.no, voucher_id=v.id,
                             note=f"payable {trade.invoice.total - short} vs invoice {trade.invoice.total} fen")
        return
    gap = (3 + int(rng.random() * 3)) * (1 if rng.random() < 0.5 else -1)
    trade = sim.trades.tier1(tw=Tweaks(line_tax_gap=gap, fine_unit_price=True))
    f = factor_trade(sim, trade)
    sim.labels.lookalike(sim.night, "TRADE_TOTALS_INCONSISTENT", "line_tax_rounding", financing=f,
                         invoice_no=trade.invoice.no, note=f"a line's tax off by {gap} fen (within 0.06)")


def voucher_children_financed(sim: Sim, i: int) -> None:
    """A voucher split into children, each financed once, the rest financed too."""
    _trade, v, pos = issued_voucher(sim)
    plat = sim.platform
    b1 = plat.bank()
    b2 = plat.bank(b1)
    fs = []
    for bank in (b1, b2):
        child = plat.split(v, max(100, v.amount * 30 // 100))
        fs.append(finance_now(sim, child, pos.take(child.amount), bank))
    fs.append(finance_now(sim, v, pos.take(v.amount), plat.bank(b1, b2)))
    _mark(sim, "DUP_VOUCHER_MULTI_FINANCED", "split_children_each_financed_once", fs,
          f"{v.id} split; each piece financed once", voucher_id=v.id)


def reissue_after_red_flush(sim: Sim, i: int) -> None:
    """A wrong invoice fully red-flushed and re-issued; only the re-issue is financed."""
    trade = sim.trades.tier1()
    inv = trade.invoice
    ap = trade.ap
    assert ap is not None
    red = sim.trades.red_letter(inv, inv.total, flows.red_issue_time(sim, inv))
    sim.trades.payable(trade.seller, red, sim.day - 1, ap.ebeln, inv.total, credit_memo=True)
    sim.files.status_change(inv.no, "3", inv.total, sim.day - 1)
    copy = sim.trades.reissue(inv, issued=red.issued + 1800)
    payable = sim.trades.payable(trade.seller, copy, sim.day - 1, ap.ebeln, copy.total)
    f = flows.factor(sim, copy, copy.total, payable.due)
    sim.labels.lookalike(sim.night, "DUP_INVOICE_REISSUED", "reissue_after_full_red_flush", financing=f,
                         invoice_no=copy.no, note=f"{copy.no} replaces {inv.no}, which red {red.no} flushed")


def other_range_discounted_elsewhere(sim: Sim, i: int) -> None:
    """A bill split in two: the exchange shows one range discounted at another bank (off the
    platform), the other range discounted here."""
    trade = sim.trades.tier1()
    inv = trade.invoice
    plat = sim.platform
    bill = plat.new_bill(trade.buyer, trade.seller, inv.total, [inv.no], bank_accepted=bool(i % 2))
    theirs, ours = plat.split_range(bill, percent_of(sim, inv.total, 30, 70))
    elsewhere = plat.bank()
    rate = plat.rate(elsewhere)
    theirs.discount = Discount(sim.day, rate, discounted(theirs.amount, rate, theirs.due - sim.day), elsewhere)
    f = plat.discount(ours, [(inv.no, ours.amount)], plat.bank(elsewhere))
    plat.deliver_bill([theirs, ours])
    sim.labels.lookalike(sim.night, "BILL_EXCHANGE_CONFLICT", "other_range_discounted_elsewhere", financing=f,
                         bill_ref=ours.ref, note=f"{theirs.ref} discounted by {elsewhere.cnaps}, {ours.ref} here")


def paid_at_maturity(sim: Sim, i: int) -> None:
    """A factoring whose payable the core clears on the next night, after the value date (on the
    last night it stays open)."""
    trade = sim.trades.tier1()
    f = factor_trade(sim, trade)
    sim.later(1, lambda s: flows.clear(s, trade))
    _mark(sim, "RECEIVABLE_ALREADY_PAID", "cleared_after_value_date", [f],
          f"payable cleared after the value date {iso(f.value_date)}", invoice_no=trade.invoice.no)


def valued_on_issue_day(sim: Sim, i: int) -> None:
    """An invoice factoring valued on the very day the invoice was issued."""
    trade = sim.trades.tier1()
    inv = trade.invoice
    assert trade.ap is not None
    f = factor(sim, inv, inv.total, trade.ap.due, value_date=inv.day)
    _mark(sim, "FINANCING_BEFORE_INVOICE", "valued_on_issue_day", [f], f"value date = issue date {iso(inv.day)}",
          invoice_no=inv.no)


PLANTERS: tuple[Planter, ...] = (
    Planter("DUP_INVOICE_MULTI_FINANCED", "voucher_plus_bill_split", voucher_plus_bill),
    Planter("INVOICE_RED_FLUSHED", "red_letter_reverses_twin", red_letter_other_invoice),
    Planter("DUP_INVOICE_REISSUED", "same_amount_different_parties", same_amount_other_parties),
    Planter("INVOICE_FINANCED_BEYOND_VALUE", "partial_financing", partial_financing),
    Planter("DUP_BILL_RANGE_MULTI_FINANCED", "disjoint_sub_ranges", bill_disjoint_ranges),
    Planter("TRADE_WAYBILL_QTY_MISMATCH", "one_order_several_waybills", multi_waybill_order),
    Planter("TRADE_NO_PAYABLE", "rounding_within_one_yuan", rounding_within_one_yuan),
    Planter("DUP_VOUCHER_MULTI_FINANCED", "split_children_each_financed_once", voucher_children_financed),
    Planter("DUP_INVOICE_REISSUED", "reissue_after_full_red_flush", reissue_after_red_flush),
    Planter("BILL_EXCHANGE_CONFLICT", "other_range_discounted_elsewhere", other_range_discounted_elsewhere),
    Planter("RECEIVABLE_ALREADY_PAID", "cleared_after_value_date", paid_at_maturity),
    Planter("FINANCING_BEFORE_INVOICE", "valued_on_issue_day", valued_on_issue_day),
)
