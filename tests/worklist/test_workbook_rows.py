"""The workbook's data rows, written straight into xlsxwriter's row stream, are the bytes
xlsxwriter writes for the same cells one call at a time."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from worklist import workbook
from worklist.workbook import VERDICT_COLUMNS, Column, _Book

DAY = dt.date(2026, 11, 18)
TRICKY = [
    None, "", "plain", "=1+1", "-5", "@home", " leading space", "trailing space ", "a & b < c > d",
    'quote " and\nnewline', "control \x01 char", "_x0041_ escape", "中文 全角 ＡＢＣ", "x" * 40_000,
]
COLUMNS = (
    Column("Text", "text", lambda r: r[0]),
    Column("Wrap", "wrap", lambda r: r[1]),
    Column("Int", "int", lambda r: r[2]),
    Column("Money", "money", lambda r: r[3]),
    Column("Date", "date", lambda r: r[4]),
    Column("Input", "input", lambda r: ""),
)
ROWS = [
    (TRICKY[i % len(TRICKY)], TRICKY[(i * 7) % len(TRICKY)], None if i % 5 == 0 else i * 37 - 400,
     None if i % 6 == 0 else (i * 1_234_567 - 99) * (-1) ** i, None if i % 4 == 0 else DAY - dt.timedelta(days=i))
    for i in range(60)
]


class _CellByCell(_Book):
    """The reference: every data cell through xlsxwriter's own calls."""

    def _rows(self, sheet: Any, columns: Any, values: list[list[Any]]) -> None:
        for n, row in enumerate(values, start=1):
            for col, (column, value) in enumerate(zip(columns, row, strict=True)):
                self._cell(sheet, n, col, column.kind, value)


def _write(book: _Book, rows: list) -> None:
    book.table("Rows", COLUMNS, rows)
    book.table("Empty", VERDICT_COLUMNS, [])
    book.table("One", COLUMNS, rows[:1])
    book.book.close()


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_rows_written_into_the_stream_are_xlsxwriters_bytes(tmp_path: Path) -> None:
    _write(_Book(tmp_path / "fast.xlsx", DAY), ROWS)
    _write(_CellByCell(tmp_path / "reference.xlsx", DAY), ROWS)

    fast, reference = _members(tmp_path / "fast.xlsx"), _members(tmp_path / "reference.xlsx")
    assert fast.keys() == reference.keys()
    for name in reference:
        assert fast[name] == reference[name], name


def test_the_rows_read_back_with_their_types(tmp_path: Path) -> None:
    _write(_Book(tmp_path / "fast.xlsx", DAY), ROWS)
    sheet = load_workbook(tmp_path / "fast.xlsx", read_only=True)["Rows"]
    read = list(sheet.iter_rows(values_only=True))
    assert len(read) == len(ROWS) + 1
    text, wrap, number, money, date, _ = read[3]  # ROWS[2]
    assert (text, wrap, number) == ("plain", None, 2 * 37 - 400)
    assert money == ROWS[2][3] / 100 and date == dt.datetime.combine(ROWS[2][4], dt.time())
    assert [read[i + 1][0] for i in (3, 4, 8)] == ["'=1+1", "-5", "a & b < c > d"]
    assert read[14][0] == "x" * workbook.XLSX_MAX_CHARS
