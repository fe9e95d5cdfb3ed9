"""The compiled XML field reader (``connectors/parsers/_xmlfields.c``): loaded only as the build of its source for
the lxml in use, and reading exactly the texts :meth:`XmlLayout.read` reads (its oracle), on random trees."""

from __future__ import annotations

import hashlib
import struct
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from connectors.parsers import compiled
from connectors.parsers.layout import XmlLayout, _Node, _walk
from connectors.parsers.layouts import TAX_INVOICE, TAX_LINE, TAX_LINES, WAYBILL_CONTRACT
from connectors.parsers.xmlcolumns import plan
from foundation.compiled import BuildError

_XMLFIELDS = compiled.load_xmlfields()


def test_a_stale_build_stops_the_import(tmp_path) -> None:
    source = tmp_path / "_xmlfields.c"
    source.write_bytes(compiled.SOURCE.read_bytes() + b"/* changed */\n")
    built = hashlib.sha256(compiled.SOURCE.read_bytes()).hexdigest()
    compiled.check_build(built, etree.__version__)  # the build in use is the source's
    with pytest.raises(BuildError, match=r"_xmlfields is stale: .*run `make codec`"):
        compiled.check_build(built, etree.__version__, source)


def test_a_build_for_another_lxml_stops_the_import() -> None:
    built = hashlib.sha256(compiled.SOURCE.read_bytes()).hexdigest()
    with pytest.raises(BuildError, match=r"built for lxml 0\.0, .*run `make codec`"):
        compiled.check_build(built, "0.0")


def test_a_missing_build_stops_the_import(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "connectors.parsers._xmlfields", None)  # what a tree without the build imports
    with pytest.raises(BuildError, match=r"_xmlfields is not built \(run `make codec`\)"):
        compiled.load_xmlfields()


def test_only_elements_are_read() -> None:
    with pytest.raises(TypeError, match="a record is an lxml element"):
        _XMLFIELDS.read([etree.Comment("x")], plan(WAYBILL_CONTRACT), None)
    with pytest.raises(TypeError):
        _XMLFIELDS.read(["<Body/>"], plan(WAYBILL_CONTRACT), None)


_TEXTS = st.one_of(st.none(), st.sampled_from(["", "a", "甲\t乙", " 1.00 ", "\n"]), st.text(max_size=5))


@st.composite
def _trees(draw: st.DrawFn, wanted: dict[str, _Node] = TAX_INVOICE._tree, depth: int = 0) -> etree._Element:
    """A record element (or, below it, an element whose tag mostly is one the layout looks for at that
    place, sometimes in a namespace, sometimes another), with text, CDATA, a comment or nothing first."""
    if depth == 0:
        tag, below = "EInvoice", wanted
    else:
        tag = draw(st.sampled_from([*wanted, "Other"]))
        node = wanted.get(tag)
        below = TAX_LINE._tree if node is not None and node.group else node.children if node is not None else {}
        if draw(st.integers(0, 5)) == 0:
            tag = "{urn:x}" + tag
    elem = etree.Element(tag)
    kind = draw(st.sampled_from(["text", "cdata", "comment first", "none"]))
    text = draw(_TEXTS)
    if kind == "text" and text is not None:
        elem.text = _clean(text)
    elif kind == "cdata" and text:
        elem.text = etree.CDATA(_clean(text).replace("]]>", ""))
    elif kind == "comment first":
        elem.append(etree.Comment("c"))
    for _ in range(draw(st.integers(0, 3 if depth < 5 else 0))):
        child = draw(_trees(below or TAX_INVOICE._tree, depth + 1))
        child.tail = draw(st.sampled_from([None, "tail"]))
        elem.append(child)
    return elem


def _clean(text: str) -> str:
    """What XML can hold (lxml refuses control characters and surrogates)."""
    return "".join(c for c in text if (c >= " " or c in "\t\n") and not "\ud800" <= c <= "\udfff" and c not in "\ufffe\uffff")


def _columns(texts: tuple[list[tuple[bytes, bytes]], bytes]) -> tuple[list[list[str]], list[int]]:
    columns, counts = texts
    out = []
    for offsets, data in columns:
        at = struct.unpack(f"<{len(offsets) // 4}i", offsets)
        out.append([data[a:b].decode() for a, b in zip(at, at[1:], strict=False)])
    return out, list(struct.unpack(f"<{len(counts) // 4}i", counts))


def _oracle(layout: XmlLayout, elem: etree._Element) -> tuple[list[str], int, list[etree._Element]]:
    """Per field the text :meth:`XmlLayout.read` takes (empty for none), the count of field elements, the group elements."""
    texts: dict[str, list[str | None]] = {}
    elements: dict[str, list[etree._Element]] = {}
    _walk(elem, layout._tree, texts, elements)
    cells = [(texts[f.path][0] or "") if f.path in texts else "" for f in layout.fields]
    return cells, sum(len(v) for v in texts.values()), [e for g in layout.groups for e in elements.get(g, [])]


@settings(max_examples=200, deadline=None)
@given(records=st.lists(_trees(), min_size=1, max_size=4))
def test_random_trees_read_as_the_python_layout_reads_them(records: list[etree._Element]) -> None:
    (texts, group) = _XMLFIELDS.read(records, plan(TAX_INVOICE, TAX_LINES), plan(TAX_LINE))
    cells, counts = _columns(texts)
    record, seq, group_texts = group
    group_cells, group_counts = _columns(group_texts)
    group_record = struct.unpack(f"<{len(record) // 4}i", record)
    group_seq = struct.unpack(f"<{len(seq) // 4}i", seq)
    expected_group: list[tuple[int, int, list[str], int]] = []
    for i, elem in enumerate(records):
        want, count, lines = _oracle(TAX_INVOICE, elem)
        assert [column[i] for column in cells] == want
        assert counts[i] == count
        for n, line in enumerate(lines, 1):
            line_cells, line_count, _ = _oracle(TAX_LINE, line)
            expected_group.append((i + 1, n, line_cells, line_count))
    got_group = [(group_record[j], group_seq[j], [c[j] for c in group_cells], group_counts[j]) for j in range(len(group_record))]
    assert got_group == expected_group
