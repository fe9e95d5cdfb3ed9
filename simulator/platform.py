"""The SCF platform and its partner banks: voucher events, financings, bill records.

State kept here is only what a voucher or bill needs while it is being worked on;
finished vouchers are dropped by their callers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from simulator.documents import BillRange, Discount, Endorsement, Financing, RowEdit, Trade
from simulator.money import discounted
from simulator.money import fen_text as format_fen
from simulator.render import refs_text
from simulator.timefmt import DAY, HOUR, iso, offset_time
from simulator.world import Bank, Company

if TYPE_CHECKING:
    from simulator.context import Sim

P_LATE_ROW = 0.1  # a FINANCE event whose financings.csv row arrives the next night
RATE_SPREAD_BP = 60


@dataclass(slots=True, eq=False)
class Voucher:
    """A debt voucher (债权凭证) while it is being worked on."""

    id: str
    parent_id: str
    issuer: Company
    holder: Company
    amount: int  # remaining
    maturity: int
    state: str = "open"  # open, financed, settled, cancelled
    splits: int = 0


@dataclass(slots=True, eq=False)
class Position:
    """The invoices a holder can present for the vouchers it received in one step,
    each with the amount still presentable (never more than the invoice total)."""

    holder: Company
    refs: list[list[object]] = field(default_factory=list)  # [invoice_no, capacity]

    def take(self, amount: int) -> list[tuple[str, int]]:
        """Consume ``amount`` of capacity, first invoice first; returns ``(no, fen)`` refs."""
        out: list[tuple[str, int]] = []
        left = amount
        for ref in self.refs:
            cap = ref[1]
            assert isinstance(cap, int)
            if left <= 0:
                break
            if cap <= 0:
                continue
            use = min(cap, left)
            ref[1] = cap - use
            out.append((str(ref[0]), use))
            left -= use
        if left > 0:
            raise AssertionError("position over-presented")  # a clean flow never does
        return out


class Platform:
    """Writes platform events and financings (and bill records) for the current night."""

    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self._k = 0
        self._step = max(1, (12 * HOUR * 1000) // max(1, sim.trades_per_night * 4 + 1000))
        self._banks_by_cnaps = {b.cnaps: b for b in sim.world.banks}

    def start_night(self) -> None:
        """Reset the event clock to 08:00 of the night."""
        self._k = 0

    def _time(self) -> int:
        self._k += 1
        sod = min(8 * HOUR + self._k * self._step // 1000, DAY - 1)
        return self.sim.day * DAY + sod

    # ---- banks ---------------------------------------------------------------------
    def bank(self, *not_these: Bank) -> Bank:
        """A random partner bank other than ``not_these``."""
        return self.sim.world.other_bank(self.sim.rng, *not_these)

    def bank_of(self, cnaps: str) -> Bank:
        """The partner bank with this CNAPS code."""
        return self._banks_by_cnaps[cnaps]

    def rate(self, bank: Bank) -> int:
        """An annual discount rate in basis points for this bank tonight."""
        return bank.base_bp + int(self.sim.rng.random() * RATE_SPREAD_BP)

    # ---- events ----------------------------------------------------------------------
    def event(self, etype: str, voucher_id: str, issuer: Company, frm: str, to: str, amount: int, maturity: int,
              *, parent: str = "", refs: Sequence[tuple[str, int]] = (), ap_ref: str = "",
              financing_id: str = "") -> str:
        """Write one voucher event; returns its id."""
        sim = self.sim
        eid = sim.ids.event_id()
        sim.counts.add("voucher_events")
        sim.files.events.row((eid, offset_time(self._time()), etype, voucher_id, parent, issuer.uscc, frm, to,
                              format_fen(amount), iso(maturity), refs_text(refs), ap_ref, financing_id))
        return eid

    def issue(self, trade: Trade, *, amount: int | None = None, ap_ref: str | None = None,
              maturity: int | None = None) -> tuple[Voucher, Position]:
        """ISSUE a voucher on the trade's payable to its tier-1 supplier."""
        ap = trade.ap
        assert ap is not None or (ap_ref is not None and maturity is not None)
        value = amount if amount is not None else (ap.amount if ap is not None else trade.invoice.total)
        core, supplier = trade.buyer, trade.seller
        v = Voucher(self.sim.ids.voucher_id(), "", core, supplier, value,
                    maturity if maturity is not None else ap.due)  # type: ignore[union-attr]
        refs = [(trade.invoice.no, value)]
        self.event("ISSUE", v.id, core, core.uscc, supplier.uscc, value, v.maturity, refs=refs,
                   ap_ref=ap_ref if ap_ref is not None else ap.ref)  # type: ignore[union-attr]
        return v, Position(supplier, [[trade.invoice.no, value]])

    def split(self, v: Voucher, amount: int, *, by: Company | None = None) -> Voucher:
        """SPLIT ``amount`` out of ``v`` into a new child held by the same holder."""
        holder = by or v.holder
        child = Voucher(self.sim.ids.voucher_id(), v.id, v.issuer, holder, amount, v.maturity)
        self.event("SPLIT", child.id, v.issuer, holder.uscc, holder.uscc, amount, v.maturity, parent=v.id)
        v.amount -= amount
        v.splits += 1
        return child

    def transfer(self, v: Voucher, to: Company, refs: Sequence[tuple[str, int]], *,
                 by: Company | None = None) -> None:
        """TRANSFER the whole of ``v`` to ``to`` (``by`` overrides who gives it)."""
        frm = by or v.holder
        self.event("TRANSFER", v.id, v.issuer, frm.uscc, to.uscc, v.amount, v.maturity, refs=refs)
        v.holder = to

    def finance_voucher(self, v: Voucher, refs: list[tuple[str, int]], *, bank: Bank | None = None,
                        by: Company | None = None, row_delay: int | None = None,
                        as_delivered: RowEdit | None = None) -> Financing:
        """FINANCE ``v`` at a bank and book the VOUCHER financing."""
        applicant = by or v.holder
        bank = bank or self.bank()
        f = self.book("VOUCHER", bank, applicant.uscc, v.issuer.uscc, v.id, refs, v.amount, v.maturity,
                      row_delay=row_delay, as_delivered=as_delivered)
        self.event("FINANCE", v.id, v.issuer, applicant.uscc, bank.cnaps, v.amount, v.maturity, refs=refs,
                   financing_id=f.id)
        v.state = "financed"
        return f

    def settle(self, v: Voucher) -> None:
        """SETTLE: the issuer pays the holder at maturity."""
        self.event("SETTLE", v.id, v.issuer, v.holder.uscc, v.issuer.uscc, v.amount, v.maturity)
        v.state = "settled"

    def cancel(self, v: Voucher) -> None:
        """CANCEL an unused voucher back to its issuer."""
        self.event("CANCEL", v.id, v.issuer, v.holder.uscc, v.issuer.uscc, v.amount, v.maturity)
        v.state = "cancelled"

    # ---- financings --------------------------------------------------------------------
    def book(self, product: str, bank: Bank, applicant: str, debtor: str, asset_ref: str,
             refs: list[tuple[str, int]], face: int, maturity: int, *, value_date: int | None = None,
             rate_bp: int | None = None, financed: int | None = None, row_delay: int | None = None,
             status: str = "ACTIVE", as_delivered: RowEdit | None = None) -> Financing:
        """Book a financing and deliver its row tonight or (``row_delay=1``) tomorrow
        (``as_delivered`` bends the row's text: a malformed row)."""
        sim = self.sim
        value = value_date if value_date is not None else sim.day
        rate = rate_bp if rate_bp is not None else self.rate(bank)
        cash = financed if financed is not None else discounted(face, rate, max(0, maturity - value))
        f = Financing(sim.ids.financing_id(), bank, product, applicant, debtor, asset_ref, refs, face, cash, rate,
                      value, maturity, status, sim.night, as_delivered)
        if row_delay is None:
            row_delay = 1 if sim.rng.random() < P_LATE_ROW else 0
        if row_delay and sim.later(1, lambda s: s.files.financing(f)):
            f.row_night = sim.night + 1
        else:
            sim.files.financing(f)
        return f

    # ---- bills -----------------------------------------------------------------------
    def new_bill(self, drawer: Company, payee: Company, amount: int, invoices: list[str], *,
                 bank_accepted: bool = False, transferable: bool = True) -> BillRange:
        """A supply-chain bill of ``amount`` fen, range ``1-amount``, drawn tonight."""
        sim = self.sim
        day = sim.day
        acceptor: Company | Bank = self.bank_of(drawer.account_bank) if bank_accepted else drawer
        cd_no = sim.ids.cd_no("8" if bank_accepted else "7", drawer.account_bank, day)
        due = day + 90 + int(sim.rng.random() * 80)
        return BillRange(cd_no, 1, amount, "AC01" if bank_accepted else "AC02", day, due, drawer, acceptor, payee,
                         transferable, list(invoices))

    @staticmethod
    def split_range(r: BillRange, first_amount: int) -> tuple[BillRange, BillRange]:
        """Split a range into ``first_amount`` fen and the rest."""
        assert 0 < first_amount < r.amount
        a = BillRange(r.cd_no, r.start, r.start + first_amount - 1, r.bill_type, r.issue, r.due, r.drawer,
                      r.acceptor, r.payee, r.transferable, list(r.invoices), list(r.endorsements))
        b = BillRange(r.cd_no, r.start + first_amount, r.end, r.bill_type, r.issue, r.due, r.drawer,
                      r.acceptor, r.payee, r.transferable, list(r.invoices), list(r.endorsements))
        return a, b

    def endorse(self, r: BillRange, to: Company, invoice_no: str) -> None:
        """Endorse a range from its holder to ``to`` against ``invoice_no``."""
        assert r.transferable
        r.endorsements.append(Endorsement(self.sim.day, r.holder, to))
        r.invoices.append(invoice_no)

    def discount(self, r: BillRange, refs: list[tuple[str, int]], bank: Bank | None = None,
                 *, record: bool = True) -> Financing:
        """Discount a range at a bank: the Dscnt on the record and a BILL financing."""
        bank = bank or self.bank()
        rate = self.rate(bank)
        cash = discounted(r.amount, rate, r.due - self.sim.day)
        if record:
            r.discount = Discount(self.sim.day, rate, cash, bank)
        return self.book("BILL", bank, r.holder.uscc, r.drawer.uscc, r.ref, refs, r.amount, r.due,
                         rate_bp=rate, financed=cash, row_delay=0)

    def deliver_bill(self, ranges: Sequence[BillRange]) -> None:
        """Write the records of a bill's ranges."""
        for r in ranges:
            self.sim.files.bill(r)
