"""Read XML records into typed Arrow columns below Python: one XSLT stylesheet per declared layout.

:func:`stylesheet` generates, from an :class:`~connectors.parsers.layout.XmlLayout` (the one
declaration of where each field sits), a stylesheet that turns the first ``n`` records of a
parsed tree into lines of tab-separated texts, one line per record and then one per group
element (invoice line …).  libxslt runs it (in C) on the tree the hardened ``iterparse`` of
:mod:`connectors.parsers.xmlread` built; pyarrow splits the text into columns and the
vectorized converters (:mod:`connectors.parsers.vectorized`) type them.

A field's text is what :meth:`XmlLayout.read` reads: the element's text before its first child
(``P/node()[1][self::text()]``), or the attribute.  A hostile value cannot shift a column: a tab
or line break inside a value adds a separator the layout does not have, and the chunk's line
and field counts (checked against the record count and an XPath count of the group elements,
independent of the text) then differ, so the whole chunk goes the Python way.  A row is decided
here only when every field converts in its plain form, every required field is there, the row
holds at least one field and every field element found is one, not empty (the count of field
nodes, one XPath union, equals the count of non-empty texts): a field given twice, an empty
element and everything else unusual are left to the Python path, which stays the oracle.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import quoteattr

import pyarrow as pa
import pyarrow.compute as pc
from lxml import etree

from connectors.parsers.layout import XmlLayout
from connectors.parsers.vectorized import Vector

_XSL = "http://www.w3.org/1999/XSL/Transform"
_TAB = "<xsl:text>&#9;</xsl:text>"
_LINE = "<xsl:text>&#10;</xsl:text>"


def _records(layout: XmlLayout) -> str:
    """The record elements of a document: the root itself, or the children of a batch root."""
    return f"(/{layout.record} | /*/{layout.record})[position() <= $n]"


def _text(path: str) -> str:
    """The XPath of a field's text as :meth:`XmlLayout.read` takes it (the attribute, or the text before the first child)."""
    return path if path.rsplit("/", 1)[-1].startswith("@") else f"{path}/node()[1][self::text()]"


def _row(layout: XmlLayout) -> str:
    """One row's texts: each field, then the count of field nodes (to compare with the non-empty texts)."""
    cells = "".join(f"{_TAB}<xsl:value-of select={quoteattr(_text(f.path))}/>" for f in layout.fields)
    nodes = " | ".join(f.path for f in layout.fields)
    return f"{cells}{_TAB}<xsl:value-of select={quoteattr(f'count({nodes})')}/>{_LINE}"


def stylesheet(layout: XmlLayout, group: tuple[str, XmlLayout] | None = None) -> str:
    """The XSLT text of ``layout`` (and of its ``group``: the path of the group elements below a
    record, and their layout): for each of the first ``$n`` records, ``position \\t fields… \\t
    nodes``; then for each group element, ``record position \\t position in record \\t fields… \\t nodes``."""
    records = quoteattr(_records(layout))
    body = f'<xsl:for-each select={records}><xsl:value-of select="position()"/>{_row(layout)}</xsl:for-each>'
    if group is not None:
        path, child = group
        body += (
            f'<xsl:for-each select={records}><xsl:variable name="record" select="position()"/>'
            f'<xsl:for-each select={quoteattr(path)}><xsl:value-of select="$record"/>{_TAB}<xsl:value-of select="position()"/>'
            f"{_row(child)}</xsl:for-each></xsl:for-each>"
        )
    return (
        f'<xsl:stylesheet version="1.0" xmlns:xsl="{_XSL}"><xsl:output method="text" encoding="UTF-8"/>'
        f'<xsl:param name="n" select="0"/><xsl:template match="/">{body}</xsl:template></xsl:stylesheet>'
    )


@dataclass(frozen=True)
class Columns:
    """The rows of one layout in a chunk: typed values by column, the 1-based position of each row's
    record in the chunk (``record``), its position within the record for group rows (``seq``),
    and whether the vectorized path decided the row (``ok``)."""

    values: dict[str, pa.Array]
    record: pa.Array
    seq: pa.Array | None
    ok: pa.BooleanArray

    def __len__(self) -> int:
        return len(self.record)


class _Converter:
    """Turns the text cells of one layout's rows into typed columns (see :class:`Columns`)."""

    def __init__(self, layout: XmlLayout, types: Mapping[str, pa.DataType], vectors: Mapping[Any, Vector]) -> None:
        self.layout = layout
        self.width = len(layout.fields) + 1  # the fields, then the count of field nodes
        self._fields = [(f.column, f.required, vectors[f.convert], types.get(f.column, pa.string())) for f in layout.fields]

    def convert(self, cells: pa.ListArray, lead: int) -> Columns | None:
        """The typed rows of ``cells`` (each row: ``lead`` position cells, the fields, the node count);
        ``None`` when a row has another number of cells (a value held a tab)."""
        width = lead + self.width
        if len(cells) and not pc.all(pc.equal(pc.list_value_length(cells), width)).as_py():
            return None
        ok = pa.array([True] * len(cells))
        filled = pa.array([0] * len(cells), pa.int64())
        out: dict[str, pa.Array] = {}
        for i, (column, required, vector, dtype) in enumerate(self._fields):
            texts = pc.list_element(cells, lead + i)
            present = pc.greater(pc.binary_length(texts), 0)
            out[column], decided = vector(texts, dtype)
            ok = pc.and_(ok, pc.and_(decided, present) if required else decided)
            filled = pc.add(filled, present.cast(pa.int64()))
        nodes = pc.list_element(cells, width - 1).cast(pa.int64())
        ok = pc.and_(ok, pc.and_(pc.equal(nodes, filled), pc.greater(filled, 0)))
        positions = [pc.list_element(cells, j).cast(pa.int32()) for j in range(lead)]
        return Columns(out, positions[0], positions[1] if lead > 1 else None, ok)


def readable(layout: XmlLayout, vectors: Mapping[Any, Vector]) -> bool:
    """Whether a :class:`ChunkReader` can read ``layout``: every field of one value, of a type with a
    vectorized form, and nothing derived (such a layout is read the Python way only)."""
    return not layout.derived and all(f.combine is None and f.convert in vectors for f in layout.fields)


class ChunkReader:
    """Reads the first ``n`` records of a parsed tree (and their group elements) into :class:`Columns`.

    ``types``: the Arrow type of each column (a column the table lacks, read for the parser to
    derive another, is text); ``vectors``: the vectorized form of each field's converter (every
    field of the layouts must have one)."""

    def __init__(
        self,
        layout: XmlLayout,
        types: Mapping[str, pa.DataType],
        vectors: Mapping[Any, Vector],
        group: tuple[str, XmlLayout] | None = None,
    ) -> None:
        self._xslt = etree.XSLT(etree.XML(stylesheet(layout, group)), access_control=etree.XSLTAccessControl.DENY_ALL)
        self._records = _Converter(layout, types, vectors)
        self._group = None if group is None else (_Converter(group[1], types, vectors), f"count({_records(layout)}/{group[0]})")

    def read(self, tree: etree._ElementTree, n: int) -> tuple[Columns, Columns | None] | None:
        """The record rows and the group rows of the first ``n`` records of ``tree``, or ``None`` when
        the text does not have the layout's shape (a value held a tab or a line break)."""
        text = bytes(self._xslt(tree, n=str(n)))
        grouped = 0 if self._group is None else int(tree.xpath(self._group[1], n=n))
        whole = pa.Array.from_buffers(pa.string(), 1, [None, pa.py_buffer(struct.pack("<ii", 0, len(text))), pa.py_buffer(text)])
        lines = pc.list_flatten(pc.split_pattern(whole, "\n"))
        if len(lines) != n + grouped + 1 or lines[-1].as_py() != "":
            return None
        records = self._records.convert(pc.split_pattern(lines.slice(0, n), "\t"), 1)
        if records is None or not pc.all(pc.equal(records.record, pa.array(range(1, n + 1), pa.int32()))).as_py():
            return None
        if self._group is None:
            return records, None
        rows = self._group[0].convert(pc.split_pattern(lines.slice(n, grouped), "\t"), 2)
        return None if rows is None else (records, rows)
