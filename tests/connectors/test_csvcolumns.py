"""The columnar CSV path (pyarrow's columns typed by the vectorized converters, the hooks vectorized) gives
exactly the tables and quarantine records of the Python path, its oracle: on a simulated night with
malformed rows, the spec's samples and samples-more, and every column of every CSV kind mutated with
hostile values (blanks, controls, full-width digits, quoted line breaks, limits, bad calendars, rows of
the wrong shape) in several small batches, in UTF-8 and GB18030."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest

from connectors.kinds import classify
from connectors.parsers import csvread
from connectors.parsers import vectorized as V
from connectors.parsers.base import python_only
from connectors.parsers.csvlayout import CsvLayout
from simulator.engine import simulate
from simulator.params import Tuning
from tests.conftest import REPO
from tests.parse_oracle import Collected, assert_same_as_python, parse

SAMPLES = REPO / "docs" / "spec" / "samples" / "2026-11-20"
MORE = REPO / "docs" / "spec" / "samples-more"


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Batches of 16 KiB: a file is read in many, a quoted line break or a bad row falls between two."""
    monkeypatch.setattr(csvread, "_BLOCK", 1 << 14)
    yield


@pytest.fixture
def python_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per row read by the Python path."""
    reads: list[int] = []
    values = CsvLayout.values
    monkeypatch.setattr(CsvLayout, "values", lambda self, row: reads.append(1) or values(self, row))
    return reads


def _csv_files(root: Path) -> list[tuple[Path, str]]:
    return [(p, p.relative_to(root).as_posix()) for p in sorted(root.rglob("*.csv")) if classify(p.relative_to(root).as_posix())]


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sim")
    simulate(root, seed=7, nights=1, start=dt.date(2026, 11, 18), trades_per_night=300, tuning=Tuning(plant_malformed_rows=True))
    (folder,) = sorted(root.glob("inbox/*"))
    return folder


@pytest.mark.usefixtures("small_batches")
def test_a_simulated_night_parses_the_same_both_ways_and_mostly_columnar(night, python_reads):
    files = _csv_files(night)
    assert {classify(rel).name for _, rel in files} >= {"financings", "voucher_events", "erp_ap_items", "erp_po_items", "parties"}  # type: ignore[union-attr]
    rows = quarantined = 0
    for path, rel in files:
        result = assert_same_as_python(path, rel)
        assert isinstance(result, Collected), rel
        rows += sum(t.num_rows for t in result.tables().values())
        quarantined += len(result.quarantined)
    assert rows > 1500 and quarantined  # the planted malformed rows among them
    read = {}
    for mode in (python_only, contextlib.nullcontext):
        python_reads.clear()
        with mode():
            for path, rel in files:
                if rel != "reference/parties.csv":  # its USCC check has no vectorized form: read in Python only
                    parse(path, rel)
        read[mode] = len(python_reads)
    assert read[contextlib.nullcontext] < read[python_only] / 50  # the columnar path read all but the odd rows (a trailing minus …)


@pytest.mark.parametrize(("path", "rel"), [*_csv_files(SAMPLES), (MORE / "reference" / "parties.csv", "reference/parties.csv")],
                         ids=lambda x: str(x).rsplit("/", 1)[-1])  # fmt: skip
def test_the_samples_parse_the_same_both_ways(path, rel):
    assert isinstance(assert_same_as_python(path, rel), Collected)


# ---- hostile values in every column -------------------------------------------------------------

_INVOICE = "26320000000000034567"
_CD = "1" * 30
HOSTILE = [
    # blanks, whitespace, controls, separators, lengths
    "", " ", " 1", "1 ", "\u30001", "1\t2", "a\nb", "a\r\nb", "\x00", "x\x7f", "\u200b1", "\x85", '"', "a|b", "a,b",
    "x" * 4096, "x" * 4097, "甲", "甲乙 丙",
    # digits and numbers
    "０１２", "0", "00", "-0", "-1", "+1", "1.", ".5", "1.5", "1.005", "1.0000", "1e3", "1,000.00", "NaN", "007",
    "2147483647", "2147483648", "999999999", "1234567890", "99999999999999.9999", "123456789012345.1",
    "100000000000.00", "100000000000.01", "-100000000000.01", "9999999999999999.99", "99999999999999999.99",
    # dates and times
    "00000000", "20261120", "20260230", "20280229", "00010101", "00000101", "99991231", "2026112", "２０２６1120",
    "2026-11-20", "2026-02-30", "0000-01-01", "0001-01-01", "2026-11-20T08:00:00+08:00", "2026-11-20T08:00:00-05:30",
    "2026-11-20T08:00:00Z", "2026-11-20T08:00:00", "2026-11-20T24:00:00+08:00", "2026-11-20T08:00:00+24:00",
    "2026-11-20T08:00:00+08:60", "0001-01-01T00:00:00+08:00", "9999-12-31T23:00:00-08:00", "2026-11-20T08:00:00.5+08:00",
    "2026-11-20 08:00:00+08:00", "0999-01-01T00:00:00+00:00",
    # rates
    "0.13", "13%", "0.123456", "0.1234567", "1000", "%",
    # codes of the vocabularies
    "ACTIVE", "CLOSED", "active", "VOUCHER", "INVOICE", "BILL", "ISSUE", "TRANSFER", "AAA", "AA+", "C3974", "c3974", "1", "3",
    # identifiers of a form
    "V0123456789abcdef", "V0123456789ABCDEF", "v0123456789abcdef", "V0123456789abcde", "V0123456789abcdefa", "308584000013",
    "30858400001", _INVOICE, _INVOICE + "8", _INVOICE[1:], "91440300MA5F00001A", "91440300MA5F00001B", "G-1",
    # invoice references
    f"{_INVOICE}:1.00", f"{_INVOICE}:1.00;{_INVOICE[:-1]}8:2", f"{_INVOICE}:1.00;", f";{_INVOICE}:1.00", _INVOICE + ":",
    f"{_INVOICE}:-1.00", f"{_INVOICE}:1.005", f"{_INVOICE}: 1.00", f"{_INVOICE}:100000000000.01", f"{_INVOICE}:1:2",
    f"{_INVOICE}:1.00;;{_INVOICE}:2.00", f"２{_INVOICE[1:]}:1.00",
    # bill assets
    _CD, f"{_CD}:0", f"{_CD}:1-100", f"{_CD}:0-5", f"{_CD}:5-4", f"{_CD}:1-10000000000001", f"{_CD}:", f"{_CD}:1-",
    f"{_CD}:01-0100", f"{_CD}:1-99999999999999999999", f"{_CD[1:]}:1-2", f"{_CD}:1-2:3",
    # invoice numbers in SAP's text
    f"发票{_INVOICE}", f"x{_INVOICE}8", f"{_INVOICE} {_INVOICE[:-1]}9", f"12{_INVOICE}", f"发票{_INVOICE[:-1]}", f"a{_INVOICE}b",
]  # fmt: skip


def _sample(path: Path) -> tuple[str, list[str], list[str]]:
    """(delimiter, header, first data row) of a sample CSV."""
    text = path.read_text(encoding="utf-8-sig")
    delimiter, _ = csvread.header_names(text.splitlines()[0])
    header, row, *_ = csv.reader(io.StringIO(text), delimiter=delimiter)
    return delimiter, header, row


def _hostile_file(delimiter: str, header: list[str], row: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([row] * 3)
    for column in range(len(header)):
        for value in HOSTILE:
            writer.writerows([[*row[:column], value, *row[column + 1 :]], row])
    out.write("\n" + delimiter * (len(header) - 1) + "\n")  # a blank line, a line of empty fields
    writer.writerows([[*row, "extra"], row, row[:-1], row])  # a field too many, one too few
    return out.getvalue()


def _hostile_cases() -> list[Any]:
    cases = []
    for path, rel in [*_csv_files(SAMPLES), (MORE / "reference" / "parties.csv", "reference/parties.csv")]:
        delimiter, header, row = _sample(path)
        cases.append(pytest.param(rel, delimiter, header, row, "utf-8", id=rel.rsplit("/", 1)[-1]))
        if rel.startswith("erp/"):
            cases.append(pytest.param(rel, delimiter, header, row, "gb18030", id=rel.rsplit("/", 1)[-1] + "-gb18030"))
        if rel.endswith("ap_open_items.csv"):  # with the optional discount periods
            cases.append(pytest.param(rel, delimiter, [*header, "ZBD2T", "ZBD3T"], [*row, "30", "0"], "utf-8", id="ap_open_items-terms"))
    return cases


@pytest.mark.usefixtures("small_batches")
@pytest.mark.parametrize(("rel", "delimiter", "header", "row", "encoding"), _hostile_cases())
def test_hostile_values_in_every_column_parse_the_same_both_ways(tmp_path, python_reads, rel, delimiter, header, row, encoding):
    path = tmp_path / rel
    path.parent.mkdir(parents=True)
    path.write_bytes(_hostile_file(delimiter, header, row).encode(encoding))
    result = assert_same_as_python(path, rel)
    assert isinstance(result, Collected) and len(result.quarantined) > len(header)
    mutated = len(header) * len(HOSTILE)
    if not rel.endswith("parties.csv"):  # its USCC check has no vectorized form: read in Python only
        assert len(python_reads) - (2 * mutated + 7) < mutated  # the oracle read every row, the columnar path the odd ones


@pytest.mark.usefixtures("small_batches")
@pytest.mark.parametrize(("name", "loose"), [("_TEXT", "^.*$"), ("_identifier_ok", lambda texts: pc.greater(pc.binary_length(texts), 0))])
def test_the_check_fails_when_a_fast_form_is_loosened(tmp_path, monkeypatch, name, loose):
    rel, delimiter, header, row, _ = _hostile_cases()[0].values
    path = tmp_path / "hostile.csv"
    path.write_text(_hostile_file(delimiter, header, row), encoding="utf-8")
    assert_same_as_python(path, rel)
    monkeypatch.setattr(V, name, loose)
    with pytest.raises(AssertionError):
        assert_same_as_python(path, rel)
