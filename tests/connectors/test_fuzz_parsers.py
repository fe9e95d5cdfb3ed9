"""Fuzzing every parser on mutated sample files (hypothesis): no crash, every quarantine has a
reason, and one bad record never costs more than that record."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lxml import etree

from connectors.parsers import FileRejected
from foundation.vocabulary import QuarantineReason as R
from tests.connectors.test_parsers import SAMPLE_ROWS, SAMPLES, MemorySink, parse_bytes

FILE_CODES = {
    R.EMPTY_FILE, R.BAD_ENCODING, R.MALFORMED_CSV, R.MISSING_COLUMN, R.DUPLICATE_COLUMN,
    R.MALFORMED_XML, R.UNEXPECTED_ROOT, R.LINE_TOO_LONG, R.UNKNOWN_LAYOUT,
}  # fmt: skip
RECORD_CODES = {
    R.ROW_SHAPE, R.MISSING_FIELD, R.BAD_VALUE, R.BAD_ID, R.BAD_ENUM, R.DUPLICATE_FIELD,
    R.RANGE_MISMATCH, R.LINE_TOO_LONG, R.UNKNOWN_LAYOUT,
}  # fmt: skip
CSV_FILES = sorted(rel for rel in SAMPLE_ROWS if rel.endswith(".csv"))
XML_FILES = sorted(rel for rel in SAMPLE_ROWS if rel.endswith(".xml"))
FUZZ = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Any text a delivery could hold (control characters included), and some classic troublemakers.
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff"), max_size=40) | st.sampled_from(
    ["", " ", "-1", "1e400", "9" * 40, "１２３", "0.001", "=cmd|x", "2026-02-30", "\x1b[0m"])


def _parse(tmp_path: Path, rel: str, data: bytes) -> MemorySink | FileRejected:
    try:
        sink = parse_bytes(tmp_path, rel, data)
    except FileRejected as rejected:
        assert rejected.reason_code in FILE_CODES and rejected.reason.strip()
        return rejected
    for _pos, code, reason, _raw in sink.quarantined:
        assert code in RECORD_CODES and reason.strip()
    return sink


def _parent_rows(rel: str, sink: MemorySink) -> int:
    return len(sink.table(next(iter(SAMPLE_ROWS[rel]))))


@pytest.mark.parametrize("rel", sorted(SAMPLE_ROWS))
@FUZZ
@given(data=st.data())
def test_byte_mutations_never_crash_a_parser(tmp_path, rel, data):
    raw = bytearray((SAMPLES / rel).read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw)))
        match data.draw(st.sampled_from(["replace", "insert", "delete"])):
            case "replace" if at < len(raw):
                raw[at] = data.draw(st.integers(0, 255))
            case "insert":
                raw[at:at] = data.draw(st.binary(min_size=1, max_size=8))
            case _:
                del raw[at : at + data.draw(st.integers(1, 8))]
    _parse(tmp_path, rel, bytes(raw))


@pytest.mark.parametrize("rel", CSV_FILES)
@FUZZ
@given(data=st.data(), value=_TEXT)
def test_one_bad_csv_field_costs_its_row_only(tmp_path, rel, data, value):
    text = (SAMPLES / rel).read_text("utf-8")
    delimiter = "|" if "|" in text.splitlines()[0] else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    row = data.draw(st.integers(1, len(rows) - 1))
    rows[row][data.draw(st.integers(0, len(rows[row]) - 1))] = value
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)  # a bare CR is quoted too
    sink = _parse(tmp_path, rel, out.getvalue().encode("utf-8"))
    assert isinstance(sink, MemorySink), f"the whole file was rejected: {sink}"
    assert _parent_rows(rel, sink) + len(sink.quarantined) == len(rows) - 1
    assert _parent_rows(rel, sink) >= len(rows) - 2


@pytest.mark.parametrize("rel", XML_FILES)
@FUZZ
@given(data=st.data(), value=_TEXT)
def test_one_bad_xml_value_costs_its_record_only(tmp_path, rel, data, value):
    assume(all(c in "\t\n\r" or ord(c) >= 0x20 for c in value))  # what XML can carry
    tree = etree.parse(str(SAMPLES / rel))
    leaves = [e for e in tree.iter() if len(e) == 0 and (e.text or "").strip()]
    data.draw(st.sampled_from(leaves)).text = value
    sink = _parse(tmp_path, rel, etree.tostring(tree, xml_declaration=True, encoding="utf-8"))
    assert isinstance(sink, MemorySink), f"the whole file was rejected: {sink}"
    expected = _parent_rows(rel, parse_bytes(tmp_path / "clean", rel, (SAMPLES / rel).read_bytes()))
    assert _parent_rows(rel, sink) + len(sink.quarantined) >= expected
    assert _parent_rows(rel, sink) >= expected - 1
