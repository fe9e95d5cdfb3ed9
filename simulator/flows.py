"""Clean business: what happens to trades when nobody cheats.

Invariants every flow here keeps (so a correct engine blocks none of it):

* a financing presents only invoices whose seller is the applicant, and the buyer is
  the party the asset came from (the core for ISSUE / bill drawer / factoring debtor,
  the previous holder for a TRANSFER or an endorsement);
* what all financings present of one invoice never exceeds its total
  (:class:`simulator.platform.Position` keeps the remaining capacity);
* vouchers move only while open, only by their holder, within their amount, before
  maturity; every ISSUE rests on a payable delivered the same night;
* financed invoices never get a status change or a red-letter invoice;
* every document of a financed trade is delivered on or before the financing's night,
  and goods were received before its value date.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from simulator.documents import BillRange, Financing, GoodsReceipt, Invoice, Trade
from simulator.money import tax_of
from simulator.platform import Position, Voucher
from simulator.timefmt import DAY, HOUR, year
from simulator.trades import Tweaks
from simulator.world import Bank, Company

if TYPE_CHECKING:
    from simulator.context import Sim

P_TIER1 = 0.42  # share of trades sold to a core enterprise (the rest: deeper tiers)
P_SETTLE_CANDIDATE = 0.01  # tier-1 trades whose voucher matures (and is settled) within the run
P_SHORT_FACTORING = 0.01  # tier-1 trades factored short, repaid (or defaulted) within the run
DEFAULT_EVERY = 4  # one short factoring in four defaults
P_CANCELLED = 0.03  # factorings the bank cancels the next night (row restated CANCELLED)
P_VOUCHER, P_BILL, P_FACTOR = 0.50, 0.12, 0.10  # how a core pays a tier-1 trade (rest: bank transfer)
P_RETURN = 0.1  # unfinanced tier-1 trades with a partial return (102, red-letter, KG memo)
P_DEEP_STATUS = 0.04  # unfinanced deeper-tier invoices with a status change
P_DEFER = 0.15  # a voucher decision taken one or two nights later
P_CANCEL = 0.04
P_TWO_INVOICES = 0.15  # a transfer backed by two invoices
# per holder tier: finance whole, split + transfer a part, transfer whole, split into financed children
TIER_PLAN: dict[int, tuple[float, float, float, float]] = {
    1: (0.30, 0.40, 0.08, 0.06),
    2: (0.40, 0.33, 0.10, 0.0),
    3: (0.40, 0.33, 0.10, 0.0),
    4: (0.40, 0.33, 0.10, 0.0),
    5: (0.75, 0.0, 0.0, 0.0),
}
MAX_SPLITS = 3


@dataclass(slots=True, eq=False)
class Factored:
    """A clean invoice factoring remembered for cross-night duplicate planting."""

    financing: Financing
    trade: Trade
    amount: int


def pick(sim: Sim, items: list[Company]) -> Company:
    """A random element."""
    return items[int(sim.rng.random() * len(items))]


def percent_of(sim: Sim, amount: int, lo: int, hi: int) -> int:
    """``amount`` x a random whole percentage in [lo, hi], rounded down to the yuan
    (at least one yuan, less than the amount when lo, hi < 100)."""
    pct = lo + int(sim.rng.random() * (hi - lo + 1))
    return max(100, amount * pct // 100 // 100 * 100)


# ---- entry points ------------------------------------------------------------------
def one_trade(sim: Sim) -> None:
    """Generate one clean trade and whatever pays for it."""
    if sim.rng.random() < P_TIER1:
        tier1_trade(sim)
    else:
        deep_trade(sim)


def tier1_trade(sim: Sim) -> None:
    """A tier-1 sale paid by voucher, bill, factoring, or plain bank transfer."""
    rng = sim.rng
    if not sim.is_last:
        r = rng.random()
        if r < P_SETTLE_CANDIDATE:
            settle_candidate(sim)
            return
        if r < P_SETTLE_CANDIDATE + P_SHORT_FACTORING:
            short_factoring(sim)
            return
    trade = sim.trades.tier1()
    r = rng.random()
    if r < P_VOUCHER:
        v, pos = sim.platform.issue(trade)
        decide(sim, v, pos, fresh=True)
    elif r < P_VOUCHER + P_BILL:
        bill_flow(sim, trade)
    elif r < P_VOUCHER + P_BILL + P_FACTOR:
        amount = trade.invoice.total if rng.random() < 0.7 else percent_of(sim, trade.invoice.total, 50, 90)
        f = factor_trade(sim, trade, amount)
        if rng.random() < P_CANCELLED and sim.later(1, lambda s: restate(s, f, "CANCELLED")):
            return
        sim.reservoir.offer(Factored(f, trade, amount))
    elif rng.random() < P_RETURN and not sim.later(1, lambda s: partial_return(s, trade)):
        partial_return(sim, trade)


def deep_trade(sim: Sim) -> None:
    """An unfinanced sale between suppliers of one tree; sometimes its invoice changes status."""
    rng = sim.rng
    tier = 2 + int(rng.random() * 4)
    seller = pick(sim, sim.world.by_tier[tier])
    assert seller.parent is not None
    trade = sim.trades.deep(seller, seller.parent)
    if rng.random() < P_DEEP_STATUS and not sim.later(1, lambda s: status_change(s, trade.invoice)):
        status_change(sim, trade.invoice)


# ---- vouchers ------------------------------------------------------------------------
def decide(sim: Sim, v: Voucher, pos: Position, fresh: bool) -> None:
    """What the holder of an open voucher does with it (maybe on a later night)."""
    if v.state != "open":
        return
    rng = sim.rng
    if rng.random() < P_DEFER and sim.later(1 + int(rng.random() * 2), lambda s: decide(s, v, pos, fresh)):
        return
    holder = v.holder
    if fresh and holder.tier == 1 and not v.parent_id and rng.random() < P_CANCEL:
        sim.platform.cancel(v)
        return
    p_fin, p_split, p_whole, p_multi = TIER_PLAN[holder.tier]
    can_pass = bool(holder.children) and holder.tier < 5
    can_split = v.amount >= 400 and v.splits < MAX_SPLITS
    r = rng.random()
    if r < p_fin:
        finance(sim, v, pos)
    elif r < p_fin + p_split:
        if can_pass and can_split:
            split_transfer(sim, v, pos)
        else:
            finance(sim, v, pos)
    elif r < p_fin + p_split + p_whole:
        if can_pass:
            transfer_whole(sim, v, pos)
    elif r < p_fin + p_split + p_whole + p_multi and can_split:
        financed_children(sim, v, pos)
    # else: the holder keeps it until maturity (beyond the run)


def finance(sim: Sim, v: Voucher, pos: Position, bank: Bank | None = None) -> Financing:
    """FINANCE the whole voucher, presenting the holder's own invoices."""
    return sim.platform.finance_voucher(v, pos.take(v.amount), bank=bank)


def backing(sim: Sim, seller: Company, buyer: Company, amount: int) -> tuple[list[tuple[str, int]], Position]:
    """Deeper-tier trade(s) evidencing a transfer of ``amount`` from ``buyer`` to ``seller``."""
    rng = sim.rng
    if amount >= 20_000 and rng.random() < P_TWO_INVOICES:
        first = percent_of(sim, amount, 30, 70)
        parts = [first, amount - first]
    else:
        parts = [amount]
    refs: list[tuple[str, int]] = []
    pos = Position(seller)
    for part in parts:
        extra = 0 if rng.random() < 0.4 else part * int(rng.random() * 25) // 100
        trade = sim.trades.deep(seller, buyer, target_total=part + extra)
        refs.append((trade.invoice.no, part))
        pos.refs.append([trade.invoice.no, part])
    return refs, pos


def split_transfer(sim: Sim, v: Voucher, pos: Position) -> None:
    """Split a part off, pass it to one of the holder's suppliers, then decide on the rest."""
    holder = v.holder
    child = sim.platform.split(v, percent_of(sim, v.amount, 20, 80))
    nxt = pick(sim, holder.children)
    refs, npos = backing(sim, nxt, holder, child.amount)
    sim.platform.transfer(child, nxt, refs)
    decide(sim, child, npos, fresh=True)
    decide(sim, v, pos, fresh=False)


def transfer_whole(sim: Sim, v: Voucher, pos: Position) -> None:
    """Pass the whole voucher to one of the holder's suppliers."""
    holder = v.holder
    nxt = pick(sim, holder.children)
    refs, npos = backing(sim, nxt, holder, v.amount)
    sim.platform.transfer(v, nxt, refs)
    decide(sim, v, npos, fresh=True)


def financed_children(sim: Sim, v: Voucher, pos: Position) -> list[Financing]:
    """Split into 2-3 children, each financed once (possibly at different banks)."""
    out = []
    for _ in range(2 + int(sim.rng.random() * 2)):
        if v.amount < 400 or v.splits >= MAX_SPLITS:
            break
        child = sim.platform.split(v, percent_of(sim, v.amount, 20, 50))
        out.append(finance(sim, child, pos))
    if sim.rng.random() < 0.5:
        out.append(finance(sim, v, pos))
    return out


def short_tenor_trade(sim: Sim) -> tuple[Trade, int]:
    """A tier-1 trade whose payable falls due on a later night of the run (and that night)."""
    rng = sim.rng
    m_night = sim.night + 1 + int(rng.random() * (sim.last - sim.night))
    m_day = sim.days[m_night]
    days = (30, 45, 60)[int(rng.random() * 3)]
    ap_day = min(m_day - days, sim.day - 1)
    return sim.trades.tier1(tw=Tweaks(payable_day=ap_day, payment_days=m_day - ap_day)), m_night


def settle_candidate(sim: Sim) -> None:
    """A short-tenor voucher that matures within the run and is settled on that night."""
    trade, m_night = short_tenor_trade(sim)
    v, _pos = sim.platform.issue(trade)
    sim.later(m_night - sim.night, lambda s: settle(s, v, trade))


def settle(sim: Sim, v: Voucher, trade: Trade) -> None:
    """SETTLE at maturity and restate the payable as cleared."""
    if v.state != "open":
        return
    sim.platform.settle(v)
    clear(sim, trade)


def clear(sim: Sim, trade: Trade) -> None:
    """The core pays the payable: its row is delivered again with AUGDT/AUGBL."""
    ap = trade.ap
    assert ap is not None
    ap.augdt = sim.day
    ap.augbl = sim.ids.belnr(trade.buyer.core_no)
    sim.files.erp[trade.buyer.core_no].ap_item(ap)


def short_factoring(sim: Sim) -> None:
    """A factoring maturing within the run: REPAID (payable cleared) or DEFAULTED then."""
    trade, m_night = short_tenor_trade(sim)
    f = factor_trade(sim, trade)
    paid = sim.turn("short_factoring") % DEFAULT_EVERY != 0

    def mature(s: Sim) -> None:
        restate(s, f, "REPAID" if paid else "DEFAULTED")
        if paid:
            clear(s, trade)

    sim.later(m_night - sim.night, mature)


def restate(sim: Sim, f: Financing, status: str) -> None:
    """Deliver a financing's row again with a new status."""
    f.status = status
    sim.files.financing(f)


# ---- bills and factoring ---------------------------------------------------------------
def factor(sim: Sim, inv: Invoice, amount: int, maturity: int, *, bank: Bank | None = None,
           applicant: Company | None = None, value_date: int | None = None) -> Financing:
    """INVOICE factoring of ``amount`` of ``inv`` (applicant: the seller unless told)."""
    return sim.platform.book("INVOICE", bank or sim.platform.bank(), (applicant or inv.seller).uscc,
                             inv.buyer.root.uscc, inv.no, [(inv.no, amount)], amount, maturity,
                             value_date=value_date, row_delay=0)


def factor_trade(sim: Sim, trade: Trade, amount: int | None = None, **kw: object) -> Financing:
    """INVOICE factoring of a trade's invoice (whole total by default), maturing with its
    payable (or 120 days after the invoice when there is none)."""
    inv = trade.invoice
    maturity = trade.ap.due if trade.ap is not None else inv.day + 120
    return factor(sim, inv, inv.total if amount is None else amount, maturity, **kw)  # type: ignore[arg-type]


def bill_flow(sim: Sim, trade: Trade) -> None:
    """The core pays by supply-chain bill; the payee holds, discounts, splits or endorses it."""
    rng = sim.rng
    plat = sim.platform
    inv = trade.invoice
    amount = trade.invoice.total
    seller = trade.seller
    kids = seller.children
    r = rng.random()
    bill = plat.new_bill(trade.buyer, seller, amount, [inv.no], bank_accepted=rng.random() < 0.3,
                         transferable=not (r < 0.25 and rng.random() < 0.3))
    ranges = [bill]
    if r < 0.25:
        pass  # held to maturity
    elif r < 0.60 or not kids:
        plat.discount(bill, [(inv.no, amount)])
    elif r < 0.85 and amount >= 400:
        kept, passed = plat.split_range(bill, percent_of(sim, amount, 30, 70))
        plat.discount(kept, [(inv.no, kept.amount)])
        endorse_down(sim, passed)
        ranges = [kept, passed]
    else:
        endorse_down(sim, bill)
    plat.deliver_bill(ranges)


def endorse_down(sim: Sim, r: BillRange) -> None:
    """Endorse a range to one of the holder's suppliers, who usually discounts it."""
    holder = r.holder
    nxt = pick(sim, holder.children)
    refs, _pos = backing(sim, nxt, holder, r.amount)
    sim.platform.endorse(r, nxt, refs[0][0])
    r.invoices.extend(no for no, _amount in refs[1:])
    if sim.rng.random() < 0.7:
        sim.platform.discount(r, refs)


# ---- invoice life after delivery ---------------------------------------------------------
def red_issue_time(sim: Sim, original: Invoice) -> int:
    """When a red-letter invoice for ``original`` is issued: the day before tonight,
    never before the original."""
    return max(original.issued + HOUR, (sim.day - 1) * DAY + 9 * HOUR + int(sim.rng.random() * 8 * HOUR))


def partial_return(sim: Sim, trade: Trade) -> None:
    """Part of an unfinanced tier-1 delivery goes back: 102 reversal, red-letter invoice,
    KG credit memo, status 3 with the red-flushed amount."""
    inv = trade.invoice
    rng = sim.rng
    first = trade.po_items[0]
    back_qty = max(1, first.quantity * (10 + int(rng.random() * 20)) // 100)
    if back_qty >= first.quantity or not trade.receipts:
        return
    day = sim.day - 1
    core = trade.buyer
    erp = sim.files.erp[core.core_no]
    erp.receipt(GoodsReceipt(sim.ids.mblnr(core.core_no), year(day), "0001", "102", first.ebeln, first.ebelp,
                             -back_qty, day, trade.receipts[0].xblnr))
    line = inv.lines[0]
    red_amount = line.amount * back_qty // line.quantity
    red_total = min(inv.total - 1, red_amount + tax_of(red_amount, line.product.rate_pct))
    if red_total <= 0:
        return
    red = sim.trades.red_letter(inv, red_total, red_issue_time(sim, inv))
    sim.trades.payable(trade.seller, red, day, first.ebeln, red_total, credit_memo=True)
    sim.files.status_change(inv.no, "3", red_total, day)


def status_change(sim: Sim, inv: Invoice) -> None:
    """A status change of an unfinanced invoice: red-flushed (fully or partly), 作废, 失控,
    or 异常 later restored to 正常."""
    rng = sim.rng
    kind = int(rng.random() * 5)
    day = sim.day - 1
    if kind == 0:
        sim.trades.red_letter(inv, inv.total, red_issue_time(sim, inv))
        sim.files.status_change(inv.no, "3", inv.total, day)
    elif kind == 1:
        part = percent_of(sim, inv.total, 20, 60)
        if part < inv.total:
            sim.trades.red_letter(inv, part, red_issue_time(sim, inv))
            sim.files.status_change(inv.no, "3", part, day)
    elif kind == 2:
        sim.files.status_change(inv.no, "2", 0, day)
    elif kind == 3:
        sim.files.status_change(inv.no, "1", 0, day)
    else:
        sim.files.status_change(inv.no, "4", 0, day)
        sim.later(1, lambda s: s.files.status_change(inv.no, "0", 0, s.day - 1))

