"""erp/<core_uscc>/: the SAP exports of one core enterprise (vendors, PO lines, goods
receipts, vendor open items), declared as CSV layouts (:mod:`connectors.parsers.csvlayout`).

Columns are found by their SAP names in the header; identifiers stay text (leading
zeros of ``LIFNR``, ``EBELP`` … are kept).  ``core_uscc`` is the folder the file was
delivered in.  A row with a bad value is quarantined with its line number.  SAP's payment
terms (the net due date) and the invoice number cited in ``SGTXT`` are the open items' hook.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from connectors.parsers import fields as F
from connectors.parsers.base import BadRecord, ParseContext, folder_uscc
from connectors.parsers.csvlayout import CsvField, CsvLayout
from foundation.vocabulary import QuarantineReason

_INVOICE_IN_TEXT = re.compile(rf"(?<![0-9]){F.INVOICE_NO.pattern}(?![0-9])")  # an invoice number within free text
_INVOICE_IN_TEXT_RE2 = f"(?:^|[^0-9])(?P<no>{F.INVOICE_NO.pattern})(?:[^0-9]|$)"  # the same, leftmost, without look-arounds


def _core(ctx: ParseContext) -> Mapping[str, Any]:
    """The core enterprise whose export this is: the folder it was delivered in."""
    return {"core_uscc": folder_uscc(ctx.rel_path)}


def _id(column: str, header: str, *, required: bool = False) -> CsvField:
    return CsvField(column, header, F.ident, required=required)


VENDORS = CsvLayout(
    "erp_vendors",
    (_id("lifnr", "LIFNR", required=True), CsvField("name", "NAME1"), _id("vendor_uscc", "STCD5")),
    dates=F.ymd,
    per_file=_core,
)

PO_ITEMS = CsvLayout(
    "erp_po_items",
    (
        _id("ebeln", "EBELN", required=True),
        _id("ebelp", "EBELP", required=True),
        _id("lifnr", "LIFNR"),
        CsvField("po_date", "BEDAT"),
        _id("matnr", "MATNR"),
        CsvField("item_text", "TXZ01"),
        CsvField("quantity", "MENGE"),
        CsvField("unit", "MEINS"),
        CsvField("net_price", "NETPR"),
        CsvField("net_value_fen", "NETWR"),
    ),
    dates=F.ymd,
    per_file=_core,
)

GOODS_RECEIPTS = CsvLayout(
    "erp_goods_receipts",
    (
        _id("mblnr", "MBLNR", required=True),
        _id("mjahr", "MJAHR", required=True),
        _id("zeile", "ZEILE", required=True),
        CsvField("movement_type", "BWART"),
        _id("ebeln", "EBELN"),
        _id("ebelp", "EBELP"),
        CsvField("quantity", "MENGE"),
        CsvField("posting_date", "BUDAT"),
        _id("delivery_note", "XBLNR"),
    ),
    dates=F.ymd,
    per_file=_core,
)


def _payment_terms(row: dict[str, Any]) -> None:
    """The open item's hook: ``ap_ref`` from its key, the net period and due date from SAP's
    payment terms, and the invoice number its text cites."""
    row["ap_ref"] = "-".join((row["bukrs"], row["gjahr"], row["belnr"], row["buzei"]))
    name, days = _net_days(row.pop("ZBD1T"), row.pop("ZBD2T"), row.pop("ZBD3T"))
    row["payment_days"] = days
    row["due_date"] = _due_date(row["baseline_date"], name, days)
    invoice = _INVOICE_IN_TEXT.search(row["item_text"]) if row["item_text"] else None
    row["invoice_no"] = invoice.group() if invoice else None


_LAST_DAY = (dt.date.max - dt.date(1970, 1, 1)).days  # the last date Python's dates have, in days since 1970


def _payment_terms_columns(columns: Mapping[str, pa.Array]) -> tuple[dict[str, pa.Array], pa.BooleanArray]:
    """:func:`_payment_terms` vectorized (a due date beyond Python's last date is left to it)."""
    ap_ref = pc.binary_join_element_wise(*(columns[c] for c in ("bukrs", "gjahr", "belnr", "buzei")), "-")
    zbd1t, zbd2t, zbd3t = (columns[c] for c in ("ZBD1T", "ZBD2T", "ZBD3T"))
    days = pc.if_else(pc.fill_null(pc.not_equal(zbd3t, 0), False), zbd3t,
                      pc.if_else(pc.fill_null(pc.not_equal(zbd2t, 0), False), zbd2t, zbd1t))  # fmt: skip
    due = pc.add(columns["baseline_date"].cast(pa.int32()).cast(pa.int64()), pc.fill_null(days, 0))
    ok = pc.fill_null(pc.less_equal(due, _LAST_DAY), True)
    invoice = pc.struct_field(pc.extract_regex(columns["item_text"], _INVOICE_IN_TEXT_RE2), [0])
    due_date = pc.if_else(ok, due, pa.scalar(None, pa.int64())).cast(pa.int32()).cast(pa.date32())
    return {"ap_ref": ap_ref, "payment_days": days.cast(pa.int32()), "due_date": due_date, "invoice_no": invoice}, ok


AP_ITEMS = CsvLayout(
    "erp_ap_items",
    (
        _id("bukrs", "BUKRS", required=True),
        _id("gjahr", "GJAHR", required=True),
        _id("belnr", "BELNR", required=True),
        _id("buzei", "BUZEI", required=True),
        CsvField("baseline_date", "ZFBDT"),
        CsvField("ZBD1T", "ZBD1T", F.integer),
        CsvField("ZBD2T", "ZBD2T", F.integer, in_header=False),  # discount periods: only where the terms have them
        CsvField("ZBD3T", "ZBD3T", F.integer, in_header=False),
        CsvField("item_text", "SGTXT"),
        _id("lifnr", "LIFNR"),
        CsvField("posting_date", "BUDAT"),
        CsvField("document_date", "BLDAT"),
        CsvField("document_type", "BLART"),
        CsvField("debit_credit", "SHKZG"),
        CsvField("amount_fen", "WRBTR", required=True),
        CsvField("currency", "WAERS"),
        _id("ebeln", "EBELN"),
        # clearing fields: absent from exports of open items only (BSIK)
        CsvField("clearing_date", "AUGDT", in_header=False),
        CsvField("clearing_doc", "AUGBL", F.ident, in_header=False),
    ),
    dates=F.ymd,
    per_file=_core,
    derive=_payment_terms,
    derive_columns=_payment_terms_columns,
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
