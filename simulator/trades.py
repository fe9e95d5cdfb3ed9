"""Trades and their evidence documents, clean by construction unless tweaked.

A *tier-1 trade* (supplier -> core) leaves a PO, waybill(s), goods receipts, an
invoice and usually a payable; a *deeper-tier trade* leaves an invoice and waybill(s)
whose ``OriginalDocumentNumber`` is the buyer's own order number.  Dates are derived
backwards from the night, so every document of a clean trade predates the night it is
delivered on: PO < consignment <= despatch <= receipt <= invoice <= payable < night.

:class:`Tweaks` lets the planters break exactly one thing at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from simulator.catalog import DRAWERS, Product
from simulator.documents import ApItem, GoodsReceipt, Invoice, Line, PoItem, Trade, Waybill
from simulator.money import tax_of, unit_price_text
from simulator.timefmt import DAY, HOUR, year
from simulator.world import Company

if TYPE_CHECKING:
    from simulator.context import Sim

P_MULTI_WAYBILL = 0.06  # single-item orders shipped in several waybills (1:N)
P_PERCENT_RATE = 0.3  # TaxRate written "13%" instead of "0.13"
P_DATE_ONLY = 0.1  # RequestTime written as a bare date
P_PLAIN_VAT = 0.08  # 普票 instead of 专票
P_KR = 0.2  # payable booked as KR instead of RE
PAYMENT_DAYS = (90, 120, 180)


@dataclass(frozen=True)
class Tweaks:
    """Deviations from a clean trade (the defaults are a clean trade)."""

    book_payable: bool = True
    payable_short_by: int = 0  # payable = invoice total - this many fen (抹零)
    payable_day: int | None = None  # AP posting day; default 1..6 days before the night
    payment_days: int | None = None
    waybills: int | None = None  # 0: no waybill; None: usually 1, sometimes several
    goods_receipt: bool = True
    waybill_status: str = "3"
    waybill_qty_pct: int = 100  # waybill quantity as a share of the invoiced quantity
    invoice_before_po: int = 0  # > 0: PO dated this many days after the invoice
    invoice_day: int | None = None
    receipt_day: int | None = None
    total_skew: int = 0  # fen added to the header total only
    header_amount_skew: int = 0  # fen added to header amount (and total): != sum of lines
    line_tax_gap: int = 0  # fen added to the first line's tax (<= 6 keeps the line legal)
    guard: bool = True  # keep the total unique per seller/buyer pair
    fine_unit_price: bool = False  # unit price with 6 decimals (qty x price != amount)


CLEAN = Tweaks()


_M64 = (1 << 64) - 1


class AmountGuard:
    """Keeps clean invoices of one seller/buyer pair from sharing a total.

    A fixed bitmap of ``2**bits`` bits indexed by an explicit integer mix of
    ``(seller, buyer, total)`` (no ``hash()``: the same on every platform and process).
    A false hit merely makes the caller pick another amount.
    """

    def __init__(self, bits: int) -> None:
        self._mask = (1 << bits) - 1
        self._map = bytearray(1 << max(0, bits - 3))

    def claim(self, seller: Company, buyer: Company, total: int) -> bool:
        """Record the triple; False if it (probably) was already used."""
        h = ((seller.idx << 40) ^ (buyer.idx << 20) ^ total) * 0x9E3779B97F4A7C15 & _M64
        h = (h ^ (h >> 29)) & self._mask
        i, bit = h >> 3, 1 << (h & 7)
        if self._map[i] & bit:
            return False
        self._map[i] |= bit
        return True


def lines_for_total(product: Product, total: int, qty_hint: int | None = None) -> list[Line]:
    """One line of ``product`` whose amount + tax is exactly ``total`` (may be negative).

    |amount x rate - tax| stays under one fen.
    """
    rate = product.rate_pct
    sign = -1 if total < 0 else 1
    t = abs(total)
    amount = (t * 200 + 100 + rate) // (2 * (100 + rate))
    tax = t - amount
    mid = (product.price_lo + product.price_hi) // 2
    qty = qty_hint if qty_hint else max(1, (amount + mid // 2) // mid)
    return [Line(product, sign * qty, unit_price_text(amount, qty), sign * amount, sign * tax)]


class TradeFactory:
    """Builds trades and delivers their documents into the current night's files."""

    def __init__(self, sim: Sim) -> None:
        self.sim = sim

    # ---- pieces ----------------------------------------------------------------------
    def _forward_lines(self, products: tuple[Product, ...], n: int, fine: bool) -> list[Line]:
        rnd = self.sim.rng.random
        k = len(products)
        start = int(rnd() * k)
        lines = []
        for j in range(n if n < k else k):
            p = products[(start + j) % k]
            qty = p.qty_lo + int(rnd() * (p.qty_hi - p.qty_lo + 1))
            price = p.price_lo + int(rnd() * (p.price_hi - p.price_lo + 1))
            amount = qty * price
            tax = (amount * p.rate_pct + 50) // 100
            if fine:  # price carried with more decimals; amount rounded from it
                amount += int(rnd() * 81) - 40 if amount > 100 else 0
                tax = tax_of(amount, p.rate_pct)
                lines.append(Line(p, qty, unit_price_text(amount, qty), amount, tax))
            else:
                lines.append(Line(p, qty, f"{price // 100}.{price % 100:02d}", amount, tax))
        return lines

    def _guarded_lines(self, seller: Company, buyer: Company, n: int, tw: Tweaks) -> list[Line]:
        claim = self.sim.guard.claim
        for _ in range(8):
            lines = self._forward_lines(seller.products, n, tw.fine_unit_price)
            total = sum([ln.amount + ln.tax for ln in lines])
            if not tw.guard or claim(seller, buyer, total):
                return lines
        return lines

    def _target_lines(self, seller: Company, buyer: Company, target: int, tw: Tweaks) -> list[Line]:
        product = seller.products[int(self.sim.rng.random() * len(seller.products))]
        total = target
        for _ in range(8):
            if not tw.guard or self.sim.guard.claim(seller, buyer, total):
                break
            total += 1
        return lines_for_total(product, total)

    def invoice(self, seller: Company, buyer: Company, issued: int, lines: list[Line], remark: str,
                order_no: str = "", tw: Tweaks = CLEAN, red_of: str = "") -> Invoice:
        """Number, sum up and deliver an invoice."""
        sim = self.sim
        rng = sim.rng
        if tw is not CLEAN and tw.line_tax_gap:
            first = lines[0]
            lines[0] = Line(first.product, first.quantity, first.unit_price, first.amount, first.tax + tw.line_tax_gap)
        if len(lines) == 1:
            amount, tax = lines[0].amount, lines[0].tax
        else:
            amount = sum([ln.amount for ln in lines])
            tax = sum([ln.tax for ln in lines])
        amount += tw.header_amount_skew
        rnd = rng.random
        inv = Invoice(sim.ids.invoice_no(issued // DAY, seller.region.province_code[:2]), seller, buyer, issued,
                      lines, amount, tax, amount + tax + tw.total_skew, remark, order_no, red_of,
                      "02" if rnd() < P_PLAIN_VAT else "01", rnd() < P_PERCENT_RATE, rnd() < P_DATE_ONLY,
                      DRAWERS[int(rnd() * len(DRAWERS))])
        sim.files.tax.invoice(inv)
        return inv

    def _waybills(self, order_no: str, seller: Company, buyer: Company, lines: list[Line], receipt_ts: int,
                  tw: Tweaks, unit: str) -> list[Waybill]:
        sim = self.sim
        rnd = sim.rng.random
        qty = lines[0].quantity if len(lines) == 1 else sum(ln.quantity for ln in lines)
        n = tw.waybills
        if n is None:
            n = 2 + int(rnd() * 2) if len(lines) == 1 and qty >= 3 and rnd() < P_MULTI_WAYBILL else 1
        n = min(n, qty)
        if n <= 0:
            return []
        first = lines[0].product
        goods = first.text + ("等" if len(lines) > 1 else "")
        carriers = sim.world.carriers
        carrier = carriers[int(rnd() * len(carriers))]
        status = tw.waybill_status
        deliver = sim.files.waybills.waybill
        out = []
        received = receipt_ts
        share = qty // n
        for j in range(n):
            if j:
                received -= 4 * HOUR + int(rnd() * 26 * HOUR)
            despatched = received - 6 * HOUR - int(rnd() * 54 * HOUR)
            consigned = despatched - HOUR - int(rnd() * 7 * HOUR)
            w_qty = share if j < n - 1 else qty - share * (n - 1)
            if tw.waybill_qty_pct != 100:
                w_qty = max(1, w_qty * tw.waybill_qty_pct // 100)
            w = Waybill(sim.ids.waybill_no(carrier.prefix, consigned // DAY), order_no, carrier, seller, buyer,
                        consigned, despatched, received if status == "3" else None, status, goods, w_qty, unit,
                        w_qty * first.grams, max(1, -(-w_qty // first.per_pack)))
            deliver(w)
            out.append(w)
        return out

    def _times(self, inv_day: int, rcpt_day: int) -> tuple[int, int]:
        """Receipt and invoice timestamps; the invoice follows the receipt on the same day."""
        rng = self.sim.rng
        receipt_ts = rcpt_day * DAY + 8 * HOUR + int(rng.random() * 10 * HOUR)
        inv_ts = inv_day * DAY + 9 * HOUR + int(rng.random() * 9 * HOUR)
        if inv_day == rcpt_day and inv_ts < receipt_ts + 1800:
            inv_ts = min(receipt_ts + 1800 + int(rng.random() * 2 * HOUR), inv_day * DAY + DAY - 60)
        return receipt_ts, inv_ts

    # ---- trades ----------------------------------------------------------------------
    def tier1(self, supplier: Company | None = None, *, tw: Tweaks = CLEAN, target_total: int | None = None,
              items: int | None = None) -> Trade:
        """A supplier's sale to its core enterprise, with ERP documents."""
        sim = self.sim
        rng, day, ids = sim.rng, sim.day, sim.ids
        if supplier is None:
            core_no = int(rng.random() * len(sim.world.cores))
            firsts = sim.world.tier1[core_no]
            supplier = firsts[int(rng.random() * len(firsts))]
        core = supplier.root
        ap_day = tw.payable_day if tw.payable_day is not None else day - 1 - int(rng.random() * 6)
        inv_day = tw.invoice_day if tw.invoice_day is not None else ap_day - int(rng.random() * 3)
        rcpt_day = tw.receipt_day if tw.receipt_day is not None else inv_day - int(rng.random() * 3)
        if target_total is not None:
            lines = self._target_lines(supplier, core, target_total, tw)
        else:
            n_items = items or (1 if rng.random() < 0.7 else 2 + int(rng.random() * 2))
            lines = self._guarded_lines(supplier, core, n_items, tw)
        receipt_ts, inv_ts = self._times(inv_day, rcpt_day)
        ebeln = ids.ebeln(core.core_no)
        waybills = self._waybills(ebeln, supplier, core, lines, receipt_ts, tw, lines[0].product.sap_unit)
        first_consigned = min((w.consigned for w in waybills), default=receipt_ts - 2 * DAY)
        po_day = first_consigned // DAY - 2 - int(rng.random() * 14)
        if tw.invoice_before_po:
            po_day = inv_day + tw.invoice_before_po
        erp = sim.files.erp[core.core_no]
        po_items = []
        for j, ln in enumerate(lines):
            qty = abs(ln.quantity)
            price = (ln.amount * 2 + qty) // (2 * qty)
            item = PoItem(ebeln, f"{(j + 1) * 10:05d}", supplier.lifnr, po_day, ln.product, qty, price, ln.amount)
            erp.po_item(item)
            po_items.append(item)
        receipts = []
        if tw.goods_receipt and tw.waybill_status == "3":
            for w in waybills:
                mblnr = ids.mblnr(core.core_no)
                budat = (w.received or receipt_ts) // DAY
                per_item = [(p, p.quantity) for p in po_items] if len(waybills) == 1 else [(po_items[0], w.quantity)]
                for z, (p, qty) in enumerate(per_item):
                    g = GoodsReceipt(mblnr, year(budat), f"{z + 1:04d}", "101", ebeln, p.ebelp, qty, budat, w.no)
                    erp.receipt(g)
                    receipts.append(g)
        inv = self.invoice(supplier, core, inv_ts, lines, f"订单{ebeln}", ebeln, tw)
        ap = None
        if tw.book_payable:
            ap = self.payable(supplier, inv, ap_day, ebeln, inv.total - tw.payable_short_by, tw.payment_days)
        return Trade(inv, waybills, po_items, receipts, ap, sim.night)

    def payable(self, supplier: Company, inv: Invoice, ap_day: int, ebeln: str, amount: int,
                payment_days: int | None = None, credit_memo: bool = False) -> ApItem:
        """Book and deliver a vendor open item citing ``inv`` (KG credit memo if asked)."""
        sim = self.sim
        rng = sim.rng
        core = supplier.root
        ap = ApItem(
            bukrs=core.bukrs,
            lifnr=supplier.lifnr,
            gjahr=year(ap_day),
            belnr=sim.ids.belnr(core.core_no),
            buzei="001",
            budat=ap_day,
            bldat=inv.day,
            blart="KG" if credit_memo else ("KR" if rng.random() < P_KR else "RE"),
            shkzg="S" if credit_memo else "H",
            amount=-amount if credit_memo else amount,
            zfbdt=ap_day,
            zbd1t=payment_days or PAYMENT_DAYS[int(rng.random() * len(PAYMENT_DAYS))],
            sgtxt=f"发票{inv.no}",
            ebeln=ebeln,
        )
        sim.files.erp[core.core_no].ap_item(ap)
        return ap

    def deep(self, seller: Company, buyer: Company, *, tw: Tweaks = CLEAN, target_total: int | None = None) -> Trade:
        """A sale between suppliers (or any two companies): invoice and waybill(s) only."""
        sim = self.sim
        rng, day = sim.rng, sim.day
        inv_day = tw.invoice_day if tw.invoice_day is not None else day - 1 - int(rng.random() * 7)
        rcpt_day = tw.receipt_day if tw.receipt_day is not None else inv_day - int(rng.random() * 3)
        if target_total is not None:
            lines = self._target_lines(seller, buyer, target_total, tw)
        else:
            lines = self._guarded_lines(seller, buyer, 1 if rng.random() < 0.8 else 2, tw)
        receipt_ts, inv_ts = self._times(inv_day, rcpt_day)
        order_day = rcpt_day - 7 - int(rng.random() * 10)  # before any consignment of the order
        if tw.invoice_before_po:
            order_day = inv_day + tw.invoice_before_po
        order_no = sim.ids.order_no(buyer.short, order_day)
        waybills = self._waybills(order_no, seller, buyer, lines, receipt_ts, tw, lines[0].product.unit)
        inv = self.invoice(seller, buyer, inv_ts, lines, f"订单{order_no}", order_no, tw)
        return Trade(inv, waybills, night=sim.night)

    def red_letter(self, original: Invoice, red_total: int, issued: int) -> Invoice:
        """Deliver a red-letter invoice reversing ``red_total`` fen of ``original``."""
        if red_total == original.total:
            lines = [Line(ln.product, -ln.quantity, ln.unit_price, -ln.amount, -ln.tax) for ln in original.lines]
        else:
            first = original.lines[0]
            share = max(1, abs(first.quantity) * red_total // max(1, original.total))
            lines = lines_for_total(first.product, -red_total, share)
        return self.invoice(original.seller, original.buyer, issued, lines,
                            f"红字发票 原发票号码{original.no}", original.order_no, CLEAN, red_of=original.no)

    def reissue(self, original: Invoice, minutes_later: int = 7, issued: int | None = None) -> Invoice:
        """Deliver a copy of ``original`` under a new number (same parties and lines), issued
        ``minutes_later`` on the same day unless ``issued`` says when."""
        lines = [Line(ln.product, ln.quantity, ln.unit_price, ln.amount, ln.tax) for ln in original.lines]
        if issued is None:
            issued = min(original.issued + minutes_later * 60, original.day * DAY + DAY - 1)
        return self.invoice(original.seller, original.buyer, issued, lines, original.remark, original.order_no)

    def extra_invoice(self, trade: Trade, qty_pct: int, hours_later: int = 1) -> Invoice:
        """Another invoice on the same order for ``qty_pct`` % of its quantity, with a payable."""
        first = trade.invoice.lines[0]
        qty = max(1, first.quantity * qty_pct // 100)
        amount = first.amount * qty // first.quantity
        lines = [Line(first.product, qty, first.unit_price, amount, tax_of(amount, first.product.rate_pct))]
        orig = trade.invoice
        issued = min(orig.issued + hours_later * HOUR, orig.day * DAY + DAY - 1)
        inv = self.invoice(trade.seller, trade.buyer, issued, lines, orig.remark, orig.order_no, Tweaks(guard=False))
        if trade.ap is not None:
            self.payable(trade.seller, inv, trade.ap.budat, trade.ap.ebeln, inv.total)
        return inv
