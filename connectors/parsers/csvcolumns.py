"""Read the rows of a CSV layout below Python: the CSV counterpart of :mod:`connectors.parsers.xmlcolumns`.

pyarrow's CSV reader already gives each batch of a file as columns of texts
(:func:`connectors.parsers.csvread.for_each_row`); :class:`CsvColumns` types them with the
vectorized form of each field's converter (:func:`connectors.parsers.csvlayout.vector_for`, from
the one layout declaration), fills the file's own columns, runs the layout's vectorized hooks
(``derive_columns``, the children's ``vector``) and decides a row only when every field converted in
its plain form, every required field is there and every hook decided it.  Every other row goes
through the Python reader (the oracle, which writes every quarantine record and rejects row);
``tests/connectors/test_csvcolumns.py`` holds both paths equal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from connectors.parsers.base import BadRecord
from connectors.parsers.layout import Convert
from connectors.parsers.vectorized import Vector
from warehouse.registry import LINEAGE
from warehouse.schemas import PARSED

DeriveColumns = Callable[[Mapping[str, pa.Array]], tuple[dict[str, pa.Array], pa.BooleanArray]]
"""A layout's ``derive`` hook, vectorized: the read columns by name → (the columns it fills, the rows it decided)."""
ChildColumns = Callable[[pa.StringArray], tuple[pa.Array, list[pa.Array], pa.BooleanArray]]
"""A ``children`` hook, vectorized: the texts → (per child row, the index of its parent row; the child's columns
after its parent key; per parent row, whether it decided every child of it)."""
Rows = dict[str, tuple[pa.Array, dict[str, pa.Array]]]
"""Per table, the decided rows: each one's line (its ``src_pos``) and the table's columns after the lineage ones."""


@dataclass(frozen=True)
class ReadField:
    """One field as the columnar path reads it: its position among the reader's columns, its Python converter
    (for a column the file lacks) and its vectorized one, the Arrow type it gives."""

    column: str
    header: str
    index: int
    required: bool
    convert: Convert
    vector: Vector
    dtype: pa.DataType


@dataclass(frozen=True)
class CsvColumns:
    """The columnar reading of one layout: ``table`` from ``fields`` (and the file's own values), through
    ``derive`` into more columns, with ``children`` rows of ``child_table`` (``(header index, hook, parent key)``)."""

    table: str
    fields: Sequence[ReadField]
    derive: DeriveColumns | None
    children: tuple[str, int, ChildColumns, str] | None

    def read(self, file_values: Mapping[str, Any], columns: Sequence[pa.Array], lines: pa.Array) -> tuple[pa.BooleanArray, Rows]:
        """The rows of one batch this path decides (``lines``: null for a blank row, never decided) and their
        columns per table."""
        n = len(lines)
        ok = pc.is_valid(lines)
        values: dict[str, pa.Array] = {}
        for f in self.fields:
            texts = columns[f.index]
            if texts.null_count:  # an optional column the file lacks: the Python converter's value of nothing
                try:
                    values[f.column] = pa.repeat(pa.scalar(f.convert(f.header, None), f.dtype), n)
                except BadRecord:
                    ok = pa.repeat(False, n)
                    values[f.column] = pa.nulls(n, f.dtype)
                continue
            values[f.column], decided = f.vector(texts, f.dtype)
            ok = pc.and_(ok, pc.and_(decided, pc.is_valid(values[f.column])) if f.required else decided)
        for column, value in file_values.items():
            values[column] = pa.repeat(pa.scalar(value, PARSED[self.table].schema.field(column).type), n)
        if self.derive is not None:
            derived, decided = self.derive(values)
            values.update(derived)
            ok = pc.and_(ok, decided)
        kids = None
        if self.children is not None:
            child_table, index, hook, key = self.children
            parent, child_values, decided = hook(columns[index])
            ok = pc.and_(ok, decided)
            kids = (child_table, parent, key, child_values)
        ok = pc.fill_null(ok, False)
        rows: Rows = {self.table: (pc.filter(lines, ok), {c: pc.filter(values[c], ok) for c in _columns(self.table)})}
        if kids is not None:
            child_table, parent, key, child_values = kids
            keep = pc.take(ok, parent)  # the children of the decided rows
            of = pc.filter(parent, keep)
            kept = [pc.take(values[key], of), *(pc.filter(v, keep) for v in child_values)]
            rows[child_table] = (pc.take(lines, of), dict(zip(_columns(child_table), kept, strict=True)))
        return ok, rows


def _columns(table: str) -> list[str]:
    """A table's columns after the lineage ones."""
    return [f.name for f in PARSED[table].schema][len(LINEAGE) :]
