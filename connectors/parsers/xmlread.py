"""Stream the record elements of a delivered XML file with ``lxml.etree.iterparse``.

Shared by the tax, logistics and bill parsers.  Memory stays bounded whatever the file
size: each record element is cleared once handled and the records before it are
deleted from the root.  External entities and network access are off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from lxml import etree

from connectors.parsers.base import BadRecord, FileRejected, ParseContext, Sink
from connectors.parsers.batching import BatchBuilder, flush_all
from connectors.parsers.layout import NoLayout
from connectors.quarantine import RAW_LIMIT
from foundation.vocabulary import QuarantineReason

RecordHandler = Callable[[int, etree._Element], None]


def for_each_record(path: Path, sink: Sink, record_tag: str, roots: frozenset[str], handle: RecordHandler) -> None:
    """Call ``handle(ordinal, element)`` for every ``record_tag`` element (1-based ordinal).

    A record is either the document root or a child of a root whose tag is in ``roots``.
    A record whose handler raises :class:`BadRecord` is quarantined with its ordinal.
    Raises :class:`FileRejected` on malformed XML, an unexpected document structure, or when
    no record matches a known layout (each raised :class:`NoLayout`): such a file is never
    loaded as empty rows.
    """
    ordinal = unmatched = 0
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
            try:
                handle(ordinal, elem)
            except BadRecord as err:
                unmatched += isinstance(err, NoLayout)
                sink.quarantine(ordinal, err.reason_code, err.reason, record_text(elem))
            elem.clear()
            if parent is not None:
                while elem.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as err:
        raise FileRejected(QuarantineReason.MALFORMED_XML, str(err)) from None
    if ordinal == 0 and events.root.tag not in roots:
        raise FileRejected(QuarantineReason.UNEXPECTED_ROOT, f"root <{events.root.tag}>, expected {_names(roots | {record_tag})}")
    if ordinal and unmatched == ordinal:
        raise FileRejected(QuarantineReason.UNKNOWN_LAYOUT, f"none of the {ordinal} <{record_tag}> records matches a known layout")


def _names(tags: frozenset[str]) -> str:
    return " or ".join(f"<{t}>" for t in sorted(tags))


def record_text(elem: etree._Element) -> str:
    """The element serialized, cut to :data:`RAW_LIMIT` characters (for a quarantine record)."""
    text: str = etree.tostring(elem, encoding="unicode", with_tail=False)
    return text[:RAW_LIMIT]


ParentAndChildren = tuple[tuple[object, ...], list[tuple[object, ...]]]


def parse_parent_child_records(
    path: Path,
    ctx: ParseContext,
    sink: Sink,
    record_tag: str,
    roots: Iterable[str],
    tables: tuple[str, str],
    convert: Callable[[etree._Element], ParentAndChildren],
) -> None:
    """Stream ``record_tag`` elements into a parent table and its child table.

    ``convert`` turns one record into its parent row and child rows (an invoice and its
    lines, a bill and its endorsements); child rows carry their parent's position.
    """
    parents = BatchBuilder(tables[0], ctx, sink)
    children = BatchBuilder(tables[1], ctx, sink)

    def handle(ordinal: int, elem: etree._Element) -> None:
        parent, child_rows = convert(elem)
        parents.add(ordinal, parent)
        for row in child_rows:
            children.add(ordinal, row)

    for_each_record(path, sink, record_tag, frozenset(roots), handle)
    flush_all(parents, children)
