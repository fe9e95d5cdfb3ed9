"""Which kind of file a delivered path is, from its place in the night's folder (INPUTS.md)."""

from __future__ import annotations

import re
from enum import StrEnum


class FileKind(StrEnum):
    """The kinds of file INPUTS.md lists; each has one parser."""

    ERP_VENDORS = "erp_vendors"
    ERP_PO_ITEMS = "erp_po_items"
    ERP_GOODS_RECEIPTS = "erp_goods_receipts"
    ERP_AP_ITEMS = "erp_ap_items"
    TAX_INVOICE_XML = "tax_invoice_xml"
    TAX_STATUS = "tax_status"
    WAYBILL_XML = "waybill_xml"
    BILL_XML = "bill_xml"
    VOUCHER_EVENTS = "voucher_events"
    FINANCINGS = "financings"
    PARTIES = "parties"


_ERP_FILES = {
    "vendors.csv": FileKind.ERP_VENDORS,
    "po_items.csv": FileKind.ERP_PO_ITEMS,
    "goods_receipts.csv": FileKind.ERP_GOODS_RECEIPTS,
    "ap_open_items.csv": FileKind.ERP_AP_ITEMS,
}
_USCC_DIR = r"[0-9A-Z]{18}"
_RULES: list[tuple[re.Pattern[str], FileKind | None]] = [
    (re.compile(rf"^erp/{_USCC_DIR}/([^/]+)$"), None),  # resolved by file name below
    (re.compile(r"^tax/invoice_status\.csv$"), FileKind.TAX_STATUS),
    (re.compile(r"^tax/[^/]+\.xml$", re.IGNORECASE), FileKind.TAX_INVOICE_XML),
    (re.compile(rf"^logistics/{_USCC_DIR}/[^/]+\.xml$", re.IGNORECASE), FileKind.WAYBILL_XML),
    (re.compile(r"^bills/[^/]+\.xml$", re.IGNORECASE), FileKind.BILL_XML),
    (re.compile(r"^platform/voucher_events\.csv$"), FileKind.VOUCHER_EVENTS),
    (re.compile(r"^platform/financings\.csv$"), FileKind.FINANCINGS),
    (re.compile(r"^reference/parties\.csv$"), FileKind.PARTIES),
]


def classify(rel_path: str) -> FileKind | None:
    """Return the kind of a path relative to the night folder, or ``None`` if unknown."""
    for pattern, kind in _RULES:
        match = pattern.match(rel_path)
        if match is None:
            continue
        if kind is None:
            return _ERP_FILES.get(match.group(1))
        return kind
    return None


def folder_uscc(rel_path: str) -> str | None:
    """The USCC naming the sub-folder of ``erp/`` or ``logistics/``, if the path has one."""
    parts = rel_path.split("/")
    if len(parts) == 3 and parts[0] in ("erp", "logistics"):
        return parts[1]
    return None
