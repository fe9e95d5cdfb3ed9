"""Stream the record elements of a delivered XML file with ``lxml.etree.iterparse``.

Shared by the tax, logistics and bill parsers.  Memory stays bounded whatever the file
size: each record element is cleared once handled and the records before it are
deleted from the root.  External entities and network access are off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from lxml import etree

from connectors.parsers.base import (
    DUPLICATE_FIELD,
    MALFORMED_XML,
    UNEXPECTED_ROOT,
    BadRecord,
    FileRejected,
    ParseContext,
    Sink,
)
from connectors.parsers.batching import BatchBuilder, flush_all

RAW_LIMIT = 2000  # the quarantine keeps this much of a record's text

RecordHandler = Callable[[int, etree._Element], None]


def for_each_record(path: Path, sink: Sink, record_tag: str, roots: frozenset[str], handle: RecordHandler) -> None:
    """Call ``handle(ordinal, element)`` for every ``record_tag`` element (1-based ordinal).

    A record is either the document root or a child of a root whose tag is in ``roots``.
    A record whose handler raises :class:`BadRecord` is quarantined with its ordinal.
    Raises :class:`FileRejected` on malformed XML or an unexpected document structure.
    """
    ordinal = 0
    events = etree.iterparse(
        str(path), events=("end",), tag=record_tag, remove_comments=True, remove_pis=True, no_network=True
    )
    try:
        for _, elem in events:
            parent = elem.getparent()
            if parent is not None and (parent.tag not in roots or parent.getparent() is not None):
                raise FileRejected(
                    UNEXPECTED_ROOT, f"<{record_tag}> inside <{parent.tag}>, expected a root of {_names(roots)}"
                )
            ordinal += 1
            try:
                handle(ordinal, elem)
            except BadRecord as err:
                sink.quarantine(ordinal, err.reason_code, err.reason, record_text(elem))
            elem.clear()
            if parent is not None:
                while elem.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as err:
        raise FileRejected(MALFORMED_XML, str(err)) from None
    if ordinal == 0 and events.root.tag not in roots:
        raise FileRejected(UNEXPECTED_ROOT, f"root <{events.root.tag}>, expected {_names(roots | {record_tag})}")


def _names(tags: frozenset[str]) -> str:
    return " or ".join(f"<{t}>" for t in sorted(tags))


def record_text(elem: etree._Element) -> str:
    """The element serialized, cut to :data:`RAW_LIMIT` characters (for a quarantine record)."""
    text: str = etree.tostring(elem, encoding="unicode", with_tail=False)
    return text[:RAW_LIMIT]


Texts = dict[str, str | None]
Groups = dict[str, list[etree._Element]]
_Tree = dict[str, "str | tuple[str] | _Tree"]


class Paths:
    """The paths a record parser reads, below the record element, compiled into a tree.

    Paths are ``/``-joined tags, e.g. ``EInvoiceData/BasicInformation/TotalTaxAm``.
    :meth:`read` walks the record once, descending only into elements on a wanted path:
    a leaf path gives its text, a ``repeated`` path gives the list of its elements (in
    document order, not walked into).  Other elements are ignored.
    """

    def __init__(self, leaves: Iterable[str], repeated: Iterable[str] = ()) -> None:
        self._tree: _Tree = {}
        entries: list[tuple[str, str | tuple[str]]] = [(p, p) for p in leaves]
        entries.extend((p, (p,)) for p in repeated)
        for path, value in entries:
            *parents, last = path.split("/")
            node = self._tree
            for tag in parents:
                child = node.setdefault(tag, {})
                if not isinstance(child, dict):
                    raise ValueError(f"{path} lies below the leaf {tag}")
                node = child
            if last in node:
                raise ValueError(f"{path} given twice, or as a leaf and a parent")
            node[last] = value

    def read(self, elem: etree._Element) -> tuple[Texts, Groups]:
        """The texts of the wanted leaves present and the elements of the repeated paths.

        A leaf met twice raises :class:`BadRecord` (the record would be ambiguous).
        """
        texts: Texts = {}
        groups: Groups = {}
        _walk(elem, self._tree, texts, groups)
        return texts, groups


def _walk(elem: etree._Element, tree: _Tree, texts: Texts, groups: Groups) -> None:
    for child in elem:
        wanted = tree.get(child.tag)
        if wanted is None:
            continue
        if isinstance(wanted, str):
            if wanted in texts:
                raise BadRecord(DUPLICATE_FIELD, f"<{wanted}> appears twice")
            texts[wanted] = child.text
        elif isinstance(wanted, dict):
            _walk(child, wanted, texts, groups)
        else:
            groups.setdefault(wanted[0], []).append(child)


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
