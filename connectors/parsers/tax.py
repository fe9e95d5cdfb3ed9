"""tax/: 数电票 ``EInvoice`` XML (one per file or an ``EInvoiceBatch``) and the status feed.

Every field is read by its full path below ``EInvoice`` (the line total
``TotaltaxIncludedAmount`` and the header total ``TotalTax-includedAmount`` differ only
by case and hyphen).  An invoice that breaks the format (number not 20 digits, no
seller, an amount that does not parse …) is quarantined with its ordinal in the file;
business rules (totals that do not add up, an invalid USCC) are left to the checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from lxml import etree

from connectors import values
from connectors.parsers import fields as F
from connectors.parsers.base import BAD_ENUM, BadRecord, ParseContext, Sink
from connectors.parsers.csvread import Row, parse_table
from connectors.parsers.xmlread import Paths, parse_parent_child_records
from connectors.schemas import LINEAGE, PRICE, QTY, RATE, SCHEMAS

_ROOTS = frozenset({"EInvoiceBatch"})
_STATUSES = frozenset({"0", "1", "2", "3", "4"})

_NO = "Header/EIid"
_ISSUE_TYPE = "Header/InherentLabel/InIssuType/LabelCode"
_VAT_KIND = "Header/InherentLabel/GeneralOrSpecialVAT/LabelCode"
_SELLER_ID = "EInvoiceData/SellerInformation/SellerIdNum"
_SELLER_NAME = "EInvoiceData/SellerInformation/SellerName"
_BUYER_ID = "EInvoiceData/BuyerInformation/BuyerIdNum"
_BUYER_NAME = "EInvoiceData/BuyerInformation/BuyerName"
_AMOUNT = "EInvoiceData/BasicInformation/TotalAmWithoutTax"
_TAX = "EInvoiceData/BasicInformation/TotalTaxAm"
_TOTAL = "EInvoiceData/BasicInformation/TotalTax-includedAmount"
_ISSUE_TIME = "EInvoiceData/BasicInformation/RequestTime"
_ORIGINAL = "EInvoiceData/SpecificInformation/RedEInvoice/OriginalInvoiceCode"
_REMARK = "EInvoiceData/AdditionalInformation/Remark"
_BUREAU = "TaxSupervisionInfo/TaxBureauCode"
_LINES = "EInvoiceData/IssuItemInformation"
_INVOICE = Paths(
    [_NO, _ISSUE_TYPE, _VAT_KIND, _SELLER_ID, _SELLER_NAME, _BUYER_ID, _BUYER_NAME, _AMOUNT, _TAX, _TOTAL,
     _ISSUE_TIME, _ORIGINAL, _REMARK, _BUREAU],
    repeated=[_LINES],
)  # fmt: skip
_LINE = Paths(
    ["ItemName", "SpecMod", "MeaUnits", "Quantity", "UnPrice", "Amount", "TaxRate", "ComTaxAm", "TaxClassificationCode"]
)

_ONE_FEN = Decimal(1)
# where the aggregated values sit in a tax_invoice_lines row (the columns after the lineage ones)
_LINE_COLUMNS = SCHEMAS["tax_invoice_lines"].names[len(LINEAGE) :]
_L_QUANTITY, _L_AMOUNT, _L_TAX = (_LINE_COLUMNS.index(c) for c in ("quantity", "amount_fen", "tax_fen"))


def parse_invoices(path: Path, ctx: ParseContext, sink: Sink) -> None:
    """Parse a 数电票 XML file into ``tax_invoices`` and ``tax_invoice_lines``."""
    parse_parent_child_records(path, ctx, sink, "EInvoice", _ROOTS, ("tax_invoices", "tax_invoice_lines"), _invoice)


def _invoice(elem: etree._Element) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    texts, groups = _INVOICE.read(elem)
    get = texts.get
    invoice_no = F.identifier(_NO, get(_NO), F.INVOICE_NO, "a 20-digit invoice number")
    label = F.required(_ISSUE_TYPE, get(_ISSUE_TYPE))
    if label != "Y" and not label.startswith("N"):
        raise BadRecord(BAD_ENUM, f"{_ISSUE_TYPE}: {label!r} is neither Y (blue) nor N (red-letter)")
    is_red = label != "Y"
    # The red-letter label may carry the reversed invoice's number after the N.
    original = F.ident(_ORIGINAL, get(_ORIGINAL)) or (F.ident(_ISSUE_TYPE, label[1:]) if is_red else None)
    lines = [_line(invoice_no, n, line) for n, line in enumerate(groups.get(_LINES, ()), 1)]
    row = (
        invoice_no,
        is_red,
        original,
        F.text(get(_VAT_KIND)),
        F.required_ident(_SELLER_ID, get(_SELLER_ID)),
        F.text(get(_SELLER_NAME)),
        F.ident(_BUYER_ID, get(_BUYER_ID)),
        F.text(get(_BUYER_NAME)),
        F.required_fen(_AMOUNT, get(_AMOUNT)),
        F.required_fen(_TAX, get(_TAX)),
        F.required_fen(_TOTAL, get(_TOTAL)),
        F.convert(_ISSUE_TIME, values.parse_invoice_time, get(_ISSUE_TIME)),
        F.text(get(_REMARK)),
        F.text(get(_BUREAU)),
        *_line_aggregates(lines),
    )
    return row, [line for line, _ in lines]


def _line(invoice_no: str, line_no: int, elem: etree._Element) -> tuple[tuple[Any, ...], int | None]:
    """One ``IssuItemInformation``: the line row and its tax gap in fen (None without a rate)."""
    try:
        get = _LINE.read(elem)[0].get
        quantity = F.decimal("Quantity", get("Quantity"), QTY)
        amount = F.required_fen("Amount", get("Amount"))
        rate = F.decimal("TaxRate", get("TaxRate"), RATE, parse=values.parse_tax_rate)
        tax = F.required_fen("ComTaxAm", get("ComTaxAm"))
        unit_price = F.decimal("UnPrice", get("UnPrice"), PRICE)
    except BadRecord as err:
        raise BadRecord(err.reason_code, f"{_LINES}[{line_no}]/{err.reason}") from None
    row = (
        invoice_no,
        line_no,
        F.text(get("ItemName")),
        F.text(get("SpecMod")),
        F.text(get("MeaUnits")),
        quantity,
        unit_price,
        amount,
        rate,
        tax,
        F.text(get("TaxClassificationCode")),
    )
    gap = None if rate is None else int(abs(amount * rate - tax).quantize(_ONE_FEN, ROUND_HALF_UP))
    return row, gap


def _line_aggregates(lines: Iterable[tuple[tuple[Any, ...], int | None]]) -> tuple[Any, ...]:
    """line_count, lines_amount_fen, lines_tax_fen, lines_quantity, max_line_tax_gap_fen."""
    count = amount = tax = 0
    quantity: Decimal | None = None
    gap: int | None = None
    for row, line_gap in lines:
        count += 1
        amount += row[_L_AMOUNT]
        tax += row[_L_TAX]
        if row[_L_QUANTITY] is not None:
            quantity = row[_L_QUANTITY] if quantity is None else quantity + row[_L_QUANTITY]
        if line_gap is not None and (gap is None or line_gap > gap):
            gap = line_gap
    if quantity is not None:
        quantity = F.fit("lines_quantity", quantity, QTY)
    return count, amount, tax, quantity, gap


def parse_status(path: Path, ctx: ParseContext, sink: Sink) -> None:
    """Parse ``tax/invoice_status.csv`` into ``tax_invoice_status``."""
    parse_table(path, ctx, sink, "tax_invoice_status", ("fphm", "fpzt", "hcje", "ztbgrq"), _status)


def _status(row: Row) -> tuple[Any, ...]:
    fphm, fpzt, hcje, ztbgrq = row
    return (
        F.identifier("fphm", fphm, F.INVOICE_NO, "a 20-digit invoice number"),
        F.choice("fpzt", fpzt, _STATUSES),
        F.fen("hcje", hcje),
        F.iso_date("ztbgrq", ztbgrq),
    )
