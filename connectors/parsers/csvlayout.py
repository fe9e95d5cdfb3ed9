"""CSV layouts as data: which header names each column of a table, how its text is read, which
values must be there — the CSV counterpart of :mod:`connectors.parsers.layout`.

A CSV input kind declares one :class:`CsvLayout` (see :mod:`connectors.kinds`); :func:`parse_csv`
reads any file of it through :mod:`connectors.parsers.csvread` and fills the named rows of its
table.  A field's type comes from its table column in the schema registry (money in fen, a
decimal of the column's precision, a whole number, a date in the source's date format, text)
unless the field names its own converter (an identifier, a verbatim text …).  A value that does
not read, an empty required value, a code outside its choices or an identifier outside its
form quarantines the row (:class:`~connectors.parsers.base.BadRecord`), the field named by its
header; fields are read in declaration order, so the first bad one is named.

What is truly rule, not layout (SAP's payment terms, a financing's asset reference), is a
*hook* the layout names: ``derive`` fills more columns from the read values, ``children``
turns one field into rows of a child table, ``rejects`` keeps what of a failed row can be read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any

import pyarrow as pa

from connectors.parsers import fields as F
from connectors.parsers import vectorized as V
from connectors.parsers.base import BadRecord, ParseContext, Sink
from connectors.parsers.batching import BatchBuilder, ChunkRows, flush_all
from connectors.parsers.csvcolumns import ChildColumns, CsvColumns, DeriveColumns, ReadField
from connectors.parsers.csvread import Columns, Row, for_each_row, picker
from connectors.parsers.layout import Convert
from connectors.parsers.vectorized import Vector
from foundation.vocabulary import QuarantineReason
from warehouse.schemas import PARSED


def text(name: str, value: str | None) -> str | None:
    """Free text: stripped, ``None`` when empty."""
    return F.text(value)


def verbatim(name: str, value: str | None) -> str | None:
    """The text exactly as delivered (a value the ledger hashes)."""
    return value


@dataclass(frozen=True)
class CsvField:
    """One column read from the file's column named ``header``.

    ``column``: the table column it fills (or a name a hook reads); ``convert``: ``(header, text)``
    → value, ``None`` = by the column's type (:func:`converter_for`); ``required``: an empty value
    quarantines the row; ``choices``: the codes allowed; ``pattern``/``form``: the full form of an
    identifier; ``in_header``: ``False`` when an export may lack the column (its values are ``None``)."""

    column: str
    header: str
    convert: Convert | None = None
    required: bool = False
    choices: frozenset[str] | None = None
    pattern: re.Pattern[str] | None = None
    form: str = ""
    in_header: bool = True


@dataclass(frozen=True)
class Children:
    """Rows of a child table from one field (``invoice_nos`` → one row per invoice): ``parse(header,
    text)`` gives tuples of the child's columns after its parent key (``child_of`` in the registry)."""

    table: str
    header: str
    parse: Callable[[str, str | None], list[tuple[Any, ...]]]
    vector: ChildColumns | None = None
    """``parse`` vectorized (:mod:`connectors.parsers.csvcolumns`); ``None``: the layout is read in Python only."""


@dataclass(frozen=True)
class Rejects:
    """A table keeping what of a failed row can be read: ``build(texts by header, error)`` → its record."""

    table: str
    build: Callable[[Mapping[str, str | None], BadRecord], Any]


@dataclass(frozen=True)
class CsvLayout:
    """How the files of one CSV input kind are read into ``table``.

    ``dates``: how the source writes a date (a date column without its own converter);
    ``per_file``: columns that come from the file's place, not its rows (the core enterprise of
    ``erp/<uscc>/``); ``derive``: a rule filling more columns of a read row (may raise
    :class:`BadRecord`).  The columnar path (:mod:`connectors.parsers.csvcolumns`) reads a layout whose every
    field has a vectorized form (:func:`vector_for`; ``vectors``: those of the layout's own converters) and
    whose hooks have theirs (``derive_columns``, ``Children.vector``)."""

    table: str
    fields: tuple[CsvField, ...]
    dates: Convert = F.iso_date
    per_file: Callable[[ParseContext], Mapping[str, Any]] | None = None
    derive: Callable[[dict[str, Any]], None] | None = None
    children: Children | None = None
    rejects: Rejects | None = None
    vectors: Mapping[Convert, Vector] = field(default_factory=dict)
    derive_columns: DeriveColumns | None = None

    @property
    def tables(self) -> tuple[str, ...]:
        """Every table a file of this layout fills."""
        extra = (self.children.table if self.children else None, self.rejects.table if self.rejects else None)
        return (self.table, *(t for t in extra if t is not None))

    @cached_property
    def headers(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(the header names a file must have, those it may lack), each once, in field order."""
        named = [*(f.header for f in self.fields), *([self.children.header] if self.children else [])]
        optional = {f.header for f in self.fields if not f.in_header}
        unique = list(dict.fromkeys(named))
        return tuple(h for h in unique if h not in optional), tuple(h for h in unique if h in optional)

    @property
    def columns(self) -> tuple[str, ...]:
        """The column each field fills, in field order (as :meth:`values` gives them)."""
        return tuple(f.column for f in self.fields)

    @cached_property
    def _plan(self) -> tuple[tuple[int, str, Convert], ...]:
        """Per field: (its index in the reader's row, its header, its converter refusing an empty required value;
        each distinct text converted once: :func:`connectors.parsers.fields.remembered`)."""
        order = [*self.headers[0], *self.headers[1]]
        types = {c.name: c.type for c in PARSED[self.table].columns}
        plan = []
        for f in self.fields:
            convert = F.remembered(converter_for(f, types.get(f.column), self.dates))
            checked = f.convert is None and (f.choices is not None or f.pattern is not None)  # they refuse empty themselves
            plan.append((order.index(f.header), f.header, _needed(convert) if f.required and not checked else convert))
        return tuple(plan)

    @cached_property
    def columnar(self) -> CsvColumns | None:
        """The columnar reading of this layout, or ``None`` when a field or a hook has no vectorized form."""
        if (self.derive is not None and self.derive_columns is None) or (self.children is not None and self.children.vector is None):
            return None
        types = {c.name: c.type for c in PARSED[self.table].columns}
        fields = []
        for f, (index, header, convert) in zip(self.fields, self._plan, strict=True):
            dtype = types.get(f.column) or _READ_TYPES.get(f.convert, pa.string())
            vector = vector_for(f, types.get(f.column), self.dates, self.vectors)
            if vector is None:
                return None
            fields.append(ReadField(f.column, header, index, f.required, convert, vector, dtype))
        children = None
        if self.children is not None and self.children.vector is not None:
            order = [*self.headers[0], *self.headers[1]]
            children = (self.children.table, order.index(self.children.header), self.children.vector,
                        _parent_key(self.children.table, self.table))  # fmt: skip
        return CsvColumns(self.table, fields, self.derive_columns, children)

    def values(self, row: Row) -> list[Any]:
        """The typed values of one row, in field order (``row``: the reader's, in :attr:`headers` order).

        Raises :class:`BadRecord` for the first field that does not read."""
        return [convert(header, row[index]) for index, header, convert in self._plan]

    def value(self, column: str, texts: Mapping[str, str | None]) -> Any:
        """One field of a row as :meth:`values` reads it, from the texts by header (a failed row's)."""
        for f, (_, header, convert) in zip(self.fields, self._plan, strict=True):
            if f.column == column:
                return convert(header, texts.get(header))
        raise KeyError(column)


def _needed(convert: Convert) -> Convert:
    """``convert``, refusing an empty value (``MISSING_FIELD``, the field named)."""

    def read(name: str, text: str | None) -> Any:
        value = convert(name, text)
        if value is None:
            raise BadRecord(QuarantineReason.MISSING_FIELD, f"{name} is empty")
        return value

    return read


def converter_for(f: CsvField, dtype: pa.DataType | None, dates: Convert) -> Convert:
    """How a field's text is read: its own converter, else its choices or form, else by the type of its
    table column (money in fen for ``*_fen``, a decimal of the column's precision, a whole number,
    a date in the source's format, else text)."""
    if f.convert is not None:
        return f.convert
    if f.choices is not None:
        return partial(F.choice, allowed=f.choices, need=f.required)
    if f.pattern is not None:
        return partial(F.identifier if f.required else F.optional_identifier, pattern=f.pattern, form=f.form)
    if dtype is None or pa.types.is_string(dtype):
        return text
    if pa.types.is_decimal(dtype):
        return partial(F.decimal, dtype=dtype)
    if f.column.endswith("_fen"):
        return F.fen
    if pa.types.is_integer(dtype):
        return F.integer
    if pa.types.is_date(dtype):
        return dates
    raise TypeError(f"{f.column}: no default reading of a {dtype} column; give the field a converter")


#: The vectorized form of each shared field converter (:mod:`connectors.parsers.vectorized`).
VECTORIZED: dict[Any, Vector] = {**V.SHARED, text: V.text, verbatim: V.verbatim}
#: The Arrow type a field read for a hook (no table column of its name) is typed as, by its converter (else text).
_READ_TYPES: dict[Any, pa.DataType] = {F.integer: pa.int64()}


def vector_for(f: CsvField, dtype: pa.DataType | None, dates: Convert, vectors: Mapping[Convert, Vector]) -> Vector | None:
    """The vectorized form of :func:`converter_for`'s reading of a field (``vectors``: the layout's own
    converters'), or ``None`` when it has none."""
    if f.convert is not None:
        return VECTORIZED.get(f.convert) or vectors.get(f.convert)
    if f.choices is not None:
        return V.choice(f.choices)
    if f.pattern is not None:
        return V.identifier(f.pattern) if f.required else V.optional_identifier(f.pattern)
    if dtype is None or pa.types.is_string(dtype):
        return V.text
    if pa.types.is_decimal(dtype):
        return V.decimal(dtype)
    if f.column.endswith("_fen"):
        return V.fen
    if pa.types.is_integer(dtype):
        return V.integer
    return VECTORIZED.get(dates) if pa.types.is_date(dtype) else None


def parse_csv(layout: CsvLayout, path: Path, ctx: ParseContext, sink: Sink) -> None:
    """Parse a CSV file of ``layout``: one row of its table per data row (plus its child rows), a
    row that breaks the format quarantined (and kept in its rejects table, if it has one)."""
    required, optional = layout.headers
    children, rejects = layout.children, layout.rejects
    child_index = [*required, *optional].index(children.header) if children else 0
    parent_key = _parent_key(children.table, layout.table) if children else ""
    columnar = layout.columnar
    rows = None if columnar is None else ChunkRows(ctx, sink, dict.fromkeys(layout.tables, ("src_pos",)))
    out = BatchBuilder(layout.table, ctx, rows or sink)
    kids = BatchBuilder(children.table, ctx, rows or sink) if children else None
    refused = BatchBuilder(rejects.table, ctx, rows or sink) if rejects else None
    builders = [b for b in (out, kids, refused) if b is not None]
    record = _record_maker(layout, ctx)
    child = PARSED[children.table].Record._make if children else None
    file_values = dict(layout.per_file(ctx)) if layout.per_file else {}

    def handle(line: int, row: Row) -> None:
        try:
            parsed = record(layout.values(row))
            items = children.parse(children.header, row[child_index]) if children else ()
        except BadRecord as err:
            if refused is not None and rejects is not None:
                refused.add(line, rejects.build(dict(zip((*required, *optional), row, strict=True)), err))
            raise
        out.add(line, parsed)
        if kids is not None and child is not None:
            key = getattr(parsed, parent_key)
            for item in items:
                kids.add(line, child((key, *item)))

    def batch(columns: Columns, lines: pa.Array, rest: Callable[[pa.BooleanArray | None], None]) -> None:
        assert columnar is not None and rows is not None
        decided, tables = columnar.read(file_values, columns, lines)
        rest(decided)
        flush_all(*builders)
        for table, (src_pos, values) in tables.items():
            rows.decided(table, 1, src_pos, values)
        rows.end_chunk()

    for_each_row(path, ctx, sink, required, handle, optional, None if columnar is None else batch)
    flush_all(*builders)
    if rows is not None:
        rows.close()


def _record_maker(layout: CsvLayout, ctx: ParseContext) -> Callable[[list[Any]], Any]:
    """A row's values (in field order) → the table's named record: with the file's own values
    (``per_file``), and through the layout's ``derive`` hook if it has one.  The record's columns
    are picked by ``itemgetter`` (in C): this runs once per delivered row."""
    record = PARSED[layout.table].Record
    make = record._make
    file_values = dict(layout.per_file(ctx)) if layout.per_file else {}
    columns = layout.columns
    derive = layout.derive
    if derive is not None:
        by_name = picker(record._fields)

        def derived(values: list[Any]) -> Any:
            row = dict(file_values)
            row.update(zip(columns, values, strict=False))  # one value per column
            derive(row)
            return make(by_name(row))

        return derived
    constants = list(file_values.values())
    names = (*file_values, *columns)
    by_position = picker([names.index(c) for c in record._fields])  # each from a field or the file

    def made(values: list[Any]) -> Any:
        return make(by_position([*constants, *values] if constants else values))

    return made


def _parent_key(child: str, parent: str) -> str:
    """The one column joining a child table's rows to their parent's (``child_of`` in the registry)."""
    child_of = PARSED[child].child_of
    if child_of is None or child_of[0] != parent or len(child_of[1]) != 1:
        raise ValueError(f"{child} is not declared a child of {parent} by one column")
    return child_of[1][0]
