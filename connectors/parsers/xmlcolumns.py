"""Read XML records into typed Arrow columns below Python: a compiled walk of each declared layout's paths.

:func:`plan` compiles an :class:`~connectors.parsers.layout.XmlLayout` (the one declaration of where each
field sits) into the plan the compiled reader (``_xmlfields.c``, loaded by
:mod:`connectors.parsers.compiled`) walks: for a chunk of record elements of the tree the hardened
``iterparse`` of :mod:`connectors.parsers.xmlread` built, it writes each field's text into a column
(one row per record, then one per group element: invoice line …) and each row's count of field
elements; the vectorized converters (:mod:`connectors.parsers.vectorized`) type the columns.

A field's text is what :meth:`XmlLayout.read` reads: the element's text (lxml's ``.text``), the first
element found on the path in document order giving it.  A row is decided here only when every field
converts in its plain form, every required field is there, the row holds at least one field and every
field element found is one, not empty (the count of field elements equals the count of non-empty
texts): a field given twice, an empty element and everything else unusual are left to the Python path,
which stays the oracle.  Layouts with attribute fields are read the Python way only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from lxml import etree

from connectors.parsers.compiled import load_xmlfields
from connectors.parsers.layout import XmlLayout
from connectors.parsers.vectorized import Vector

_XMLFIELDS = load_xmlfields()

Plan = tuple[tuple[bytes, int, int, int], ...]
"""The compiled reader's plan: per path step, (tag, index of the parent step or -1 for the record's
children, index of the field whose text it is or -1, whether it is an element of the group)."""


def plan(layout: XmlLayout, group: str | None = None) -> Plan:
    """The plan of ``layout``'s field paths (and of its ``group`` path: the group's elements)."""
    index: dict[tuple[str, ...], int] = {}
    steps: list[list[Any]] = []

    def step(tags: tuple[str, ...]) -> int:
        if tags not in index:
            parent = step(tags[:-1]) if len(tags) > 1 else -1  # a parent comes before its children
            index[tags] = len(steps)
            steps.append([tags[-1].encode(), parent, -1, 0])
        return index[tags]

    for i, f in enumerate(layout.fields):
        steps[step(tuple(f.path.split("/")))][2] = i
    if group is not None:
        steps[step(tuple(group.split("/")))][3] = 1
    return tuple((tag, parent, field, grouped) for tag, parent, field, grouped in steps)


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
    """Turns the field texts of one layout's rows into typed columns (see :class:`Columns`)."""

    def __init__(self, layout: XmlLayout, types: Mapping[str, pa.DataType], vectors: Mapping[Any, Vector]) -> None:
        self._fields = [(f.column, f.required, vectors[f.convert], types.get(f.column, pa.string())) for f in layout.fields]

    def convert(self, n: int, texts: _Texts, record: pa.Array, seq: pa.Array | None) -> Columns:
        """The typed rows of the compiled reader's ``n`` rows (per field the buffers of its text column, then
        each row's count of field elements), each row's record (and position in it)."""
        columns, counts = texts
        ok = pa.repeat(True, n)
        filled = pa.repeat(pa.scalar(0, pa.int32()), n)
        out: dict[str, pa.Array] = {}
        for (column, required, vector, dtype), (offsets, data) in zip(self._fields, columns, strict=True):
            cells = pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
            present = pc.greater(pc.binary_length(cells), 0)
            out[column], decided = vector(cells, dtype)
            ok = pc.and_(ok, pc.and_(decided, present) if required else decided)
            filled = pc.add(filled, present.cast(pa.int32()))
        nodes = pa.Array.from_buffers(pa.int32(), n, [None, pa.py_buffer(counts)])
        ok = pc.and_(ok, pc.and_(pc.equal(nodes, filled), pc.greater(filled, 0)))
        return Columns(out, record, seq, ok)


_Texts = tuple[list[tuple[bytes, bytes]], bytes]
"""What the compiled reader gives of a table: per field the offsets and data of its text column, and
each row's count of field elements (int32)."""


def readable(layout: XmlLayout, vectors: Mapping[Any, Vector]) -> bool:
    """Whether a :class:`ChunkReader` can read ``layout``: every field of one value, of a type with a
    vectorized form, no attribute, and nothing derived (such a layout is read the Python way only)."""
    return not layout.derived and all(
        f.combine is None and f.convert in vectors and "@" not in f.path for f in layout.fields
    )


class ChunkReader:
    """Reads a chunk of record elements (and their group elements) into :class:`Columns`.

    ``types``: the Arrow type of each column (a column the table lacks, read for the parser to
    derive another, is text); ``vectors``: the vectorized form of each field's converter (every
    field of the layouts must have one, :func:`readable`)."""

    def __init__(
        self,
        layout: XmlLayout,
        types: Mapping[str, pa.DataType],
        vectors: Mapping[Any, Vector],
        group: tuple[str, XmlLayout] | None = None,
    ) -> None:
        if not readable(layout, vectors) or (group is not None and not readable(group[1], vectors)):
            raise ValueError(f"the {layout.name} layout of <{layout.record}> is read the Python way only")
        self._plan = plan(layout, None if group is None else group[0])
        self._records = _Converter(layout, types, vectors)
        self._group = None if group is None else (plan(group[1]), _Converter(group[1], types, vectors))

    def read(self, records: list[etree._Element]) -> tuple[Columns, Columns | None]:
        """The record rows and the group rows of ``records``."""
        n = len(records)
        texts, group = _XMLFIELDS.read(records, self._plan, None if self._group is None else self._group[0])
        rows = self._records.convert(n, texts, pa.array(range(1, n + 1), pa.int32()), None)
        if self._group is None:
            return rows, None
        record, seq, group_texts = group
        grouped = len(record) // 4
        as_int32 = [pa.Array.from_buffers(pa.int32(), grouped, [None, pa.py_buffer(b)]) for b in (record, seq)]
        return rows, self._group[1].convert(grouped, group_texts, *as_int32)
