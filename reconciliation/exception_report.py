"""The nightly exception report for the back office: one HTML page and one XLSX workbook.

``reports/<date>/exceptions.html`` is a single self-contained file (inline CSS and
JavaScript, no network): a summary, then the night's findings grouped by severity (gravest
first) and, within a severity, by lending bank; every table sorts by a click on its
header and a filter box narrows all of them.  ``reports/<date>/exceptions.xlsx`` holds the
same findings on one sheet (autofilter, frozen header) and the verdicts of the night on
another.  Both are written from the warehouse's ``findings`` and ``financing_verdicts`` and
are byte-identical when a night is re-run on the same input.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

import duckdb
import xlsxwriter

from reconciliation.check import severity_rank_sql
from reconciliation.findings import Verdict, verdict_rank_sql
from reconciliation.reports import night_report_dir, spreadsheet_safe

SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low")
VERDICTS: tuple[str, ...] = tuple(v.value for v in Verdict)
NO_BANK = "(no financing)"
XLSX_MAX_ROWS = 1_048_575  # rows below the header an Excel sheet can hold

_SEVERITY_RANK = severity_rank_sql("f.severity")
_VERDICT_RANK = verdict_rank_sql()


@dataclass(frozen=True)
class FindingRow:
    """One finding as the report shows it."""

    severity: str
    bank_code: str
    check_id: str
    category: str
    financing_id: str
    product: str
    voucher_id: str
    invoice_no: str
    bill_ref: str
    waybill_no: str
    detail: str
    evidence: str
    first_seen_date: str
    finding_id: str


FINDING_HEADERS: tuple[tuple[str, str], ...] = (
    ("check_id", "Check"), ("category", "Category"), ("financing_id", "Financing"), ("product", "Product"),
    ("voucher_id", "Voucher"), ("invoice_no", "Invoice"), ("bill_ref", "Bill"), ("waybill_no", "Waybill"),
    ("detail", "Detail"), ("first_seen_date", "First seen"), ("evidence", "Evidence"),
)
VERDICT_COLUMNS: tuple[str, ...] = (
    "financing_id", "verdict", "check_ids", "bank_code", "product", "applicant_uscc", "debtor_uscc",
    "financed_amount", "status", "verdict_since",
)


def load_findings(con: duckdb.DuckDBPyConnection, business_date: dt.date) -> list[FindingRow]:
    """The night's findings with the bank and product of their financing, gravest first."""
    rows = con.execute(
        f"""SELECT f.severity, coalesce(v.bank_code, '{NO_BANK}'), f.check_id, f.category,
                   coalesce(f.financing_id, ''), coalesce(v.product, ''), coalesce(f.voucher_id, ''),
                   coalesce(f.invoice_no, ''), coalesce(f.bill_ref, ''), coalesce(f.waybill_no, ''), f.detail,
                   coalesce(f.evidence, ''), f.first_seen_date::VARCHAR, f.finding_id
            FROM findings f
            LEFT JOIN financing_verdicts v ON v.business_date = f.business_date AND v.financing_id = f.financing_id
            WHERE f.business_date = ?
            ORDER BY {_SEVERITY_RANK}, v.bank_code IS NULL, v.bank_code, f.check_id, f.financing_id, f.finding_id""",
        [business_date],
    ).fetchall()
    return [FindingRow(*row) for row in rows]


def load_verdicts(con: duckdb.DuckDBPyConnection, business_date: dt.date) -> list[tuple[str, ...]]:
    """The night's verdicts (columns :data:`VERDICT_COLUMNS`), blocked first."""
    rows = con.execute(
        f"""SELECT financing_id, verdict, check_ids, coalesce(bank_code, ''), coalesce(product, ''),
                   coalesce(applicant_uscc, ''), coalesce(debtor_uscc, ''),
                   coalesce(yuan(financed_amount_fen), ''), coalesce(status, ''), verdict_since::VARCHAR
            FROM financing_verdicts WHERE business_date = ?
            ORDER BY {_VERDICT_RANK}, financing_id""",
        [business_date],
    ).fetchall()
    return [tuple(str(v) for v in row) for row in rows]


def write_exception_reports(con: duckdb.DuckDBPyConnection, home: Path, business_date: dt.date) -> list[Path]:
    """Write ``exceptions.html`` and ``exceptions.xlsx`` of a night; return their paths."""
    folder = night_report_dir(home, business_date)
    found = load_findings(con, business_date)
    verdicts = load_verdicts(con, business_date)
    page = folder / "exceptions.html"
    book = folder / "exceptions.xlsx"
    _replace(page, lambda tmp: tmp.write_text(render_html(business_date, found, verdicts), encoding="utf-8"))
    _replace(book, lambda tmp: write_xlsx(tmp, business_date, found, verdicts))
    return [page, book]


def _replace(target: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file, then rename it over ``target``."""
    tmp = target.with_name(target.name + ".part")
    write(tmp)
    tmp.replace(target)


# ---- HTML ---------------------------------------------------------------------------------
_CSS = """
body{font:14px/1.4 -apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;margin:1.5em;color:#1d2329}
h1{font-size:1.5em;margin:0 0 .3em}h2{margin:1.4em 0 .4em;font-size:1.2em}
.sev-critical h2{color:#9b1c1c}.sev-high h2{color:#c2410c}.sev-medium h2{color:#a16207}.sev-low h2{color:#4b5563}
.counts span{display:inline-block;margin-right:1.2em}
table{border-collapse:collapse;margin:.3em 0 1em;width:100%}
th,td{border:1px solid #d5d9de;padding:3px 6px;vertical-align:top;text-align:left}
th{background:#eef1f4;cursor:pointer;user-select:none;white-space:nowrap}
th[data-dir=asc]::after{content:" \\25B2"}th[data-dir=desc]::after{content:" \\25BC"}
td.detail{min-width:26em;max-width:46em;overflow-wrap:anywhere}
td.mono,td.ev{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
td.mono{max-width:17em;overflow-wrap:anywhere}td.check{white-space:nowrap;max-width:none}
summary{cursor:pointer;font-weight:600;margin:.4em 0}pre{margin:0;white-space:pre-wrap;max-width:40em}
#filter{padding:4px 8px;width:28em;margin:.5em 0}
"""

_JS = """
function cellValue(row, i) {
  var t = row.cells[i].getAttribute('data-sort') || row.cells[i].textContent.trim();
  var n = Number(t.replace(/,/g, ''));
  return (t !== '' && !isNaN(n)) ? n : t.toLowerCase();
}
function sortTable(th) {
  var table = th.closest('table'), body = table.tBodies[0], i = th.cellIndex;
  var dir = th.getAttribute('data-dir') === 'asc' ? 'desc' : 'asc';
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute('data-dir'); });
  th.setAttribute('data-dir', dir);
  var rows = Array.prototype.slice.call(body.rows);
  rows.sort(function (a, b) {
    var x = cellValue(a, i), y = cellValue(b, i);
    var c = (typeof x === typeof y) ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === 'number' ? -1 : 1);
    return dir === 'asc' ? c : -c;
  });
  rows.forEach(function (r) { body.appendChild(r); });
}
function filterRows(text) {
  var q = text.toLowerCase();
  document.querySelectorAll('table.sortable tbody tr').forEach(function (r) {
    r.style.display = r.textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none';
  });
}
document.addEventListener('DOMContentLoaded', function () {
  document.querySelectorAll('table.sortable th').forEach(function (th) {
    th.addEventListener('click', function () { sortTable(th); });
  });
  document.getElementById('filter').addEventListener('input', function (e) { filterRows(e.target.value); });
});
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _table(headers: Sequence[str], rows: Iterable[str]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    return f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _pretty_evidence(evidence: str) -> str:
    try:
        return json.dumps(json.loads(evidence), ensure_ascii=False, indent=1, sort_keys=True)
    except ValueError:
        return evidence


def _finding_tr(f: FindingRow) -> str:
    cells = [
        f'<td class="mono check">{_e(f.check_id)}</td>', f"<td>{_e(f.category)}</td>",
        f'<td class="mono">{_e(f.financing_id)}</td>', f"<td>{_e(f.product)}</td>",
        f'<td class="mono">{_e(f.voucher_id)}</td>', f'<td class="mono">{_e(f.invoice_no)}</td>',
        f'<td class="mono">{_e(f.bill_ref)}</td>', f'<td class="mono">{_e(f.waybill_no)}</td>',
        f'<td class="detail">{_e(f.detail)}</td>', f"<td>{_e(f.first_seen_date)}</td>",
        f'<td class="ev" data-sort=""><details><summary>values</summary><pre>{_e(_pretty_evidence(f.evidence))}'
        "</pre></details></td>",
    ]
    return f'<tr id="{_e(f.finding_id)}">{"".join(cells)}</tr>'


def _severity_section(severity: str, rows: list[FindingRow]) -> str:
    parts = [f'<section class="sev-{severity}"><h2>{severity.capitalize()} — {len(rows)} finding(s)</h2>']
    for bank, group in groupby(rows, key=lambda r: r.bank_code):
        found = list(group)
        financings = len({r.financing_id for r in found if r.financing_id})
        label = bank if bank == NO_BANK else f"Bank {bank}"
        parts.append(
            f"<details open><summary>{_e(label)} — {len(found)} finding(s), {financings} financing(s)</summary>"
            + _table([h for _, h in FINDING_HEADERS], (_finding_tr(r) for r in found))
            + "</details>"
        )
    parts.append("</section>")
    return "".join(parts)


def render_html(business_date: dt.date, found: Sequence[FindingRow], verdicts: Sequence[tuple[str, ...]]) -> str:
    """The HTML exception report of a night."""
    by_severity = {s: [r for r in found if r.severity == s] for s in SEVERITIES}
    verdict_counts = {v: sum(1 for row in verdicts if row[1] == v) for v in VERDICTS}
    by_check: dict[tuple[str, str], int] = {}
    for r in found:
        by_check[(r.severity, r.check_id)] = by_check.get((r.severity, r.check_id), 0) + 1
    summary_rows = (
        f'<tr><td data-sort="{SEVERITIES.index(s)}">{_e(s)}</td><td class="mono">{_e(c)}</td><td>{n}</td></tr>'
        for (s, c), n in sorted(by_check.items(), key=lambda kv: (SEVERITIES.index(kv[0][0]), kv[0][1]))
    )
    held = [row for row in verdicts if row[1] in (Verdict.BLOCKED, Verdict.REVIEW)]
    verdict_rows = (
        "<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>" for row in held
    )
    day = business_date.isoformat()
    body = [
        f"<h1>Exception report — night of {day}</h1>",
        '<p class="counts">' + "".join(f"<span><b>{n}</b> {_e(s)}</span>" for s, n in
                                       ((s, len(by_severity[s])) for s in SEVERITIES)) + "</p>",
        '<p class="counts">' + "".join(f"<span><b>{verdict_counts[v]}</b> financing(s) {v}</span>"
                                       for v in VERDICTS) + "</p>",
        '<input id="filter" type="search" placeholder="Filter every table (check, financing, invoice, text …)">',
        "<h2>Findings by check</h2>", _table(["Severity", "Check", "Findings"], summary_rows),
    ]
    body += [_severity_section(s, by_severity[s]) for s in SEVERITIES if by_severity[s]]
    if not found:
        body.append("<p>No findings tonight.</p>")
    body += [f"<h2>Financings held — {len(held)}</h2>", _table(VERDICT_COLUMNS, verdict_rows)]
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>Exceptions {day}</title><style>{_CSS}</style><script>{_JS}</script></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


# ---- XLSX ---------------------------------------------------------------------------------
_SEVERITY_COLOURS = {"critical": "#F8D7DA", "high": "#FDE2C8", "medium": "#FFF3C4", "low": "#E9ECEF"}
_XLSX_FINDING_COLUMNS: tuple[tuple[str, int], ...] = (
    ("severity", 9), ("bank_code", 14), ("check_id", 28), ("category", 12), ("financing_id", 16), ("product", 9),
    ("voucher_id", 19), ("invoice_no", 22), ("bill_ref", 24), ("waybill_no", 18), ("detail", 90),
    ("evidence", 50), ("first_seen_date", 12), ("finding_id", 26),
)


def write_xlsx(path: Path, business_date: dt.date, found: Sequence[FindingRow],
               verdicts: Sequence[tuple[str, ...]]) -> None:
    """The XLSX exception report: sheets ``Findings`` and ``Verdicts``, each with an autofilter."""
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                           "strings_to_urls": False, "strings_to_formulas": False})
    created = dt.datetime.combine(business_date, dt.time())
    book.set_properties({"title": f"Exceptions {business_date.isoformat()}", "created": created})
    header = book.add_format({"bold": True, "bg_color": "#DDE3EA", "border": 1})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    severity_formats = {s: book.add_format({"bg_color": c, "valign": "top"}) for s, c in _SEVERITY_COLOURS.items()}

    sheet = book.add_worksheet("Findings")
    for col, (name, width) in enumerate(_XLSX_FINDING_COLUMNS):
        sheet.write_string(0, col, name, header)
        sheet.set_column(col, col, width)
    shown = found[:XLSX_MAX_ROWS]
    for n, finding in enumerate(shown, start=1):
        for col, (name, _width) in enumerate(_XLSX_FINDING_COLUMNS):
            value = getattr(finding, name)
            fmt = severity_formats.get(finding.severity) if name == "severity" else (wrap if name == "detail" else None)
            sheet.write_string(n, col, spreadsheet_safe(value), fmt)
    sheet.autofilter(0, 0, max(len(shown), 1), len(_XLSX_FINDING_COLUMNS) - 1)
    sheet.freeze_panes(1, 0)

    sheet = book.add_worksheet("Verdicts")
    for col, name in enumerate(VERDICT_COLUMNS):
        sheet.write_string(0, col, name, header)
        sheet.set_column(col, col, 40 if name == "check_ids" else 18)
    shown_verdicts = verdicts[:XLSX_MAX_ROWS]
    for n, row in enumerate(shown_verdicts, start=1):
        for col, value in enumerate(row):
            sheet.write_string(n, col, spreadsheet_safe(value))
    sheet.autofilter(0, 0, max(len(shown_verdicts), 1), len(VERDICT_COLUMNS) - 1)
    sheet.freeze_panes(1, 0)
    book.close()
