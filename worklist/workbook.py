"""``exceptions.xlsx``: the workbook a clerk works from, and loading its actions back.

Sheets: ``Summary`` (counts and amounts by severity, status, bank, product and check,
tonight against the night before), ``Findings`` (one row per finding: four columns to fill
in — action, assign to, reason code, comment — then status, age, typed amounts and dates,
names beside codes, the source record) and ``Verdicts``.  Every sheet has its header frozen
and filtered, columns fitted to their contents, and prints landscape on A4, fitted to the
page width, with the header repeated and page numbers.  The night is the workbook's custom
property ``scf_night``; :func:`read_requests` reads the filled-in actions of a workbook back.
Amounts are written as numbers of yuan (a spreadsheet's numbers are binary floating point;
the exact amounts are in the CSVs) formatted ``¥#,##0.00``.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter
from openpyxl import load_workbook
from xlsxwriter.utility import _preserve_whitespace, _utf16_len, _utf16_truncate, xl_col_to_name

from dispositions.actions import Action, DispositionError, ReasonCode, Request
from reconciliation.reports import spreadsheet_safe
from warehouse.asof import verdicts_as_of_sql
from worklist.labels import (
    ACTION_LABELS,
    REASON_LABELS,
    SEVERITY_LABELS,
    STATUS_LABELS,
    VERDICT_LABELS,
    code_of,
    label,
)
from worklist.names import bank_name
from worklist.rows import FindingRow, VerdictRow
from worklist.summary import DIMENSIONS, Tally, tally

XLSX_MAX_ROWS = 1_048_575  # rows below the header an Excel sheet can hold
XLSX_MAX_CHARS = 32_767  # UTF-16 units a cell's text can hold
NIGHT_PROPERTY = "scf_night"
MONEY = '"¥"#,##0.00'
DATE = "yyyy-mm-dd"


@dataclass(frozen=True)
class Column:
    """One column of a sheet: its header (Chinese first), kind and how to read a row."""

    header: str
    kind: str  # text, wrap, int, money, date, input
    value: Callable[[Any], Any]
    max_width: int = 40


def _sources(row: FindingRow) -> str:
    return "; ".join(f"{s.document}: {s.rel_path} #{s.position} ({s.archive_path})" for s in row.sources)


#: The financing beside a finding or a verdict (:class:`worklist.rows.FinancingFacts`), the same
#: columns in both sheets.
FINANCING_COLUMNS: tuple[Column, ...] = (
    Column("银行 Bank", "text", lambda f: f.bank_name),
    Column("银行代码 Bank code", "text", lambda f: f.bank_code),
    Column("产品 Product", "text", lambda f: f.product),
    Column("申请人 Applicant", "text", lambda f: f.applicant_name, 30),
    Column("申请人代码 Applicant USCC", "text", lambda f: f.applicant_uscc),
    Column("债务人 Debtor", "text", lambda f: f.debtor_name, 30),
    Column("债务人代码 Debtor USCC", "text", lambda f: f.debtor_uscc),
    Column("融资金额 Amount", "money", lambda f: f.amount_fen),
)
ACTION_HEADER, ASSIGN_HEADER, REASON_HEADER, COMMENT_HEADER, ID_HEADER = (
    "操作 Action", "指派给 Assign to", "原因代码 Reason code", "备注 Comment", "问题编号 Finding id")
FINDING_COLUMNS: tuple[Column, ...] = (
    Column(ACTION_HEADER, "input", lambda r: "", 18),
    Column(ASSIGN_HEADER, "input", lambda r: "", 14),
    Column(REASON_HEADER, "input", lambda r: "", 26),
    Column(COMMENT_HEADER, "input", lambda r: "", 30),
    Column("状态 Status", "text", lambda r: label(STATUS_LABELS, r.status)),
    Column("账龄(晚) Age (nights)", "int", lambda r: r.age_nights),
    Column("负责人 Assignee", "text", lambda r: r.assignee),
    Column("严重度 Severity", "text", lambda r: label(SEVERITY_LABELS, r.severity)),
    Column("检查 Check", "text", lambda r: r.check_id),
    Column("类别 Category", "text", lambda r: r.category),
    Column("融资编号 Financing", "text", lambda r: r.financing_id),
    *FINANCING_COLUMNS,
    Column("凭证 Voucher", "text", lambda r: r.voucher_id),
    Column("发票 Invoice", "text", lambda r: r.invoice_no),
    Column("票据 Bill", "text", lambda r: r.bill_ref),
    Column("运单 Waybill", "text", lambda r: r.waybill_no),
    Column("说明 Detail", "wrap", lambda r: r.detail, 70),
    Column("首次发现 First seen", "date", lambda r: r.first_seen_date),
    Column("来源 Source record", "wrap", _sources, 50),
    Column("证据 Evidence", "wrap", lambda r: r.evidence, 50),
    Column(ID_HEADER, "text", lambda r: r.finding_id),
)
VERDICT_COLUMNS: tuple[Column, ...] = (
    Column("融资编号 Financing", "text", lambda v: v.financing_id),
    Column("结论 Verdict", "text", lambda v: label(VERDICT_LABELS, v.verdict)),
    Column("问题数 Findings", "int", lambda v: v.findings),
    Column("检查 Checks", "wrap", lambda v: v.check_ids, 50),
    *FINANCING_COLUMNS,
    Column("融资状态 Status", "text", lambda v: v.status),
    Column("结论起始 Verdict since", "date", lambda v: v.verdict_since),
)


def _width(text: str) -> int:
    """Display width: an East Asian wide character counts two."""
    if text.isascii():
        return len(text)
    return len(text) + sum(unicodedata.east_asian_width(c) in "WF" for c in text.translate(_DROP_ASCII))


_DROP_ASCII = dict.fromkeys(range(128))


def _shown(column: Column, value: Any) -> str:
    if column.kind == "money":
        return "" if value is None else f"¥{value / 100:,.2f}"  # width only
    return "" if value is None else str(value)


class _Book:
    """The workbook being written, with its formats."""

    def __init__(self, path: Path, day: dt.date) -> None:
        self.book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                                    "strings_to_urls": False, "strings_to_formulas": False})
        self.book.set_properties({"title": f"异常工作清单 Exceptions {day.isoformat()}",
                                  "created": dt.datetime.combine(day, dt.time())})
        self.book.set_custom_property(NIGHT_PROPERTY, day.isoformat())
        self.day = day
        add = self.book.add_format
        self.header = add({"bold": True, "bg_color": "#DDE3EA", "border": 1, "text_wrap": True, "valign": "top"})
        self.input_header = add({"bold": True, "bg_color": "#FFE699", "border": 1, "text_wrap": True, "valign": "top"})
        self.formats = {"text": add({"valign": "top"}), "wrap": add({"text_wrap": True, "valign": "top"}),
                        "int": add({"valign": "top", "num_format": "0"}),
                        "money": add({"valign": "top", "num_format": MONEY}),
                        "date": add({"valign": "top", "num_format": DATE}),
                        "input": add({"valign": "top", "bg_color": "#FFF9E0", "border": 1, "border_color": "#E0C060"})}
        self.title = add({"bold": True, "font_size": 14})
        self.bold = add({"bold": True})

    def sheet(self, name: str, columns: int) -> Any:
        """A sheet with the print set-up: A4 landscape, fitted to the width, header repeated, page numbers."""
        sheet = self.book.add_worksheet(name)
        sheet.set_landscape()
        sheet.set_paper(9)
        sheet.fit_to_pages(1, 0)
        sheet.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        sheet.set_header(f"&L异常工作清单 Exceptions {self.day.isoformat()}&R{name}")
        sheet.set_footer("&C第 &P 页 / 共 &N 页  Page &P of &N")
        return sheet

    def table(self, name: str, columns: Sequence[Column], rows: Sequence[Any]) -> Any:
        """A sheet of one table: header frozen and filtered, widths fitted, typed cells."""
        sheet = self.sheet(name, len(columns))
        shown = rows[:XLSX_MAX_ROWS]
        values = [[c.value(r) for c in columns] for r in shown]
        for col, column in enumerate(columns):
            widest = max((_width(_shown(column, value)) for value in {v[col] for v in values}), default=0)
            header_width = max(_width(part) for part in column.header.split(" ", 1))
            sheet.set_column(col, col, max(6, min(column.max_width, max(widest, header_width)) + 2))
            sheet.write_string(0, col, column.header, self.input_header if column.kind == "input" else self.header)
        sheet.set_row(0, 32)
        self._rows(sheet, columns, values)
        sheet.autofilter(0, 0, max(len(shown), 1), len(columns) - 1)
        sheet.freeze_panes(1, 0)
        sheet.repeat_rows(0)
        return sheet

    def _rows(self, sheet: Any, columns: Sequence[Column], values: list[list[Any]]) -> None:
        """Write the data rows below the header.

        A night's Verdicts sheet has millions of cells, and xlsxwriter's per-cell calls were
        most of the reports' time: every row but the last is written here straight into the
        sheet's row stream (``constant_memory`` mode), as the XML xlsxwriter writes for the
        same cells (tests/worklist/test_workbook_rows.py compares the sheets byte for byte);
        the last row goes through :meth:`_cell`, so that the sheet's dimensions are xlsxwriter's own.
        """
        if not values:
            return
        sheet._write_single_row(1)  # flush the header row; the stream is at row 1 now
        cells = [_CellXml(sheet, xl_col_to_name(col), column.kind, self.formats[column.kind])
                 for col, column in enumerate(columns)]
        body = values[:-1]
        numbers = [str(n) for n in range(2, len(values) + 1)]  # as Excel counts the rows
        by_column = [cell.column([row[col] for row in body], numbers) for col, cell in enumerate(cells)]
        write = sheet.fh.write
        for n, row_cells in enumerate(zip(*by_column, strict=True), start=1):
            sheet._write_row(n, None)
            write("".join(row_cells))
            write("</row>")
        for col, (column, value) in enumerate(zip(columns, values[-1], strict=True)):
            self._cell(sheet, len(values), col, column.kind, value)

    def _cell(self, sheet: Any, row: int, col: int, kind: str, value: Any) -> None:
        fmt = self.formats[kind]
        if value is None or value == "":
            sheet.write_blank(row, col, None, fmt)
        elif kind == "money":
            sheet.write_number(row, col, float(Decimal(value) / 100), fmt)
        elif kind == "int":
            sheet.write_number(row, col, value, fmt)
        elif kind == "date":
            sheet.write_datetime(row, col, dt.datetime.combine(value, dt.time()), fmt)
        else:
            sheet.write_string(row, col, spreadsheet_safe(str(value)), fmt)


class _CellXml:
    """The ``<c>`` element of one column's cells, as xlsxwriter writes it in ``constant_memory``
    mode for :meth:`_Book._cell` (inline strings; blanks with their format), a column at a time;
    a text's element is made once per distinct text (codes, names and labels repeat down a column)."""

    def __init__(self, sheet: Any, letter: str, kind: str, fmt: Any) -> None:
        self.sheet = sheet
        self.letter = letter
        self.kind = kind
        self.attrs = f' s="{fmt._get_xf_index()}"'

    def column(self, values: list[Any], rows: list[str]) -> list[str]:
        """The column's cells holding ``values`` in the rows numbered ``rows`` (as Excel counts them)."""
        head, attrs = f'<c r="{self.letter}', f'"{self.attrs}'  # a cell: head, row number, attrs, content
        blank = f"{attrs}/>"
        if self.kind == "money":  # int / int is correctly rounded, as float(Decimal(value) / 100) is
            return [f"{head}{r}{blank}" if v is None else f"{head}{r}{attrs}><v>{v / 100:.16G}</v></c>"
                    for v, r in zip(values, rows, strict=True)]
        if self.kind == "int":
            return [f"{head}{r}{blank}" if v is None else f"{head}{r}{attrs}><v>{v:.16G}</v></c>"
                    for v, r in zip(values, rows, strict=True)]
        if self.kind == "date":
            serial = {d: self.sheet._convert_date_time(dt.datetime.combine(d, dt.time())) for d in set(values) if d}
            return [f"{head}{r}{blank}" if v is None else f"{head}{r}{attrs}><v>{serial[v]:.16G}</v></c>"
                    for v, r in zip(values, rows, strict=True)]
        inline = {t: self._inline(str(t)) for t in set(values) if t is not None and t != ""}
        return [f"{head}{r}{blank}" if v is None or v == "" else f"{head}{r}{attrs}{inline[v]}"
                for v, r in zip(values, rows, strict=True)]

    def _inline(self, text: str) -> str:
        """The rest of a text cell's element after its reference and format."""
        text = spreadsheet_safe(text)
        space = ""
        if _NEEDS_ESCAPE.search(text):  # else the text goes as it is (most do)
            if len(text) > XLSX_MAX_CHARS // 2 and _utf16_len(text) > XLSX_MAX_CHARS:
                text = _utf16_truncate(text, XLSX_MAX_CHARS)
            text = self.sheet._escape_control_characters(text)
            space = ' xml:space="preserve"' if _preserve_whitespace(text) else ""
            text = self.sheet._escape_data(text)
        return f' t="inlineStr"><is><t{space}>{text}</t></is></c>'


_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f&<>\ufffe\uffff]|_x[0-9a-fA-F]{4}_|^\s|\s$|^.{16384}', re.DOTALL)
"""A text xlsxwriter would change: control characters, XML's specials, its ``_xHHHH_`` escape,
white space at an end, or long enough to need truncating."""


def _summary(book: _Book, found: Sequence[FindingRow], verdicts: Sequence[VerdictRow], counts: Mapping[str, int],
             previous: Sequence[FindingRow], previous_night: dt.date | None) -> None:
    sheet = book.sheet("Summary", 7)
    sheet.write_string(0, 0, f"异常工作清单 Exceptions — {book.day.isoformat()}", book.title)
    sheet.write_string(1, 0, "上一晚 Last night", book.bold)
    sheet.write_string(1, 1, previous_night.isoformat() if previous_night else "—")
    headers = ("", "问题数 Findings", "融资笔数 Financings", "金额 Amount", "上一晚问题数 Findings last night",
               "上一晚金额 Amount last night", "问题数变化 Change")
    widths = (30, 12, 12, 18, 16, 18, 12)
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
    row = 3
    for key, title in (DIMENSIONS[0], ("status", "状态 Status"), *DIMENSIONS[1:]):
        tonight, before = tally(found, key), tally(previous, key)
        for col, text in enumerate(headers):
            sheet.write_string(row, col, title if col == 0 else text, book.header)
        row += 1
        for group in list(tonight) + [g for g in before if g not in tonight]:
            now, then = tonight.get(group, Tally()), before.get(group, Tally())
            name = {"severity": label(SEVERITY_LABELS, group), "status": label(STATUS_LABELS, group),
                    "bank": f"{bank_name(group)} {group}".strip()}.get(key, group)
            sheet.write_string(row, 0, spreadsheet_safe(name))
            for col, (kind, value) in enumerate((("int", now.findings), ("int", now.financings),
                                                 ("money", now.amount_fen), ("int", then.findings),
                                                 ("money", then.amount_fen), ("int", now.findings - then.findings)),
                                                start=1):
                book._cell(sheet, row, col, kind, value)
            row += 1
        row += 1
    _verdict_summary(book, sheet, row, verdicts, counts)
    sheet.repeat_rows(0, 1)


def _verdict_summary(book: _Book, sheet: Any, top: int, verdicts: Sequence[VerdictRow], counts: Mapping[str, int]) -> None:
    """Every financing of the night by verdict, and how many the ``Verdicts`` sheet lists; where the rest is."""
    listed = Counter(v.verdict for v in verdicts)
    for col, text in enumerate(("结论 Verdict", "融资笔数 Financings", "列于 Verdicts 表 Listed on Verdicts")):
        sheet.write_string(top, col, text, book.header)
    row = top
    for row, verdict in enumerate(counts, start=top + 1):
        sheet.write_string(row, 0, label(VERDICT_LABELS, verdict))
        book._cell(sheet, row, 1, "int", counts[verdict])
        book._cell(sheet, row, 2, "int", listed[verdict])
    night = f"DATE '{book.day.isoformat()}'"
    sheet.write_string(row + 1, 0, f"{ALL_VERDICTS_NOTE} {verdicts_as_of_sql(night)}")


ALL_VERDICTS_NOTE = ("Verdicts 表列出拦截、复核、今晚有问题或结论有变的融资；全部融资见 financing_status.csv。"
                     "The Verdicts sheet lists the financings held, with a finding tonight or whose verdict changed; "
                     "every financing is in financing_status.csv, or:")


def write_workbook(path: Path, day: dt.date, found: Sequence[FindingRow], verdicts: Sequence[VerdictRow],
                   counts: Mapping[str, int], previous: Sequence[FindingRow], previous_night: dt.date | None) -> None:
    """Write the night's workbook: ``Summary``, ``Findings`` (with the action columns), ``Verdicts``
    (the financings listed, :func:`worklist.rows.load_verdicts`; ``counts``: every financing's verdict)."""
    book = _Book(path, day)
    _summary(book, found, verdicts, counts, previous, previous_night)
    sheet = book.table("Findings", FINDING_COLUMNS, found)
    last = max(min(len(found), XLSX_MAX_ROWS), 1)
    sheet.data_validation(1, 0, last, 0, {"validate": "list", "source": list(ACTION_LABELS.values()),
                                          "input_title": "操作 Action", "input_message": "批准/驳回须由另一人 "
                                          "Approve/reject: a second user"})
    sheet.data_validation(1, 2, last, 2, {"validate": "list", "source": list(REASON_LABELS.values())})
    book.table("Verdicts", VERDICT_COLUMNS, verdicts)
    book.book.close()


def read_requests(path: Path, user: str) -> tuple[dt.date, list[Request]]:
    """The night of a filled-in workbook and the actions its ``Findings`` sheet asks for, by ``user``.

    Raises :class:`~dispositions.actions.DispositionError` naming the row of an unknown action
    or reason code, or a workbook that is not an exception report."""
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (OSError, ValueError, KeyError) as error:
        raise DispositionError(f"{path}: not a readable workbook ({error})") from error
    try:
        night = next((p.value for p in book.custom_doc_props if p.name == NIGHT_PROPERTY), None)
        if night is None or "Findings" not in book.sheetnames:
            raise DispositionError(f"{path}: not an exceptions.xlsx of scf (no {NIGHT_PROPERTY} or Findings sheet)")
        rows = book["Findings"].iter_rows(values_only=True)
        header = [str(h or "") for h in next(rows, ())]
        try:
            at = {h: header.index(h) for h in (ACTION_HEADER, ASSIGN_HEADER, REASON_HEADER, COMMENT_HEADER, ID_HEADER)}
        except ValueError as error:
            raise DispositionError(f"{path}: the Findings sheet lacks a column ({error})") from error
        requests = []
        for n, row in enumerate(rows, start=2):
            def cell(h: str, row: tuple = row) -> str:
                value = row[at[h]] if at[h] < len(row) else None
                return "" if value is None else str(value).strip()

            if not cell(ACTION_HEADER):
                continue
            try:
                action = Action(code_of(cell(ACTION_HEADER)))
                reason = ReasonCode(code_of(cell(REASON_HEADER))) if cell(REASON_HEADER) else None
            except ValueError as error:
                raise DispositionError(f"{path}, Findings row {n}: {error}") from error
            requests.append(Request(cell(ID_HEADER), action, user, assignee=cell(ASSIGN_HEADER) or None,
                                    reason_code=reason, comment=cell(COMMENT_HEADER) or None))
    finally:
        book.close()
    return dt.date.fromisoformat(str(night)), requests
