"""logistics/<carrier_uscc>/: 电子路单 XML, ``Root`` with one ``Header`` and one or many ``Body``.

Each ``Body`` is one waybill (``src_pos`` = its ordinal), read through the file's layout
(:data:`connectors.parsers.layouts.WAYBILL_LAYOUTS`: the contract layout or the real
2015WCCYR one), detected from the ``Header`` or the first ``Body``; ``message_ref`` comes
from ``Root/Header``, which precedes the bodies.  A ``Body`` holding none of its layout's
fields is quarantined; a file none of whose bodies does is rejected (never loaded as
empty rows).
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from connectors.parsers import fields as F
from connectors.parsers.base import ParseContext, Sink, folder_uscc
from connectors.parsers.batching import BatchBuilder
from connectors.parsers.layout import XmlLayout, detect
from connectors.parsers.layouts import WAYBILL_LAYOUTS
from connectors.parsers.xmlread import for_each_record
from warehouse.schemas import PARSED

_ROOTS = frozenset().union(*(lay.roots for lay in WAYBILL_LAYOUTS))
_MESSAGE_REF = "Header/MessageReferenceNumber"
_WAYBILL = PARSED["waybills"].Record
# the columns a layout reads (a layout may lack some: they stay empty)
_READ_COLUMNS = tuple(c for c in _WAYBILL._fields if c not in ("carrier_dir_uscc", "message_ref", "layout"))


def parse_waybills(path: Path, ctx: ParseContext, sink: Sink) -> None:
    """Parse a waybill XML file into ``waybills``."""
    out = BatchBuilder("waybills", ctx, sink)
    carrier_dir = folder_uscc(ctx.rel_path)
    message_ref: str | None = None
    layout: XmlLayout | None = None

    def handle(ordinal: int, body: etree._Element) -> None:
        nonlocal message_ref, layout
        root = body.getparent()
        if layout is None:  # the Header before the first body is still in the tree
            message_ref = F.text(root.findtext(_MESSAGE_REF)) if root is not None else None
            layout = detect(WAYBILL_LAYOUTS, root, body)
        row = layout.read(body)
        read = {c: row.get(c) for c in _READ_COLUMNS}
        out.add(ordinal, _WAYBILL(carrier_dir_uscc=carrier_dir, message_ref=message_ref, layout=layout.name, **read))

    for_each_record(path, sink, "Body", _ROOTS, handle)
    out.flush()
