"""Parsers: one module per source family, streaming, emitting Arrow record batches and
quarantine records (see docs/ARCHITECTURE.md, "Parsers").

:func:`parse_file` picks the parser by ``ctx.kind``.  A record that breaks the format
goes to ``sink.quarantine`` and is skipped; a file that cannot be parsed at all raises
:class:`FileRejected`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from connectors.kinds import FileKind
from connectors.parsers import bills, erp, logistics, platform, reference, tax
from connectors.parsers.base import FileRejected, ParseContext, Sink
from connectors.parsers.fields import amount_ceiling

__all__ = ["FileRejected", "ParseContext", "Sink", "parse_file"]

Parser = Callable[[Path, ParseContext, Sink], None]

PARSERS: dict[FileKind, Parser] = {
    FileKind.ERP_VENDORS: erp.parse_erp,
    FileKind.ERP_PO_ITEMS: erp.parse_erp,
    FileKind.ERP_GOODS_RECEIPTS: erp.parse_erp,
    FileKind.ERP_AP_ITEMS: erp.parse_erp,
    FileKind.TAX_INVOICE_XML: tax.parse_invoices,
    FileKind.TAX_STATUS: tax.parse_status,
    FileKind.WAYBILL_XML: logistics.parse_waybills,
    FileKind.BILL_XML: bills.parse_bills,
    FileKind.VOUCHER_EVENTS: platform.parse_voucher_events,
    FileKind.FINANCINGS: platform.parse_financings,
    FileKind.PARTIES: reference.parse_parties,
}


def parse_file(path: Path, ctx: ParseContext, sink: Sink) -> None:
    """Parse the file at ``path`` (the archived bytes of ``ctx.rel_path``) into ``sink``."""
    with amount_ceiling(ctx.max_amount_fen):
        PARSERS[ctx.kind](Path(path), ctx, sink)
