"""``exceptions.html``: the page a clerk works from, one self-contained file (no network).

The first screen is what needs action tonight: new findings, open ones by age, waivers
waiting for a second user, reopened ones, and the amount at risk.  Then one findings table
with a filter per column (severity, bank, product, check, status) whose counts follow the
other filters, and a text search; each finding links to its financing and shows its evidence
and source records (file, position, archived object); each held financing links back to its
findings.  Labels are Chinese first, then English; money has thousands separators; the page
fits 1440 px without scrolling sideways and prints landscape.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections import Counter
from collections.abc import Mapping, Sequence

from dispositions.actions import NEEDS_ACTION, Status
from reconciliation.findings import Verdict
from worklist.labels import SEVERITY_LABELS, STATUS_LABELS, VERDICT_LABELS, label
from worklist.names import bank_name
from worklist.rows import NO_BANK, SEVERITIES, FindingRow, VerdictRow, yuan
from worklist.summary import at_risk_fen

#: Open findings' age buckets on the first screen: (label, least nights, most nights).
AGE_BUCKETS: tuple[tuple[str, int, int], ...] = (
    ("1 晚 night", 1, 1), ("2–3 晚 nights", 2, 3), ("4–7 晚 nights", 4, 7), ("8+ 晚 nights", 8, 10**9))
FILTERS: tuple[tuple[str, str], ...] = (
    ("severity", "严重度 Severity"), ("bank", "银行 Bank"), ("product", "产品 Product"), ("check", "检查 Check"),
    ("status", "状态 Status"))

_CSS = """
*{box-sizing:border-box}
body{font:14px/1.45 "PingFang SC","Microsoft YaHei","Noto Sans CJK SC",-apple-system,"Segoe UI",sans-serif;
 margin:0 auto;padding:16px 20px;max-width:1440px;color:#1d2329}
h1{font-size:1.45em;margin:0 0 .2em}h2{margin:1.2em 0 .4em;font-size:1.15em}
.sub{color:#5b6570;margin:0 0 .8em}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin:.6em 0 1em}
.card{border:1px solid #d5d9de;border-radius:6px;padding:8px 10px;background:#f8fafc}
.card b{display:block;font-size:1.5em}.card small{color:#5b6570}
.card.warn{background:#fff4e5;border-color:#f0b35a}.card.bad{background:#fdecec;border-color:#e79a9a}
button.card{font:inherit;text-align:left;cursor:pointer;color:inherit}
.filters{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:end;margin:.4em 0 .6em;padding:8px;background:#eef1f4;
 border-radius:6px}
.filters label{display:flex;flex-direction:column;font-size:12px;color:#3c4650}
.filters select,.filters input{font:inherit;padding:3px 4px;max-width:260px}
#chip{display:none;background:#dbeafe;border-radius:12px;padding:2px 10px}#chip.on{display:inline-block}
table{border-collapse:collapse;width:100%;table-layout:fixed;margin:.3em 0 1em}
th,td{border:1px solid #d5d9de;padding:3px 5px;vertical-align:top;text-align:left;overflow-wrap:anywhere}
th{background:#eef1f4;cursor:pointer;user-select:none;font-size:13px}
th[data-dir=asc]::after{content:" \\25B2"}th[data-dir=desc]::after{content:" \\25BC"}
.id{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:11.5px;white-space:nowrap;overflow:hidden;
 text-overflow:ellipsis;display:block}
.id.brk{white-space:normal;overflow-wrap:normal;word-break:keep-all}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.code{color:#5b6570;font-size:11.5px;display:block}
.sev-critical td:first-child{border-left:4px solid #9b1c1c}.sev-high td:first-child{border-left:4px solid #c2410c}
.sev-medium td:first-child{border-left:4px solid #ca8a04}.sev-low td:first-child{border-left:4px solid #9ca3af}
summary{cursor:pointer;color:#1d4ed8}pre{margin:.2em 0;white-space:pre-wrap;font-size:11.5px}
tr:target{background:#fff7cc}
a{color:#1d4ed8}
@page{size:A4 landscape;margin:10mm}
@media print{.filters,.noprint{display:none}body{max-width:none;padding:0;font-size:10px}
 tr{break-inside:avoid}thead{display:table-header-group}details>*{display:block}a{color:inherit;text-decoration:none}}
"""

_JS = """
var FILTERS = %s;
var financing = '';
function rows() { return Array.prototype.slice.call(document.querySelectorAll('#findings tbody tr')); }
function passes(r, skip) {
  for (var i = 0; i < FILTERS.length; i++) {
    var f = FILTERS[i], v = document.getElementById('f-' + f).value;
    if (f !== skip && v && r.getAttribute('data-' + f) !== v) return false;
  }
  if (financing && r.getAttribute('data-financing') !== financing) return false;
  var q = document.getElementById('q').value.toLowerCase();
  return !q || r.textContent.toLowerCase().indexOf(q) >= 0;
}
function refresh() {
  var all = rows(), shown = 0;
  all.forEach(function (r) { r.hidden = !passes(r, null); if (!r.hidden) shown++; });
  FILTERS.forEach(function (f) {
    var counts = {}, total = 0;
    all.forEach(function (r) { if (passes(r, f)) { var k = r.getAttribute('data-' + f); counts[k] = (counts[k] || 0) + 1; total++; } });
    Array.prototype.forEach.call(document.getElementById('f-' + f).options, function (o) {
      var n = o.value ? (counts[o.value] || 0) : total;
      o.textContent = o.getAttribute('data-label') + ' (' + n + ')';
    });
  });
  document.getElementById('shown').textContent = shown + ' / ' + all.length;
  var chip = document.getElementById('chip');
  chip.className = financing ? 'on' : '';
  document.getElementById('chip-id').textContent = financing;
}
function cellValue(row, i) {
  var t = row.cells[i].getAttribute('data-sort') || row.cells[i].textContent.trim();
  var n = Number(t);
  return (t !== '' && !isNaN(n)) ? n : t.toLowerCase();
}
function sortTable(th) {
  var table = th.closest('table'), body = table.tBodies[0], i = th.cellIndex;
  var dir = th.getAttribute('data-dir') === 'asc' ? 'desc' : 'asc';
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute('data-dir'); });
  th.setAttribute('data-dir', dir);
  var list = Array.prototype.slice.call(body.rows);
  list.sort(function (a, b) {
    var x = cellValue(a, i), y = cellValue(b, i);
    var c = (typeof x === typeof y) ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === 'number' ? -1 : 1);
    return dir === 'asc' ? c : -c;
  });
  list.forEach(function (r) { body.appendChild(r); });
}
document.addEventListener('DOMContentLoaded', function () {
  document.querySelectorAll('table.sortable th').forEach(function (th) {
    th.addEventListener('click', function () { sortTable(th); });
  });
  FILTERS.forEach(function (f) { document.getElementById('f-' + f).addEventListener('change', refresh); });
  document.getElementById('q').addEventListener('input', refresh);
  document.querySelectorAll('a.to-findings').forEach(function (a) {
    a.addEventListener('click', function () { financing = a.getAttribute('data-financing'); refresh(); });
  });
  document.querySelectorAll('button.card[data-status]').forEach(function (b) {
    b.addEventListener('click', function () {
      document.getElementById('f-status').value = b.getAttribute('data-status'); refresh();
      document.getElementById('findings').scrollIntoView();
    });
  });
  document.getElementById('chip-clear').addEventListener('click', function () { financing = ''; refresh(); });
  refresh();
});
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _pretty(evidence: str) -> str:
    try:
        return json.dumps(json.loads(evidence), ensure_ascii=False, indent=1, sort_keys=True)
    except ValueError:
        return evidence


def _breakable(text: str) -> str:
    """An id that may break only after ``_`` or before ``:``/``-`` (never inside a number)."""
    return _e(text).replace("_", "_<wbr>").replace(":", "<wbr>:").replace("-", "<wbr>-")


def _named(name: str, code: str) -> str:
    return f'{_e(name)}<span class="code id" title="{_e(code)}">{_e(code)}</span>' if name else \
        f'<span class="id" title="{_e(code)}">{_e(code)}</span>'


def _ids(r: FindingRow) -> str:
    parts = [("凭证 voucher", r.voucher_id), ("发票 invoice", r.invoice_no), ("票据 bill", r.bill_ref),
             ("运单 waybill", r.waybill_no)]
    return "".join(f'<span class="id brk" title="{k} {_e(v)}">{_breakable(v)}</span>' for k, v in parts if v)


def _sources(r: FindingRow) -> str:
    items = "".join(
        f'<li>{_e(s.document)}: {_e(s.rel_path)} #{s.position} — '
        f'<a href="../../{_e(s.archive_path)}">{_e(s.archive_path[:26])}…</a></li>' for s in r.sources)
    return f"<ul>{items}</ul>" if items else ""


def _finding_tr(r: FindingRow) -> str:
    bank = r.bank_code or NO_BANK
    financing = (f'<a class="id" href="#fin-{_e(r.financing_id)}" title="{_e(r.financing_id)}">{_e(r.financing_id)}</a>'
                 if r.financing_id else "")
    cells = [
        f'<td data-sort="{SEVERITIES.index(r.severity) if r.severity in SEVERITIES else 9}">'
        f'{_e(label(SEVERITY_LABELS, r.severity))}</td>',
        f'<td data-sort="{r.age_nights:06d}">{_e(label(STATUS_LABELS, r.status))}'
        f'<span class="code">{r.age_nights} 晚 night(s){" · " + _e(r.assignee) if r.assignee else ""}</span></td>',
        f'<td><span class="id brk">{_breakable(r.check_id)}</span><span class="code">{_e(r.category)}</span></td>',
        f"<td>{financing}<span class=\"code\">{_e(r.product)}</span></td>",
        f"<td>{_named(r.bank_name, r.bank_code)}</td>",
        f"<td>{_named(r.applicant_name, r.applicant_uscc)}</td>",
        f'<td class="num" data-sort="{r.amount_fen if r.amount_fen is not None else ""}">{_e(yuan(r.amount_fen))}</td>',
        f"<td>{_ids(r)}</td>",
        f'<td>{_e(r.detail)}<details><summary>证据与来源 evidence &amp; source</summary>'
        f'<pre>{_e(_pretty(r.evidence))}</pre>{_sources(r)}<span class="code">{_e(r.finding_id)} · '
        f"首次 first seen {r.first_seen_date.isoformat()}</span></details></td>",
    ]
    data = {"severity": r.severity, "bank": bank, "product": r.product or "—", "check": r.check_id,
            "status": r.status, "financing": r.financing_id}
    attrs = " ".join(f'data-{k}="{_e(v)}"' for k, v in data.items())
    return f'<tr id="{_e(r.finding_id)}" class="sev-{_e(r.severity)}" {attrs}>{"".join(cells)}</tr>'


FINDING_HEADERS: tuple[tuple[str, int], ...] = (
    ("严重度 Severity", 6), ("状态 Status", 8), ("检查 Check", 12), ("融资 Financing", 9), ("银行 Bank", 8),
    ("申请人 Applicant", 10), ("金额 Amount", 8), ("单据 Documents", 16), ("说明 Detail", 23))
VERDICT_HEADERS: tuple[tuple[str, int], ...] = (
    ("融资 Financing", 11), ("结论 Verdict", 8), ("问题 Findings", 9), ("检查 Checks", 20), ("银行 Bank", 12),
    ("申请人 Applicant", 14), ("债务人 Debtor", 14), ("金额 Amount", 9), ("结论起始 Since", 8))


def _table(table_id: str, headers: Sequence[tuple[str, int]], rows: str) -> str:
    cols = "".join(f'<col style="width:{w}%">' for _, w in headers)
    head = "".join(f"<th>{_e(h)}</th>" for h, _ in headers)
    return (f'<table id="{table_id}" class="sortable"><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def _verdict_tr(v: VerdictRow) -> str:
    link = (f'<a class="to-findings" href="#findings" data-financing="{_e(v.financing_id)}">问题 findings '
            f"({v.findings})</a>" if v.findings else "—")
    return (f'<tr id="fin-{_e(v.financing_id)}"><td><span class="id" title="{_e(v.financing_id)}">'
            f'{_e(v.financing_id)}</span><span class="code">{_e(v.product)} {_e(v.status)}</span></td>'
            f"<td>{_e(label(VERDICT_LABELS, v.verdict))}</td><td>{link}</td>"
            f'<td><span class="code">{_e(v.check_ids.replace(";", "; "))}</span></td>'
            f"<td>{_named(v.bank_name, v.bank_code)}</td><td>{_named(v.applicant_name, v.applicant_uscc)}</td>"
            f"<td>{_named(v.debtor_name, v.debtor_uscc)}</td>"
            f'<td class="num" data-sort="{v.amount_fen if v.amount_fen is not None else ""}">{_e(yuan(v.amount_fen))}'
            f"</td><td>{v.verdict_since.isoformat()}</td></tr>")


def _select(key: str, title: str, values: Sequence[tuple[str, str]]) -> str:
    options = ['<option value="" data-label="全部 all">全部 all</option>']
    options += [f'<option value="{_e(v)}" data-label="{_e(text)}">{_e(text)}</option>' for v, text in values]
    return f'<label>{_e(title)}<select id="f-{key}">{"".join(options)}</select></label>'


def _filters(found: Sequence[FindingRow]) -> str:
    def ordered(values: set[str], order: Sequence[str] = ()) -> list[str]:
        return sorted(values, key=lambda v: (order.index(v) if v in order else len(order), v))

    banks = ordered({r.bank_code or NO_BANK for r in found})
    selects = [
        _select("severity", FILTERS[0][1], [(s, label(SEVERITY_LABELS, s))
                                            for s in ordered({r.severity for r in found}, SEVERITIES)]),
        _select("bank", FILTERS[1][1], [(b, f"{bank_name(b)} {b}".strip()) for b in banks]),
        _select("product", FILTERS[2][1], [(p, p) for p in ordered({r.product or "—" for r in found})]),
        _select("check", FILTERS[3][1], [(c, c) for c in ordered({r.check_id for r in found})]),
        _select("status", FILTERS[4][1], [(s.value, label(STATUS_LABELS, s.value)) for s in Status
                                          if s.value in {r.status for r in found}]),
    ]
    return ('<div class="filters">' + "".join(selects)
            + '<label>搜索 Search<input id="q" type="search" placeholder="编号、名称、说明 id, name, text"></label>'
            + '<span>显示 shown <b id="shown"></b></span>'
            + '<span id="chip">融资 financing <b id="chip-id"></b> <button id="chip-clear" type="button">✕</button>'
            + "</span></div>")


def _cards(found: Sequence[FindingRow], verdicts: Sequence[VerdictRow]) -> str:
    statuses = Counter(r.status for r in found)
    new = [r for r in found if r.status == Status.NEW]
    open_ = [r for r in found if r.status in NEEDS_ACTION]
    held = [v for v in verdicts if Verdict(v.verdict).held]
    at_risk = sum(v.amount_fen or 0 for v in held)

    def card(title: str, value: str, note: str, css: str = "", status: str | None = None) -> str:
        tag, attr = ("button", f' data-status="{_e(status)}" type="button"') if status else ("div", "")
        return f'<{tag} class="card {css}"{attr}><small>{_e(title)}</small><b>{_e(value)}</b><small>{note}</small></{tag}>'

    cards = [
        card("今晚新增 New tonight", str(len(new)), _e(yuan(at_risk_fen(new)) or "¥0.00"), "bad" if new else "",
             Status.NEW.value),
        card("待处理 Needs action", str(len(open_)), "新增、未处理、重新打开、待复核 new, open, reopened, pending"),
        card("按账龄 Open by age", " / ".join(str(sum(1 for r in open_ if lo <= r.age_nights <= hi))
                                             for _, lo, hi in AGE_BUCKETS),
             " / ".join(_e(name) for name, _, _ in AGE_BUCKETS)),
        card("豁免待复核 Waivers to approve", str(statuses[Status.WAIVER_PENDING]), "须另一人批准 a second user approves",
             "warn" if statuses[Status.WAIVER_PENDING] else "", Status.WAIVER_PENDING.value),
        card("重新打开 Reopened", str(statuses[Status.REOPENED]), "证据已变 evidence changed",
             "warn" if statuses[Status.REOPENED] else "", Status.REOPENED.value),
        card("风险金额 Amount at risk", yuan(at_risk) or "¥0.00",
             f"{len(held)} 笔融资被拦截或复核 financings blocked or in review", "bad" if held else ""),
    ]
    return f'<div class="cards">{"".join(cards)}</div>'


def render_page(day: dt.date, found: Sequence[FindingRow], verdicts: Sequence[VerdictRow],
                counts: Mapping[str, int]) -> str:
    """The night's page: ``verdicts`` are the financings listed (:func:`worklist.rows.load_verdicts`),
    ``counts`` every financing's verdict of the night."""
    others = sum(counts.values()) - len(verdicts)
    body = [
        f"<h1>异常工作清单 Exception worklist — {day.isoformat()}</h1>",
        '<p class="sub">' + " · ".join(f"{_e(label(VERDICT_LABELS, v))} {counts.get(v, 0)}" for v in VERDICT_LABELS)
        + f" · 问题 findings {len(found)}</p>",
        "<h2>今晚待办 What needs action tonight</h2>", _cards(found, verdicts),
        '<h2 id="findings-title">问题 Findings</h2>', _filters(found),
        _table("findings", FINDING_HEADERS, "".join(_finding_tr(r) for r in found)),
    ]
    if not found:
        body.append("<p>今晚无问题 No findings tonight.</p>")
    body += [f"<h2>融资 Financings held, with findings or changed tonight — {len(verdicts)}</h2>",
             _table("financings", VERDICT_HEADERS, "".join(_verdict_tr(v) for v in verdicts)),
             f'<p class="sub" id="others">其余 {others} 笔融资结论未变且今晚无问题，完整清单见 · The other {others} '
             "financings (clean or closed as the night before, no finding tonight) are listed in "
             '<a href="financing_status_excel.csv">financing_status_excel.csv</a> (financing_status.csv).</p>']
    script = _JS % json.dumps([key for key, _ in FILTERS])
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>异常工作清单 Exceptions {day.isoformat()}</title><style>{_CSS}</style><script>{script}</script>"
        f"</head><body>{''.join(body)}</body></html>\n"
    )
