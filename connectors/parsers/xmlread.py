"""Stream the record elements of a delivered XML file with ``lxml.etree.iterparse``.

Shared by the tax, logistics and bill parsers.  Memory stays bounded whatever the file
size: each record element is cleared once handled and the records before it are
deleted from the root.  External entities and network access are off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from lxml import etree

from connectors.parsers.base import BadRecord, FileRejected, ParseContext, Sink, python_only_in_force
from connectors.parsers.batching import BatchBuilder, ChunkRows, flush_all
from connectors.parsers.layout import NoLayout
from connectors.quarantine import RAW_LIMIT
from foundation.vocabulary import QuarantineReason

RecordHandler = Callable[[int, etree._Element], None]


def for_each_record(
    path: Path, sink: Sink, record_tag: str, roots: frozenset[str], handle: RecordHandler, chunks: ChunkHandler | None = None
) -> None:
    """Call ``handle(ordinal, element)`` for every ``record_tag`` element (1-based ordinal).

    A record is either the document root or a child of a root whose tag is in ``roots``.
    A record whose handler raises :class:`BadRecord` is quarantined with its ordinal.
    Raises :class:`FileRejected` on malformed XML, an unexpected document structure, or when
    no record matches a known layout (each raised :class:`NoLayout`): such a file is never
    loaded as empty rows.

    With ``chunks`` (and unless :func:`~connectors.parsers.base.python_only` is in force), records are handed over
    :data:`CHUNK_RECORDS` at a time to ``chunks(tree, records, first ordinal, one)``, where
    ``one(ordinal, element)`` is ``handle`` with the quarantine above (for the records the chunk
    handler leaves to Python); a chunk of fewer than :data:`FAST_FROM` records (a file of one
    invoice, a file's last few) goes to ``handle`` record by record.
    """
    ordinal = unmatched = 0
    chunked = chunks is not None and not python_only_in_force()
    chunk: list[etree._Element] = []

    def one(number: int, elem: etree._Element) -> None:
        nonlocal unmatched
        try:
            handle(number, elem)
        except BadRecord as err:
            unmatched += isinstance(err, NoLayout)
            sink.quarantine(number, err.reason_code, err.reason, record_text(elem))

    def run_chunk() -> None:
        first = ordinal - len(chunk) + 1
        if chunks is not None and len(chunk) >= FAST_FROM:
            chunks(chunk[0].getroottree(), chunk, first, one)
        else:
            for number, elem in enumerate(chunk, first):
                one(number, elem)
        parent = chunk[-1].getparent()
        read = 0 if parent is None else parent.index(chunk[-1]) + 1
        chunk.clear()  # the records' proxies first: lxml then frees each removed record at once, instead of
        if read:  # making it self-contained (a walk of its nodes) and freeing it when its proxy goes
            del parent[:read]

    events = etree.iterparse(
        str(path), events=("end",), tag=record_tag, remove_comments=True, remove_pis=True, no_network=True
    )
    try:
        for _, elem in events:
            parent = elem.getparent()
            if parent is not None and (parent.tag not in roots or parent.getparent() is not None):
                raise FileRejected(
                    QuarantineReason.UNEXPECTED_ROOT, f"<{record_tag}> inside <{parent.tag}>, expected a root of {_names(roots)}"
                )
            ordinal += 1
            if chunked:
                chunk.append(elem)
                if len(chunk) == CHUNK_RECORDS:
                    run_chunk()
                continue
            one(ordinal, elem)
            elem.clear()
            if parent is not None:
                while elem.getprevious() is not None:
                    del parent[0]
        if chunk:
            run_chunk()
    except etree.XMLSyntaxError as err:
        raise FileRejected(QuarantineReason.MALFORMED_XML, str(err)) from None
    if ordinal == 0 and events.root.tag not in roots:
        raise FileRejected(QuarantineReason.UNEXPECTED_ROOT, f"root <{events.root.tag}>, expected {_names(roots | {record_tag})}")
    if ordinal and unmatched == ordinal:
        raise FileRejected(QuarantineReason.UNKNOWN_LAYOUT, f"none of the {ordinal} <{record_tag}> records matches a known layout")


CHUNK_RECORDS = 4096
"""Records handed to a chunk handler at once (their elements stay in memory until it returns)."""
FAST_FROM = 64
"""A chunk of fewer records goes record by record: the columnar path costs more than it saves."""
ChunkHandler = Callable[[etree._ElementTree, list[etree._Element], int, RecordHandler], None]
"""``(tree, records, ordinal of the first, one)``: read a chunk of records, leaving any to ``one(ordinal, element)``."""
def _names(tags: frozenset[str]) -> str:
    return " or ".join(f"<{t}>" for t in sorted(tags))


def record_text(elem: etree._Element) -> str:
    """The element serialized, cut to :data:`RAW_LIMIT` characters (for a quarantine record)."""
    text: str = etree.tostring(elem, encoding="unicode", with_tail=False)
    return text[:RAW_LIMIT]


ParentAndChildren = tuple[tuple[object, ...], list[tuple[object, ...]]]

Decided = tuple[list[bool], dict[str, tuple[pa.Array, dict[str, pa.Array]]]]
"""What a columnar read decided of a chunk: per record, whether it did; per table, the rows
(each row's 1-based record in the chunk, and the table's columns after the lineage ones)."""


@dataclass(frozen=True)
class Columnar:
    """A family's columnar path (:mod:`connectors.parsers.xmlcolumns`): ``read(records)`` of a
    chunk's records (``None``: none decided), and per table the columns
    that order its rows as the Python path writes them (``src_pos``, then the position within the record)."""

    read: Callable[[list[etree._Element]], Decided | None]
    order: Mapping[str, tuple[str, ...]]

    def chunks(self, out: ChunkRows, *builders: BatchBuilder) -> ChunkHandler:
        """A chunk handler for :func:`for_each_record`: the Python path's ``builders`` write to ``out``."""

        def handle(tree: etree._ElementTree, records: list[etree._Element], first: int, one: RecordHandler) -> None:
            decided = self.read(records)
            done, rows = decided if decided is not None else ([False] * len(records), {})
            for number, (elem, ok) in enumerate(zip(records, done, strict=True), first):
                if not ok:
                    one(number, elem)
            flush_all(*builders)
            for table, (record, columns) in rows.items():
                out.decided(table, first, record, columns)
            out.end_chunk()

        return handle


def parse_parent_child_records(
    path: Path,
    ctx: ParseContext,
    sink: Sink,
    record_tag: str,
    roots: Iterable[str],
    tables: tuple[str, str],
    convert: Callable[[etree._Element], ParentAndChildren],
    columnar: Columnar | None = None,
) -> None:
    """Stream ``record_tag`` elements into a parent table and its child table.

    ``convert`` turns one record into its parent row and child rows (an invoice and its
    lines, a bill and its endorsements); child rows carry their parent's position.  With a
    ``columnar`` path, the records it decides do not go through ``convert``.
    """
    rows = None if columnar is None else ChunkRows(ctx, sink, columnar.order)
    out: Sink = sink if rows is None else rows
    parents = BatchBuilder(tables[0], ctx, out)
    children = BatchBuilder(tables[1], ctx, out)
    chunks = None if columnar is None or rows is None else columnar.chunks(rows, parents, children)

    def handle(ordinal: int, elem: etree._Element) -> None:
        parent, child_rows = convert(elem)
        parents.add(ordinal, parent)
        for row in child_rows:
            children.add(ordinal, row)

    for_each_record(path, sink, record_tag, frozenset(roots), handle, chunks)
    flush_all(parents, children)
    if rows is not None:
        rows.close()
