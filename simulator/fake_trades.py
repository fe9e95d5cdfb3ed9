"""Planters of the fake-trade catalogue: financings whose trade background is missing,
void, altered or inconsistent.  Kept apart from :mod:`simulator.anomalies` so they can be
switched off (``Tuning.plant_fake_trades``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator import flows
from simulator.documents import Financing, Trade
from simulator.flows import factor, factor_trade
from simulator.planting import Planter, finance_now, issued_voucher, other_tier1, passed_down
from simulator.timefmt import iso
from simulator.trades import Tweaks
from simulator.world import Company

if TYPE_CHECKING:
    from simulator.context import Sim


def _label(sim: Sim, check: str, kind: str, f: Financing, trade: Trade, note: str, waybill: bool = True) -> None:
    sim.labels.anomaly(sim.night, check, kind, financing=f, invoice_no=trade.invoice.no,
                       waybill_no=trade.waybills[0].no if waybill and trade.waybills else "", note=note)


def _tier1_voucher_financed(sim: Sim, tw: Tweaks) -> tuple[Financing, Trade]:
    trade, v, pos = issued_voucher(sim, sim.trades.tier1(tw=tw))
    return finance_now(sim, v, pos.take(v.amount)), trade


def _bent_trade(sim: Sim, i: int, tw: Tweaks) -> tuple[Financing, Trade, str]:
    """Alternately a tier-1 trade financed by its voucher, or a deeper-tier trade behind a
    voucher transfer financed by the transferee."""
    if i % 2 == 0:
        f, trade = _tier1_voucher_financed(sim, tw)
        return f, trade, "tier-1 voucher financing"
    f, deep, _child = passed_down(sim, tw)
    return f, deep, "deeper-tier transferee financing"


def trade_no_payable(sim: Sim, i: int) -> None:
    """A tier-1 invoice factored though no payable in the core's ERP cites it."""
    trade = sim.trades.tier1(tw=Tweaks(book_payable=False))
    f = factor_trade(sim, trade)
    _label(sim, "TRADE_NO_PAYABLE", "factoring_without_payable", f, trade, "no ap_open_items row cites the invoice",
           waybill=False)


def trade_no_waybill(sim: Sim, i: int) -> None:
    """A financed invoice with no waybill (and, at tier 1, no goods receipt)."""
    f, trade, where = _bent_trade(sim, i, Tweaks(waybills=0))
    _label(sim, "TRADE_NO_WAYBILL", "no_waybill", f, trade, f"{where}; order {trade.invoice.order_no} never shipped")


def trade_waybill_not_received(sim: Sim, i: int) -> None:
    """A financed invoice whose only waybill is still in transit (Status 2, no receipt)."""
    f, trade, where = _bent_trade(sim, i, Tweaks(waybill_status="2"))
    _label(sim, "TRADE_WAYBILL_NOT_RECEIVED", "in_transit", f, trade, f"{where}; waybill status 2")


def trade_waybill_rejected(sim: Sim, i: int) -> None:
    """A financed invoice whose waybill was refused by the consignee (Status 4)."""
    f, trade, where = _bent_trade(sim, i, Tweaks(waybill_status="4"))
    _label(sim, "TRADE_WAYBILL_REJECTED", "rejected", f, trade, f"{where}; waybill status 4")


def trade_waybill_qty_mismatch(sim: Sim, i: int) -> None:
    """A financed invoice whose waybill carried far less than invoiced."""
    pct = (25, 40)[i % 2]
    f, trade, where = _bent_trade(sim, i, Tweaks(waybill_qty_pct=pct, waybills=1))
    w = trade.waybills[0]
    _label(sim, "TRADE_WAYBILL_QTY_MISMATCH", "short_shipment", f, trade,
           f"{where}; waybill qty {w.quantity} vs invoiced {trade.invoice.quantity}")


def trade_waybill_overused(sim: Sim, i: int) -> None:
    """One waybill backing three invoices of one order whose quantities exceed it."""
    trade = sim.trades.tier1(items=1, tw=Tweaks(waybills=1))
    invoices = [trade.invoice, sim.trades.extra_invoice(trade, 80, 1), sim.trades.extra_invoice(trade, 70, 2)]
    w = trade.waybills[0]
    maturity = trade.ap.due if trade.ap is not None else sim.day + 120
    note = f"waybill {w.no} carried {w.quantity}; invoices total {sum(inv.quantity for inv in invoices)}"
    for inv in invoices:
        f = factor(sim, inv, inv.total, maturity)
        sim.labels.anomaly(sim.night, "TRADE_WAYBILL_OVERUSED", "one_waybill_three_invoices", financing=f,
                           invoice_no=inv.no, waybill_no=w.no, note=note)


def trade_timeline_broken(sim: Sim, i: int) -> None:
    """Invoice before the PO date, or goods received after the financing's value date."""
    if i % 2 == 0:
        trade = sim.trades.tier1(tw=Tweaks(invoice_before_po=5))
        f = factor_trade(sim, trade)
        _label(sim, "TRADE_TIMELINE_BROKEN", "invoice_before_po", f, trade,
               f"invoice {iso(trade.invoice.day)} before PO {iso(trade.po_items[0].bedat)}")
        return
    day = sim.day
    trade = sim.trades.tier1(tw=Tweaks(invoice_day=day - 5, receipt_day=day - 1, payable_day=day - 1))
    f = factor_trade(sim, trade, value_date=day - 3)
    w = trade.waybills[0]
    assert w.received is not None
    _label(sim, "TRADE_TIMELINE_BROKEN", "receipt_after_value_date", f, trade,
           f"value date {iso(day - 3)}, goods received {iso(w.received // 86_400)}")


def trade_party_mismatch(sim: Sim, i: int) -> None:
    """Invoice parties that are not those of the financed step."""
    if i % 2 == 0:
        def stranger(holder: Company) -> Company:
            return flows.pick(sim, [c for c in sim.world.by_tier[2] if c.parent is not holder])

        f, deep, _child = passed_down(sim, seller_for=stranger)
        _label(sim, "TRADE_PARTY_MISMATCH", "transfer_invoice_of_stranger", f, deep,
               f"transferee {f.applicant} financed on an invoice sold by {deep.seller.uscc}")
        return
    trade = sim.trades.tier1()
    impostor = other_tier1(sim, trade.seller)
    f = factor_trade(sim, trade, applicant=impostor)
    _label(sim, "TRADE_PARTY_MISMATCH", "factoring_by_non_seller", f, trade,
           f"applicant {impostor.uscc} is not the seller {trade.seller.uscc}", waybill=False)


def trade_invalid_uscc(sim: Sim, i: int) -> None:
    """A financed invoice sold by a 'supplier' whose USCC check character is wrong."""
    core = sim.world.cores[i % len(sim.world.cores)]
    shells = sim.world.shells[core.core_no]
    shell = shells[(i // len(sim.world.cores)) % len(shells)]
    sim.world.use_shell(shell)
    trade = sim.trades.tier1(supplier=shell)
    f = factor_trade(sim, trade)
    _label(sim, "TRADE_INVALID_USCC", "shell_seller", f, trade, f"seller USCC {shell.uscc} fails GB 32100",
           waybill=False)


def trade_circular(sim: Sim, i: int) -> None:
    """A -> B -> C -> A invoices within a few days, each factored."""
    tier2 = sim.world.by_tier[2]
    a = flows.pick(sim, tier2)
    b = flows.pick(sim, [c for c in tier2 if c is not a and c.parent is not a.parent])
    c = flows.pick(sim, [x for x in tier2 if x is not a and x is not b and x.parent is not a.parent
                         and x.parent is not b.parent])
    base = (20_000_000 + int(sim.rng.random() * 80_000_000)) // 100 * 100
    legs = []
    for k, (seller, buyer) in enumerate(((a, b), (b, c), (c, a))):
        tw = Tweaks(invoice_day=sim.day - 4 + k, receipt_day=sim.day - 5 + k)
        legs.append(sim.trades.deep(seller, buyer, tw=tw, target_total=base * (100 + k) // 100))
    note = f"circle {a.uscc} -> {b.uscc} -> {c.uscc} -> {a.uscc}"
    for trade in legs:
        f = factor(sim, trade.invoice, trade.invoice.total, sim.day + 90)
        _label(sim, "TRADE_CIRCULAR", "abc_circle", f, trade, note)


def trade_totals_inconsistent(sim: Sim, i: int) -> None:
    """Header total != amount + tax, or header amount != sum of line amounts."""
    if i % 2 == 0:
        tw, kind, what = Tweaks(total_skew=100_000 + 1_000 * i), "total_not_sum", "total != amount + tax"
    else:
        tw, kind, what = Tweaks(header_amount_skew=50_000 + 1_000 * i), "header_not_lines", "amount != sum of lines"
    trade = sim.trades.tier1(tw=tw)
    f = factor_trade(sim, trade)
    _label(sim, "TRADE_TOTALS_INCONSISTENT", kind, f, trade, what, waybill=False)


def dup_invoice_reissued(sim: Sim, i: int) -> None:
    """An invoice re-issued under a new number (same parties, amount, day), not red-flushed,
    both financed at different banks."""
    trade = sim.trades.tier1()
    first = factor_trade(sim, trade)
    copy = sim.trades.reissue(trade.invoice, 5 + i)
    maturity = trade.ap.due if trade.ap is not None else sim.day + 120
    second = factor(sim, copy, copy.total, maturity, bank=sim.platform.bank(first.bank))
    note = f"{copy.no} re-issues {trade.invoice.no}"
    for f, no in ((first, trade.invoice.no), (second, copy.no)):
        sim.labels.anomaly(sim.night, "DUP_INVOICE_REISSUED", "reissued_both_financed", financing=f, invoice_no=no,
                           note=note)


PLANTERS: tuple[Planter, ...] = (
    Planter("TRADE_NO_PAYABLE", "no_payable", trade_no_payable),
    Planter("TRADE_NO_WAYBILL", "no_waybill", trade_no_waybill),
    Planter("TRADE_WAYBILL_NOT_RECEIVED", "not_received", trade_waybill_not_received),
    Planter("TRADE_WAYBILL_REJECTED", "rejected", trade_waybill_rejected),
    Planter("TRADE_WAYBILL_QTY_MISMATCH", "qty_mismatch", trade_waybill_qty_mismatch),
    Planter("TRADE_WAYBILL_OVERUSED", "overused", trade_waybill_overused),
    Planter("TRADE_TIMELINE_BROKEN", "timeline", trade_timeline_broken),
    Planter("TRADE_PARTY_MISMATCH", "party_mismatch", trade_party_mismatch),
    Planter("TRADE_INVALID_USCC", "invalid_uscc", trade_invalid_uscc),
    Planter("TRADE_CIRCULAR", "circular", trade_circular),
    Planter("TRADE_TOTALS_INCONSISTENT", "totals", trade_totals_inconsistent),
    Planter("DUP_INVOICE_REISSUED", "reissued", dup_invoice_reissued),
)
