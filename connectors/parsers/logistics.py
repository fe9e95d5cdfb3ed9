"""logistics/<carrier_uscc>/: 电子路单 XML, ``Root`` with one ``Header`` and one or many ``Body``.

Each ``Body`` is one waybill (``src_pos`` = its ordinal); ``message_ref`` comes from
``Root/Header``, which precedes the bodies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lxml import etree

from connectors import values
from connectors.kinds import folder_uscc
from connectors.parsers import fields as F
from connectors.parsers.base import ParseContext, Sink
from connectors.parsers.batching import BatchBuilder
from connectors.parsers.xmlread import Paths, for_each_record
from connectors.schemas import QTY

_ROOTS = frozenset({"Root"})
_STATUSES = frozenset({"1", "2", "3", "4"})
_MESSAGE_REF = "Header/MessageReferenceNumber"
_CONSIGNMENT = "ConsignmentDateTime"
_DESPATCH = "DespatchActualDateTime"
_RECEIPT = "GoodsReceiptDateTime"
_QUANTITY = "GoodsInfo/Quantity"
_WEIGHT = "GoodsInfo/GoodsItemGrossWeight"
_PACKAGES = "GoodsInfo/TotalNumberOfPackages"
_BODY = Paths(
    ["ShippingNoteNumber", "OriginalDocumentNumber", "Carrier", "UnifiedSocialCreditIdentifier", _CONSIGNMENT,
     _DESPATCH, _RECEIPT, "ConsignorInfo/Consignor", "ConsignorInfo/ConsignorID", "ConsigneeInfo/Consignee",
     "ConsigneeInfo/ConsigneeID", "ConsigneeInfo/GoodsReceiptPlace", "ConsigneeInfo/CountrySubdivisionCode",
     "GoodsInfo/DescriptionOfGoods", _QUANTITY, "GoodsInfo/MeaUnits", _WEIGHT, _PACKAGES, "Status"]
)  # fmt: skip


def parse_waybills(path: Path, ctx: ParseContext, sink: Sink) -> None:
    """Parse a waybill XML file into ``waybills``."""
    out = BatchBuilder("waybills", ctx, sink)
    carrier_dir = folder_uscc(ctx.rel_path)
    message_ref: str | None = None

    def handle(ordinal: int, body: etree._Element) -> None:
        nonlocal message_ref
        root = body.getparent()
        if ordinal == 1 and root is not None:  # the Header before the first body is still in the tree
            message_ref = F.text(root.findtext(_MESSAGE_REF))
        out.add(ordinal, (carrier_dir, message_ref, *_waybill(body)))

    for_each_record(path, sink, "Body", _ROOTS, handle)
    out.flush()


def _waybill(body: etree._Element) -> tuple[Any, ...]:
    """The columns after ``carrier_dir_uscc`` and ``message_ref``."""
    get = _BODY.read(body)[0].get
    return (
        F.required_ident("ShippingNoteNumber", get("ShippingNoteNumber")),
        F.ident("OriginalDocumentNumber", get("OriginalDocumentNumber")),
        F.text(get("Carrier")),
        F.ident("UnifiedSocialCreditIdentifier", get("UnifiedSocialCreditIdentifier")),
        _time(_CONSIGNMENT, get),
        _time(_DESPATCH, get),
        _time(_RECEIPT, get),
        F.text(get("ConsignorInfo/Consignor")),
        F.ident("ConsignorInfo/ConsignorID", get("ConsignorInfo/ConsignorID")),
        F.text(get("ConsigneeInfo/Consignee")),
        F.ident("ConsigneeInfo/ConsigneeID", get("ConsigneeInfo/ConsigneeID")),
        F.text(get("ConsigneeInfo/GoodsReceiptPlace")),
        F.text(get("ConsigneeInfo/CountrySubdivisionCode")),
        F.text(get("GoodsInfo/DescriptionOfGoods")),
        F.decimal(_QUANTITY, get(_QUANTITY), QTY),
        F.text(get("GoodsInfo/MeaUnits")),
        F.decimal(_WEIGHT, get(_WEIGHT), QTY),
        F.integer(_PACKAGES, get(_PACKAGES)),
        F.choice("Status", get("Status"), _STATUSES, need=False),
    )


def _time(path: str, get: Callable[[str], str | None]) -> dt.datetime | None:
    return F.convert(path, values.parse_compact_datetime, get(path))
