"""erp/<core_uscc>/: the SAP exports of one core enterprise (vendors, PO lines, goods
receipts, vendor open items).

Columns are found by their SAP names in the header; identifiers stay text (leading
zeros of ``LIFNR``, ``EBELP`` … are kept).  ``core_uscc`` is the folder the file was
delivered in.  A row with a bad value is quarantined with its line number.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from connectors.kinds import FileKind, folder_uscc
from connectors.parsers import fields as F
from connectors.parsers.base import BadRecord, ParseContext, Sink
from connectors.parsers.csvread import Row, parse_table
from foundation.vocabulary import QuarantineReason
from warehouse.schemas import PARSED, PRICE, QTY

_INVOICE_IN_TEXT = re.compile(r"(?<![0-9])[0-9]{20}(?![0-9])")

Converter = Callable[[str | None, Row], tuple[Any, ...]]
_VENDOR, _PO_ITEM, _GOODS_RECEIPT, _AP_ITEM = (
    PARSED[t].Record for t in ("erp_vendors", "erp_po_items", "erp_goods_receipts", "erp_ap_items")
)


def _vendor(core: str | None, row: Row) -> tuple[Any, ...]:
    lifnr, name1, stcd5 = row
    return _VENDOR(core_uscc=core, lifnr=F.required_ident("LIFNR", lifnr), name=F.text(name1), vendor_uscc=F.ident("STCD5", stcd5))


def _po_item(core: str | None, row: Row) -> tuple[Any, ...]:
    ebeln, ebelp, lifnr, bedat, matnr, txz01, menge, meins, netpr, netwr = row
    return _PO_ITEM(
        core_uscc=core,
        ebeln=F.required_ident("EBELN", ebeln),
        ebelp=F.required_ident("EBELP", ebelp),
        lifnr=F.ident("LIFNR", lifnr),
        po_date=F.ymd("BEDAT", bedat),
        matnr=F.ident("MATNR", matnr),
        item_text=F.text(txz01),
        quantity=F.decimal("MENGE", menge, QTY),
        unit=F.text(meins),
        net_price=F.decimal("NETPR", netpr, PRICE),
        net_value_fen=F.fen("NETWR", netwr),
    )


def _goods_receipt(core: str | None, row: Row) -> tuple[Any, ...]:
    mblnr, mjahr, zeile, bwart, ebeln, ebelp, menge, budat, xblnr = row
    return _GOODS_RECEIPT(
        core_uscc=core,
        mblnr=F.required_ident("MBLNR", mblnr),
        mjahr=F.required_ident("MJAHR", mjahr),
        zeile=F.required_ident("ZEILE", zeile),
        movement_type=F.text(bwart),
        ebeln=F.ident("EBELN", ebeln),
        ebelp=F.ident("EBELP", ebelp),
        quantity=F.decimal("MENGE", menge, QTY),
        posting_date=F.ymd("BUDAT", budat),
        delivery_note=F.ident("XBLNR", xblnr),
    )


def _ap_item(core: str | None, row: Row) -> tuple[Any, ...]:
    (bukrs, lifnr, gjahr, belnr, buzei, budat, bldat, blart, shkzg, wrbtr, waers, zfbdt, zbd1t, sgtxt, ebeln,
     augdt, augbl, zbd2t, zbd3t) = row  # fmt: skip
    key = (
        bukrs := F.required_ident("BUKRS", bukrs),
        gjahr := F.required_ident("GJAHR", gjahr),
        belnr := F.required_ident("BELNR", belnr),
        buzei := F.required_ident("BUZEI", buzei),
    )
    baseline = F.ymd("ZFBDT", zfbdt)
    name, days = _net_days(F.integer("ZBD1T", zbd1t), F.integer("ZBD2T", zbd2t), F.integer("ZBD3T", zbd3t))
    text = F.text(sgtxt)
    invoice = _INVOICE_IN_TEXT.search(text) if text else None
    return _AP_ITEM(
        core_uscc=core,
        bukrs=bukrs,
        lifnr=F.ident("LIFNR", lifnr),
        gjahr=gjahr,
        belnr=belnr,
        buzei=buzei,
        ap_ref="-".join(key),
        posting_date=F.ymd("BUDAT", budat),
        document_date=F.ymd("BLDAT", bldat),
        document_type=F.text(blart),
        debit_credit=F.text(shkzg),
        amount_fen=F.required_fen("WRBTR", wrbtr),
        currency=F.text(waers),
        baseline_date=baseline,
        payment_days=days,
        due_date=_due_date(baseline, name, days),
        item_text=text,
        invoice_no=invoice.group() if invoice else None,
        ebeln=F.ident("EBELN", ebeln),
        clearing_date=F.ymd("AUGDT", augdt),
        clearing_doc=F.ident("AUGBL", augbl),
    )


def _net_days(zbd1t: int | None, zbd2t: int | None, zbd3t: int | None) -> tuple[str, int | None]:
    """The payment-terms period that sets SAP's net due date, as (column, days): ``ZBD3T`` if
    set, else ``ZBD2T`` if set, else ``ZBD1T`` (INPUTS.md).  Empty and ``0`` are not set, as
    SAP reads its initial value; the net period may itself be empty (0 days: due on ``ZFBDT``)."""
    for name, days in (("ZBD3T", zbd3t), ("ZBD2T", zbd2t)):
        if days:
            return name, days
    return "ZBD1T", zbd1t


def _due_date(baseline: dt.date | None, name: str, days: int | None) -> dt.date | None:
    """Net due date ``ZFBDT`` + the net period ``name`` (:func:`_net_days`; empty counts as 0 days)."""
    if baseline is None:
        return None
    try:
        return baseline + dt.timedelta(days=days or 0)
    except OverflowError:
        raise BadRecord(QuarantineReason.BAD_VALUE, f"{name}: {days} days after {baseline} is out of range") from None


# table, required columns, optional columns (an export may lack them), converter
_SPECS: dict[FileKind, tuple[str, tuple[str, ...], tuple[str, ...], Converter]] = {
    FileKind.ERP_VENDORS: ("erp_vendors", ("LIFNR", "NAME1", "STCD5"), (), _vendor),
    FileKind.ERP_PO_ITEMS: (
        "erp_po_items",
        ("EBELN", "EBELP", "LIFNR", "BEDAT", "MATNR", "TXZ01", "MENGE", "MEINS", "NETPR", "NETWR"),
        (),
        _po_item,
    ),
    FileKind.ERP_GOODS_RECEIPTS: (
        "erp_goods_receipts",
        ("MBLNR", "MJAHR", "ZEILE", "BWART", "EBELN", "EBELP", "MENGE", "BUDAT", "XBLNR"),
        (),
        _goods_receipt,
    ),
    FileKind.ERP_AP_ITEMS: (
        "erp_ap_items",
        ("BUKRS", "LIFNR", "GJAHR", "BELNR", "BUZEI", "BUDAT", "BLDAT", "BLART", "SHKZG", "WRBTR", "WAERS",
         "ZFBDT", "ZBD1T", "SGTXT", "EBELN"),
        # clearing fields: absent from exports of open items only (BSIK); discount periods: only
        # where the terms have them
        ("AUGDT", "AUGBL", "ZBD2T", "ZBD3T"),
        _ap_item,
    ),
}  # fmt: skip


def parse_erp(path: Path, ctx: ParseContext, sink: Sink) -> None:
    """Parse one of the four ERP exports (which one: ``ctx.kind``) into its ``erp_*`` table."""
    table, required, optional, convert = _SPECS[ctx.kind]
    core = folder_uscc(ctx.rel_path)
    parse_table(path, ctx, sink, table, required, lambda row: convert(core, row), optional)
