"""Planters of duplicate-financing, invoice-status and voucher-ledger anomalies.

Each planter writes a clean base, bends one thing, and labels the financings a correct
engine must flag (``label=anomaly``) with the night it can first see the problem.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator import flows
from simulator.documents import Discount, Pledge
from simulator.flows import Factored, factor_trade, percent_of
from simulator.money import discounted
from simulator.planting import Planter, finance_now, issued_voucher, tonight_or_next
from simulator.timefmt import iso
from simulator.trades import Tweaks

if TYPE_CHECKING:
    from simulator.context import Sim


# ---- duplicates ------------------------------------------------------------------------
def dup_invoice_multi_financed(sim: Sim, i: int) -> None:
    """One invoice presented by two financings whose amounts exceed its total."""
    check = "DUP_INVOICE_MULTI_FINANCED"
    variant = i % 3
    if variant == 0:  # an invoice factored on an earlier night, factored again at another bank
        item = sim.reservoir.take(lambda it: isinstance(it, Factored) and it.financing.row_night < sim.night)
        if isinstance(item, Factored):
            first = item.financing
            inv = item.trade.invoice
            second = factor_trade(sim, item.trade, bank=sim.platform.bank(first.bank))
            note = (f"invoice {inv.no} total {inv.total} fen factored {item.amount} on "
                    f"{iso(first.value_date)} and {inv.total} again")
            for f in (first, second):
                sim.labels.anomaly(sim.night, check, "refactored_earlier_invoice", financing=f, invoice_no=inv.no,
                                   note=note)
            return
    trade, v, pos = issued_voucher(sim)
    first = finance_now(sim, v, pos.take(v.amount))
    inv = trade.invoice

    def second_financing(s: Sim) -> None:
        second = factor_trade(s, trade, bank=s.platform.bank(first.bank))
        note = f"invoice {inv.no} behind voucher {v.id} financing and factored again for its total {inv.total} fen"
        for f in (first, second):
            s.labels.anomaly(s.night, check, "voucher_then_factoring", financing=f, invoice_no=inv.no,
                             voucher_id=v.id if f is first else "", note=note)

    if variant == 2:
        tonight_or_next(sim, second_financing)
    else:
        second_financing(sim)


def invoice_financed_beyond_value(sim: Sim, i: int) -> None:
    """One financing presents an invoice for more than its total."""
    trade = sim.trades.tier1()
    inv = trade.invoice
    amount = inv.total * (110 + (i % 4) * 10) // 100
    f = factor_trade(sim, trade, amount)
    sim.labels.anomaly(sim.night, "INVOICE_FINANCED_BEYOND_VALUE", "factoring_above_total", financing=f,
                       invoice_no=inv.no, note=f"presented {amount} fen of an invoice totalling {inv.total}")


def dup_voucher_multi_financed(sim: Sim, i: int) -> None:
    """One voucher financed at two banks (the second bank books it without a FINANCE event)."""
    trade, v, pos = issued_voucher(sim)
    refs = pos.take(v.amount)
    first = finance_now(sim, v, refs)

    def second_financing(s: Sim) -> None:
        bank = s.platform.bank(first.bank)
        second = s.platform.book("VOUCHER", bank, trade.seller.uscc, v.issuer.uscc, v.id, refs, v.amount,
                                 v.maturity, row_delay=0)
        for f in (first, second):
            s.labels.anomaly(s.night, "DUP_VOUCHER_MULTI_FINANCED", "voucher_at_two_banks", financing=f,
                             voucher_id=v.id, note=f"voucher {v.id} financed by {first.id} and {second.id}")

    if i % 2:
        tonight_or_next(sim, second_financing)
    else:
        second_financing(sim)


def dup_bill_range_multi_financed(sim: Sim, i: int) -> None:
    """Two financings of overlapping sub-ranges of one bill."""
    trade = sim.trades.tier1()
    inv = trade.invoice
    plat = sim.platform
    bill = plat.new_bill(trade.buyer, trade.seller, inv.total, [inv.no], bank_accepted=bool(i % 2))
    first = plat.discount(bill, [(inv.no, bill.amount)])
    plat.deliver_bill([bill])
    start = bill.amount // 3 + 1
    second_ref = f"{bill.cd_no}:{start}-{bill.end}"
    face = bill.end - start + 1
    second = plat.book("BILL", plat.bank(first.bank), trade.seller.uscc, trade.buyer.uscc, second_ref,
                       [(inv.no, face)], face, bill.due, row_delay=0)
    note = f"ranges {bill.start}-{bill.end} and {start}-{bill.end} of {bill.cd_no} overlap"
    sim.labels.anomaly(sim.night, "DUP_BILL_RANGE_MULTI_FINANCED", "overlapping_ranges", financing=first,
                       bill_ref=bill.ref, invoice_no=inv.no, note=note)
    sim.labels.anomaly(sim.night, "DUP_BILL_RANGE_MULTI_FINANCED", "overlapping_ranges", financing=second,
                       bill_ref=second_ref, invoice_no=inv.no, note=note)


# ---- invoice status --------------------------------------------------------------------
def invoice_not_in_tax_data(sim: Sim, i: int) -> None:
    """A financing presents a 20-digit invoice number the tax feed never delivers."""
    check = "INVOICE_NOT_IN_TAX_DATA"
    rng = sim.rng
    if i % 2 == 0:
        supplier = flows.pick(sim, sim.world.tier1[int(rng.random() * len(sim.world.cores))])
        fake = sim.ids.invoice_no(sim.day - 3, supplier.region.province_code[:2])
        amount = (5_000_000 + int(rng.random() * 50_000_000)) // 100 * 100
        f = sim.platform.book("INVOICE", sim.platform.bank(), supplier.uscc, supplier.root.uscc, fake,
                              [(fake, amount)], amount, sim.day + 120, row_delay=0)
        sim.labels.anomaly(sim.night, check, "factoring_ghost_invoice", financing=f, invoice_no=fake,
                           note="factoring of an invoice number never delivered by the tax feed")
        return
    _trade, v, _pos = issued_voucher(sim)
    holder = v.holder
    child = sim.platform.split(v, percent_of(sim, v.amount, 30, 70))
    nxt = flows.pick(sim, holder.children)
    fake = sim.ids.invoice_no(sim.day - 2, nxt.region.province_code[:2])
    refs = [(fake, child.amount)]
    sim.platform.transfer(child, nxt, refs)
    f = finance_now(sim, child, refs)
    sim.labels.anomaly(sim.night, check, "transfer_on_ghost_invoice", financing=f, invoice_no=fake,
                       voucher_id=child.id, note="voucher transferred and financed on an invoice never delivered")


def invoice_red_flushed(sim: Sim, i: int) -> None:
    """A financed invoice fully red-flushed, or partly so the remainder < amount financed."""
    trade = sim.trades.tier1()
    inv = trade.invoice
    f = factor_trade(sim, trade)
    full = i % 2 == 0
    red_total = inv.total if full else inv.total * 60 // 100

    def flush(s: Sim) -> None:
        s.trades.red_letter(inv, red_total, flows.red_issue_time(s, inv))
        s.files.status_change(inv.no, "3", red_total, s.day - 1)
        s.labels.anomaly(s.night, "INVOICE_RED_FLUSHED", "red_flush_full" if full else "red_flush_partial",
                         financing=f, invoice_no=inv.no,
                         note=f"red-flushed {red_total} of {inv.total} fen after financing {f.face}")

    tonight_or_next(sim, flush)


def invoice_status_abnormal(sim: Sim, i: int) -> None:
    """A financed invoice turns 失控 (1), 作废 (2) or 异常 (4)."""
    status = ("1", "2", "4")[i % 3]
    if i % 2:
        trade = sim.trades.tier1()
        f = factor_trade(sim, trade)
    else:
        trade, v, pos = issued_voucher(sim)
        f = finance_now(sim, v, pos.take(v.amount))
    inv = trade.invoice

    def change(s: Sim) -> None:
        s.files.status_change(inv.no, status, 0, s.day - 1)
        s.labels.anomaly(s.night, "INVOICE_STATUS_ABNORMAL", f"status_{status}", financing=f, invoice_no=inv.no,
                         note=f"invoice status {status} after financing")

    tonight_or_next(sim, change)


# ---- voucher ledger ----------------------------------------------------------------------
def ledger_not_holder(sim: Sim, i: int) -> None:
    """Double spend: holder A transfers to B, then A finances or transfers it again."""
    trade, v, pos = issued_voucher(sim)
    a = v.holder
    b = flows.pick(sim, a.children)
    refs, _npos = flows.backing(sim, b, a, v.amount)
    sim.platform.transfer(v, b, refs)
    if i % 2 == 0:
        f = finance_now(sim, v, [(trade.invoice.no, v.amount)], by=a)
        sim.labels.anomaly(sim.night, "LEDGER_NOT_HOLDER", "finance_after_transfer", financing=f, voucher_id=v.id,
                           note=f"{a.uscc} financed {v.id} after transferring it to {b.uscc}")
    else:
        c = flows.pick(sim, a.children)
        refs2, _ = flows.backing(sim, c, a, v.amount)
        sim.platform.transfer(v, c, refs2, by=a)
        sim.labels.anomaly(sim.night, "LEDGER_NOT_HOLDER", "transfer_after_transfer", voucher_id=v.id,
                           note=f"{a.uscc} transferred {v.id} twice")


def ledger_split_exceeds(sim: Sim, i: int) -> None:
    """A SPLIT moving more than the parent has left; the oversized child is financed."""
    trade, v, _pos = issued_voucher(sim)
    original = v.amount
    sim.platform.split(v, original * 60 // 100)
    big = original * (60 + 10 * (i % 3)) // 100
    child = sim.platform.split(v, big)
    f = finance_now(sim, child, [(trade.invoice.no, big)])
    sim.labels.anomaly(sim.night, "LEDGER_SPLIT_EXCEEDS", "split_over_remaining", financing=f, voucher_id=child.id,
                       note=f"split {big} out of {v.id} with {original - original * 60 // 100} left")


def ledger_finance_after_maturity(sim: Sim, i: int) -> None:
    """A FINANCE on (or after) the voucher's maturity date."""
    tomorrow = sim.can_postpone()
    late = tomorrow and i % 2 == 1
    maturity = sim.days[sim.night + 1] if tomorrow and not late else sim.day
    ap_day = min(maturity - 30, sim.day - 1)
    trade = sim.trades.tier1(tw=Tweaks(payable_day=ap_day, payment_days=maturity - ap_day))
    v, pos = sim.platform.issue(trade)

    def finance(s: Sim) -> None:
        f = finance_now(s, v, pos.take(v.amount))
        s.labels.anomaly(s.night, "LEDGER_FINANCE_AFTER_MATURITY", "after_maturity" if late else "on_maturity",
                         financing=f, voucher_id=v.id, note=f"financed on {iso(s.day)}, maturity {iso(v.maturity)}")

    if not (tomorrow and sim.later(1, finance)):
        finance(sim)


def ledger_issue_without_payable(sim: Sim, i: int) -> None:
    """An ISSUE citing a payable no core ERP ever delivers; the voucher is financed."""
    trade = sim.trades.tier1()
    ap = trade.ap
    assert ap is not None
    ghost = f"{ap.bukrs}-{ap.gjahr}-{sim.ids.belnr(trade.buyer.core_no)}-001"
    v, pos = sim.platform.issue(trade, ap_ref=ghost)
    f = finance_now(sim, v, pos.take(v.amount))
    sim.labels.anomaly(sim.night, "LEDGER_ISSUE_WITHOUT_PAYABLE", "ghost_ap_ref", financing=f, voucher_id=v.id,
                       note=f"ISSUE cites payable {ghost}")


def ledger_move_after_final(sim: Sim, i: int) -> None:
    """A TRANSFER of a voucher already financed (or cancelled)."""
    trade, v, pos = issued_voucher(sim)
    a = v.holder
    b = flows.pick(sim, a.children)
    if i % 2 == 0:
        first = finance_now(sim, v, pos.take(v.amount))
        refs, _ = flows.backing(sim, b, a, v.amount)
        sim.platform.transfer(v, b, refs, by=a)
        sim.labels.anomaly(sim.night, "LEDGER_MOVE_AFTER_FINAL", "transfer_after_finance", voucher_id=v.id,
                           note=f"transferred after FINANCE {first.id} (that financing itself was legitimate)")
    else:
        sim.platform.cancel(v)
        refs, _ = flows.backing(sim, b, a, v.amount)
        sim.platform.transfer(v, b, refs, by=a)
        f = finance_now(sim, v, refs, by=b)
        sim.labels.anomaly(sim.night, "LEDGER_MOVE_AFTER_FINAL", "transfer_after_cancel", financing=f,
                           voucher_id=v.id, note="transferred after CANCEL, then financed by the transferee")


# ---- the bill exchange, paid receivables, the financing's timeline ------------------------------
def bill_exchange_conflict(sim: Sim, i: int) -> None:
    """A bill range discounted here that the exchange shows discounted at another bank, pledged,
    locked or in recourse."""
    trade = sim.trades.tier1()
    inv = trade.invoice
    plat = sim.platform
    bill = plat.new_bill(trade.buyer, trade.seller, inv.total, [inv.no], bank_accepted=bool(i % 2))
    refs = [(inv.no, bill.amount)]
    variant = i % 3
    if variant == 0:  # discounted yesterday at a bank that books it off the platform, again here today
        elsewhere = plat.bank()
        rate = plat.rate(elsewhere)
        bill.discount = Discount(sim.day - 1, rate, discounted(bill.amount, rate, bill.due - sim.day + 1), elsewhere)
        f = plat.discount(bill, refs, plat.bank(elsewhere), record=False)
        kind, note = "discounted_at_another_bank", f"the exchange shows {bill.ref} discounted by {elsewhere.cnaps}"
    elif variant == 1:
        pledgee = plat.bank()
        bill.pledge = Pledge(sim.day - 2, pledgee)
        bill.circulation = "TF0304"
        f = plat.discount(bill, refs)
        kind, note = "pledged", f"the exchange shows {bill.ref} pledged to {pledgee.cnaps}"
    else:
        bill.circulation = ("TF0302", "TF0402")[(i // 3) % 2]
        f = plat.discount(bill, refs)
        kind, note = f"circulation_{bill.circulation}", f"the exchange shows {bill.ref} in {bill.circulation}"
    plat.deliver_bill([bill])
    sim.labels.anomaly(sim.night, "BILL_EXCHANGE_CONFLICT", kind, financing=f, bill_ref=bill.ref, invoice_no=inv.no,
                       note=note)


def receivable_already_paid(sim: Sim, i: int) -> None:
    """The core pays a payable, then a voucher issued on it (or its invoice) is financed."""
    trade = sim.trades.tier1()
    flows.clear(sim, trade)  # paid tonight: cleared on the financing's value date
    assert trade.ap is not None
    note = f"payable {trade.ap.ref} cleared on {iso(sim.day)} by {trade.ap.augbl}"
    if i % 2 == 0:
        _trade, v, pos = issued_voucher(sim, trade)
        f = finance_now(sim, v, pos.take(v.amount))
        sim.labels.anomaly(sim.night, "RECEIVABLE_ALREADY_PAID", "voucher_on_paid_payable", financing=f,
                           voucher_id=v.id, note=note)
        return
    f = factor_trade(sim, trade)
    sim.labels.anomaly(sim.night, "RECEIVABLE_ALREADY_PAID", "factoring_paid_invoice", financing=f,
                       invoice_no=trade.invoice.no, note=note)


def financing_before_invoice(sim: Sim, i: int) -> None:
    """An invoice factoring valued before the invoice was issued, its row delivered now (or a
    night later)."""
    trade = sim.trades.tier1()
    inv = trade.invoice
    assert trade.ap is not None
    value_day = inv.day - 1 - i % 3
    f = sim.platform.book("INVOICE", sim.platform.bank(), inv.seller.uscc, inv.buyer.root.uscc, inv.no,
                          [(inv.no, inv.total)], inv.total, trade.ap.due, value_date=value_day, row_delay=i % 2)
    sim.labels.anomaly(sim.night, "FINANCING_BEFORE_INVOICE", "valued_before_issue", financing=f, invoice_no=inv.no,
                       note=f"value date {iso(value_day)}, invoice issued {iso(inv.day)}")


PLANTERS: tuple[Planter, ...] = (
    Planter("DUP_INVOICE_MULTI_FINANCED", "dup_invoice", dup_invoice_multi_financed),
    Planter("INVOICE_FINANCED_BEYOND_VALUE", "beyond_value", invoice_financed_beyond_value),
    Planter("DUP_VOUCHER_MULTI_FINANCED", "dup_voucher", dup_voucher_multi_financed),
    Planter("DUP_BILL_RANGE_MULTI_FINANCED", "dup_bill_range", dup_bill_range_multi_financed),
    Planter("INVOICE_NOT_IN_TAX_DATA", "ghost_invoice", invoice_not_in_tax_data),
    Planter("INVOICE_RED_FLUSHED", "red_flushed", invoice_red_flushed),
    Planter("INVOICE_STATUS_ABNORMAL", "status_abnormal", invoice_status_abnormal),
    Planter("LEDGER_NOT_HOLDER", "not_holder", ledger_not_holder),
    Planter("LEDGER_SPLIT_EXCEEDS", "split_exceeds", ledger_split_exceeds),
    Planter("LEDGER_FINANCE_AFTER_MATURITY", "after_maturity", ledger_finance_after_maturity),
    Planter("LEDGER_ISSUE_WITHOUT_PAYABLE", "issue_without_payable", ledger_issue_without_payable),
    Planter("LEDGER_MOVE_AFTER_FINAL", "move_after_final", ledger_move_after_final),
    Planter("BILL_EXCHANGE_CONFLICT", "bill_exchange_conflict", bill_exchange_conflict),
    Planter("RECEIVABLE_ALREADY_PAID", "receivable_already_paid", receivable_already_paid),
    Planter("FINANCING_BEFORE_INVOICE", "financing_before_invoice", financing_before_invoice),
)
