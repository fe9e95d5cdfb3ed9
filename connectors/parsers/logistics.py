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

import pyarrow as pa
import pyarrow.compute as pc
from lxml import etree

from connectors.parsers import fields as F
from connectors.parsers.base import ParseContext, Sink, folder_uscc
from connectors.parsers.batching import BatchBuilder, ChunkRows
from connectors.parsers.layout import XmlLayout, detect
from connectors.parsers.layouts import VECTORIZED, WAYBILL_LAYOUTS
from connectors.parsers.xmlcolumns import ChunkReader, readable
from connectors.parsers.xmlread import Columnar, Decided, for_each_record
from warehouse.schemas import PARSED

_ROOTS = frozenset().union(*(lay.roots for lay in WAYBILL_LAYOUTS))
_MESSAGE_REF = "Header/MessageReferenceNumber"
_WAYBILL = PARSED["waybills"].Record
# the columns a layout reads (a layout may lack some: they stay empty)
_READ_COLUMNS = tuple(c for c in _WAYBILL._fields if c not in ("carrier_dir_uscc", "message_ref", "layout"))


def parse_waybills(path: Path, ctx: ParseContext, sink: Sink) -> None:
    """Parse a waybill XML file into ``waybills``: the common waybills of a layout the columnar path
    reads (:data:`_READERS`) through it, the others record by record."""
    rows = ChunkRows(ctx, sink, _ORDER)
    out = BatchBuilder("waybills", ctx, rows)
    carrier_dir = folder_uscc(ctx.rel_path)
    message_ref: str | None = None
    layout: XmlLayout | None = None

    def layout_of(body: etree._Element) -> XmlLayout:
        nonlocal message_ref, layout
        if layout is None:  # the Header before the first body is still in the tree
            root = body.getparent()
            message_ref = F.text(root.findtext(_MESSAGE_REF)) if root is not None else None
            layout = detect(WAYBILL_LAYOUTS, root, body)
        return layout

    def handle(ordinal: int, body: etree._Element) -> None:
        lay = layout_of(body)
        row = lay.read(body)
        read = {c: row.get(c) for c in _READ_COLUMNS}
        out.add(ordinal, _WAYBILL(carrier_dir_uscc=carrier_dir, message_ref=message_ref, layout=lay.name, **read))

    def columnar(bodies: list[etree._Element]) -> Decided | None:
        lay = layout_of(bodies[0])
        reader = _READERS.get(lay.name)
        if reader is None:
            return None
        waybills = reader.read(bodies)[0]
        ok = waybills.ok
        kept = pc.sum(ok.cast(pa.int64())).as_py() or 0
        columns = {c: pc.filter(a, ok) for c, a in waybills.values.items()}
        constants = {"carrier_dir_uscc": carrier_dir, "message_ref": message_ref, "layout": lay.name}
        columns.update({c: pa.repeat(pa.scalar(v, pa.string()), kept) for c, v in constants.items()})
        for c in _READ_COLUMNS:  # what the layout lacks stays empty
            columns.setdefault(c, pa.nulls(kept))
        return ok.to_pylist(), {"waybills": (pc.filter(waybills.record, ok), columns)}

    for_each_record(path, sink, "Body", _ROOTS, handle, Columnar(columnar, _ORDER).chunks(rows, out))
    out.flush()
    rows.close()


#: The layouts the columnar path reads (:mod:`connectors.parsers.xmlcolumns`), by name.
_READERS = {
    lay.name: ChunkReader(lay, {f.name: f.type for f in PARSED["waybills"].schema}, VECTORIZED)
    for lay in WAYBILL_LAYOUTS
    if readable(lay, VECTORIZED)
}
_ORDER = {"waybills": ("src_pos",)}
