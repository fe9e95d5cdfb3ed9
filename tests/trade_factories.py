"""Hand-built trades for the tests of the four-flow match and the trade checks.

A :class:`Trade` is one sale behind a financing, with every document of the flows it has:
tier 1 (the buyer is a core enterprise with ERP files: purchase order, goods receipt,
payable), the invoice, the waybill(s), and the voucher step or bill that presents it.
Builders write rows with :func:`tests.factories.insert`; keyword arguments break pieces.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from stdnum.cn import uscc as stdnum_uscc

from foundation.values import format_fen
from reconciliation.catalogue import CATALOGUE
from reconciliation.check import Check, Family
from reconciliation.findings import CheckRun, run_catalogue
from tests.factories import financing, insert, invoice
from warehouse.connection import Warehouse

_serials = itertools.count(1)


def make_uscc(region: str = "320500", *, valid: bool = True) -> str:
    """A fresh USCC of a company registered in ``region``; with a wrong check character unless valid."""
    body = f"91{region}MA{next(_serials):07d}"
    check = stdnum_uscc.calc_check_digit(body)
    if valid:
        return body + check
    return body + ("0" if check != "0" else "1")


def qty(value: int | str | Decimal) -> Decimal:
    """A quantity as the warehouse stores it."""
    return Decimal(str(value))


def noon(day: dt.date) -> dt.datetime:
    """Midday of a date."""
    return dt.datetime.combine(day, dt.time(12))


def trade_invoice(wh: Warehouse, night: dt.date, invoice_no: str, total_fen: int, *, seller: str, buyer: str,
                  issued: dt.date, quantity: int | str | Decimal | None = 100, remark: str | None = None,
                  red_of: str | None = None, amount_fen: int | None = None, tax_fen: int | None = None,
                  lines_amount_fen: int | None = None, lines_tax_fen: int | None = None,
                  max_line_tax_gap_fen: int = 0) -> None:
    """A 数电票 with one line (tax 13/113 of the total unless given); the line sums follow the header."""
    tax = tax_fen if tax_fen is not None else total_fen * 13 // 113
    amount = amount_fen if amount_fen is not None else total_fen - tax
    insert(wh, "tax_invoices", night, invoice_no=invoice_no, is_red=red_of is not None, original_invoice_no=red_of,
           vat_kind="01", seller_uscc=seller, buyer_uscc=buyer, amount_fen=amount, tax_fen=tax, total_fen=total_fen,
           issue_time=dt.datetime.combine(issued, dt.time(9, 30)), remark=remark, line_count=1,
           lines_amount_fen=amount if lines_amount_fen is None else lines_amount_fen,
           lines_tax_fen=tax if lines_tax_fen is None else lines_tax_fen,
           lines_quantity=None if quantity is None else qty(quantity), max_line_tax_gap_fen=max_line_tax_gap_fen)


def waybill(wh: Warehouse, night: dt.date, waybill_no: str, *, consignor: str, consignee: str,
            quantity: int | str | Decimal, shipped: dt.date, received: dt.date | None, po_no: str | None = None,
            status: str | None = None, carrier: str = "91440300MA5F00004K") -> None:
    """An 电子路单: status 3 (signed for) when ``received`` is given, else 2 (in transit)."""
    insert(wh, "waybills", night, carrier_dir_uscc=carrier, waybill_no=waybill_no, po_no=po_no,
           carrier_uscc=carrier, consignment_time=noon(shipped), despatch_time=noon(shipped),
           receipt_time=None if received is None else noon(received), consignor_uscc=consignor,
           consignee_uscc=consignee, quantity=qty(quantity), status=status or ("3" if received else "2"))


def purchase_order(wh: Warehouse, night: dt.date, core: str, ebeln: str, *, vendor: str, lifnr: str,
                   ordered: dt.date, quantity: int | str | Decimal, net_fen: int) -> None:
    """A one-item purchase order of ``core`` to ``vendor`` (and the vendor master row)."""
    insert(wh, "erp_vendors", night, core_uscc=core, lifnr=lifnr, name="vendor", vendor_uscc=vendor)
    insert(wh, "erp_po_items", night, core_uscc=core, ebeln=ebeln, ebelp="00010", lifnr=lifnr, po_date=ordered,
           quantity=qty(quantity), unit="PC", net_value_fen=net_fen)


def goods_receipt(wh: Warehouse, night: dt.date, core: str, mblnr: str, *, ebeln: str, quantity: int | str | Decimal,
                  posted: dt.date, delivery_note: str | None, movement: str = "101") -> None:
    """A goods movement of ``core`` against an order (101 receipt, 102 reversal)."""
    insert(wh, "erp_goods_receipts", night, core_uscc=core, mblnr=mblnr, mjahr=str(posted.year), zeile="0001",
           movement_type=movement, ebeln=ebeln, ebelp="00010", quantity=qty(quantity), posting_date=posted,
           delivery_note=delivery_note)


def payable(wh: Warehouse, night: dt.date, core: str, belnr: str, *, invoice_no: str | None, amount_fen: int,
            posted: dt.date, lifnr: str, ebeln: str | None = None, debit_credit: str = "H",
            document_type: str = "RE") -> str:
    """A vendor open item of ``core`` citing ``invoice_no`` in its text; returns its ap_ref."""
    ref = f"1000-{posted.year}-{belnr}-001"
    insert(wh, "erp_ap_items", night, core_uscc=core, bukrs="1000", lifnr=lifnr, gjahr=str(posted.year), belnr=belnr,
           buzei="001", ap_ref=ref, posting_date=posted, document_date=posted, document_type=document_type,
           debit_credit=debit_credit, amount_fen=amount_fen, currency="CNY", baseline_date=posted, payment_days=180,
           due_date=posted + dt.timedelta(days=180), item_text=f"发票{invoice_no}" if invoice_no else "货款",
           invoice_no=invoice_no, ebeln=ebeln)
    return ref


def voucher_event(wh: Warehouse, night: dt.date, event_id: str, event_type: str, voucher_id: str, *,
                  issuer: str, from_uscc: str, to_uscc: str, amount_fen: int, when: dt.date,
                  invoices: Mapping[str, int] | None = None, parent: str | None = None, ap_ref: str | None = None,
                  financing_id: str | None = None) -> None:
    """A platform voucher event and the invoices it cites (invoice no → fen)."""
    invoices = dict(invoices or {})
    position = insert(wh, "voucher_events", night, event_id=event_id, event_time=noon(when), event_time_text=noon(when).isoformat(),
           event_type=event_type, voucher_id=voucher_id, parent_voucher_id=parent, issuer_uscc=issuer,
           from_uscc=from_uscc, to_uscc=to_uscc, amount_fen=amount_fen,
           maturity_date=when + dt.timedelta(days=180),
           invoice_nos=";".join(f"{k}:{format_fen(v)}" for k, v in invoices.items()), ap_ref=ap_ref,
           financing_id=financing_id)
    for invoice_no, fen in invoices.items():
        insert(wh, "voucher_event_invoices", night, src_pos=position, event_id=event_id, invoice_no=invoice_no,
               amount_fen=fen)


def financed_by(wh: Warehouse, night: dt.date, financing_id: str, product: str, *, invoices: Mapping[str, int],
                applicant: str, debtor: str, value_date: dt.date, **kwargs: object) -> None:
    """A financing (see :func:`tests.factories.financing`) with its applicant, debtor and value date."""
    financing(wh, night, financing_id, product, invoices=dict(invoices), **kwargs)
    wh.con.execute(
        "UPDATE financings SET applicant_uscc = ?, debtor_uscc = ?, value_date = ? WHERE financing_id = ?",
        [applicant, debtor, value_date, financing_id],
    )


@dataclass
class Trade:
    """One sale behind a financing and the ids of its documents."""

    invoice_no: str
    seller: str
    buyer: str
    total_fen: int
    quantity: int
    issued: dt.date
    financing_id: str
    voucher_id: str | None = None
    ebeln: str | None = None
    waybill_nos: list[str] = field(default_factory=list)
    ap_ref: str | None = None


_numbers = itertools.count(1)


def _next(prefix: str, width: int) -> str:
    return f"{prefix}{next(_numbers):0{width}d}"


def invoice_number() -> str:
    """A fresh 20-digit invoice number (province 44, never one of tests.factories' 2632… numbers)."""
    return "26440" + f"{next(_numbers):015d}"


def tier1_trade(wh: Warehouse, night: dt.date, *, core: str, seller: str, total_fen: int = 113_000_00,
                quantity: int = 100, ordered: dt.date | None = None, issued: dt.date | None = None,
                value_date: dt.date | None = None, financing_id: str | None = None, bank: str = "313521000011",
                remark: bool = True, with_po: bool = True, with_payable: bool = True,
                with_receipt: bool = True, waybills: Sequence[tuple[int, str]] | None = None,
                consignee: str | None = None, waybill_shipped: dt.date | None = None,
                received_on: dt.date | None = None, finance: bool = True, presented_fen: int | None = None,
                invoice_no: str | None = None, applicant: str | None = None) -> Trade:
    """A clean tier-1 sale of ``seller`` to ``core`` financed as a voucher, unless told otherwise.

    ``waybills``: (quantity, status) per waybill of the order (default one of the whole
    quantity, signed for).  Dates default to a timeline ending ten days before ``night``.
    """
    ordered = ordered or night - dt.timedelta(days=20)
    shipped = waybill_shipped or ordered + dt.timedelta(days=1)
    received = received_on or ordered + dt.timedelta(days=3)
    issued = issued or ordered + dt.timedelta(days=4)
    value_date = value_date or night - dt.timedelta(days=2)
    invoice_no = invoice_no or invoice_number()
    ebeln = _next("45", 8)
    lifnr = _next("0000", 6)
    tax = total_fen * 13 // 113
    trade = Trade(invoice_no, seller, core, total_fen, quantity, issued,
                  financing_id or _next("F", 12), ebeln=ebeln if with_po else None)
    if with_po:
        purchase_order(wh, night, core, ebeln, vendor=seller, lifnr=lifnr, ordered=ordered, quantity=quantity,
                       net_fen=total_fen - tax)
    for wb_qty, status in [(quantity, "3")] if waybills is None else waybills:
        number = _next("SD", 11)
        waybill(wh, night, number, consignor=seller, consignee=consignee or core, quantity=wb_qty, shipped=shipped,
                received=received if status == "3" else None, po_no=ebeln, status=status)
        trade.waybill_nos.append(number)
        if with_receipt and with_po and status == "3":
            goods_receipt(wh, night, core, _next("50", 8), ebeln=ebeln, quantity=wb_qty, posted=received,
                          delivery_note=number)
    trade_invoice(wh, night, invoice_no, total_fen, seller=seller, buyer=core, issued=issued, quantity=quantity,
                  remark=f"订单{ebeln}" if remark else None)
    if with_payable:
        trade.ap_ref = payable(wh, night, core, _next("51", 8), invoice_no=invoice_no, amount_fen=total_fen,
                               posted=issued, lifnr=lifnr, ebeln=ebeln if with_po else None)
    if finance:
        trade.voucher_id = "V" + f"{next(_numbers):016x}"
        voucher_event(wh, night, _next("EV", 8), "ISSUE", trade.voucher_id, issuer=core, from_uscc=core,
                      to_uscc=seller, amount_fen=total_fen, when=issued + dt.timedelta(days=1),
                      invoices={invoice_no: total_fen}, ap_ref=trade.ap_ref)
        financed_by(wh, night, trade.financing_id, "VOUCHER", invoices={invoice_no: presented_fen or total_fen},
                    voucher=trade.voucher_id, applicant=applicant or seller, debtor=core, value_date=value_date,
                    bank=bank, face_fen=presented_fen or total_fen)
    return trade


def deep_trade(wh: Warehouse, night: dt.date, *, core: str, holder: str, seller: str, parent_voucher: str,
               total_fen: int = 30_000_00, quantity: int = 2000, issued: dt.date | None = None,
               value_date: dt.date | None = None, order_no: str | None = None, remark: bool = False,
               waybills: Sequence[tuple[int, str]] | None = None, consignee: str | None = None,
               financing_id: str | None = None, transfer_from: str | None = None,
               applicant: str | None = None, invoice_no: str | None = None) -> Trade:
    """A clean tier-2 sale of ``seller`` to ``holder`` (a tier-1 supplier), paid by a child of
    ``parent_voucher`` split off and transferred to the seller, who finances it.

    The waybill cites ``order_no`` (the seller's order number); the invoice's remark states it
    only when ``remark``.
    """
    issued = issued or night - dt.timedelta(days=5)
    value_date = value_date or night - dt.timedelta(days=1)
    order_no = order_no or _next("RF-PO-", 6)
    invoice_no = invoice_no or invoice_number()
    trade = Trade(invoice_no, seller, holder, total_fen, quantity, issued, financing_id or _next("F", 12))
    for wb_qty, status in [(quantity, "3")] if waybills is None else waybills:
        number = _next("SD", 11)
        waybill(wh, night, number, consignor=seller, consignee=consignee or holder, quantity=wb_qty,
                shipped=issued - dt.timedelta(days=2), received=issued - dt.timedelta(days=1) if status == "3" else None,
                po_no=order_no, status=status)
        trade.waybill_nos.append(number)
    trade_invoice(wh, night, invoice_no, total_fen, seller=seller, buyer=holder, issued=issued, quantity=quantity,
                  remark=f"订单{order_no}" if remark else None)
    child = "V" + f"{next(_numbers):016x}"
    trade.voucher_id = child
    voucher_event(wh, night, _next("EV", 8), "SPLIT", child, issuer=core, from_uscc=holder, to_uscc=holder,
                  amount_fen=total_fen, when=issued, parent=parent_voucher)
    voucher_event(wh, night, _next("EV", 8), "TRANSFER", child, issuer=core, from_uscc=transfer_from or holder,
                  to_uscc=seller, amount_fen=total_fen, when=issued, invoices={invoice_no: total_fen})
    financed_by(wh, night, trade.financing_id, "VOUCHER", invoices={invoice_no: total_fen}, voucher=child,
                applicant=applicant or seller, debtor=core, value_date=value_date, face_fen=total_fen)
    return trade


def run_trade_catalogue(wh: Warehouse, day: dt.date, params: Mapping[str, int | str] | None = None,
                        checks: Sequence[Check] | None = None, *, full: bool = False) -> CheckRun:
    """Run the catalogue (the first and trade checks unless ``checks`` says otherwise) for one night
    (``full``: recomputed from every night, the oracle)."""
    return run_catalogue(wh.con, day, params=params, checks=CATALOGUE.of(Family.FIRST, Family.TRADE) if checks is None else checks,
                         full=full)


def one_blocked_one_clean(wh: Warehouse, day: dt.date, core: str) -> None:
    """A night whose financing FOVER is blocked (an invoice financed twice its value, no waybill:
    two findings) and FCLEAN is clean (a whole tier-1 trade)."""
    tier1_trade(wh, day, core=core, seller=make_uscc(), financing_id="FCLEAN")
    invoice(wh, day, "26320000000000000001", 10_000_00)
    financing(wh, day, "FOVER", "INVOICE", invoices={"26320000000000000001": 20_000_00})

