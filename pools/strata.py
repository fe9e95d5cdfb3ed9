"""A pool's shape: stratification tables and key figures, as ``stratification.xlsx`` (native
Excel charts) and ``pool_report.html`` (inline SVG charts, no scripts).

Strata: by obligor (largest first), remaining-term bucket, amount bucket, industry
division, province, rate bucket.  Key figures: totals, weighted-average rate, remaining
and original term and seasoning, top-10 obligor share, HHI over obligors and the
effective number of obligors (1 / HHI).
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import xlsxwriter

from foundation.values import format_fen
from pools.candidates import Candidate

TERM_BUCKETS = ((-10**6, 90), (91, 180), (181, 270), (271, 360), (361, 10**6))
AMOUNT_BUCKETS_YUAN = ((0, 100_000), (100_000, 500_000), (500_000, 1_000_000), (1_000_000, 5_000_000),
                       (5_000_000, 10**12))
RATE_BUCKETS_BP = ((0, 250), (250, 300), (300, 350), (350, 400), (400, 10**6))


@dataclass(frozen=True)
class Stratum:
    """One row of a stratification table."""

    label: str
    count: int
    amount_fen: int
    share: Fraction


@dataclass(frozen=True)
class Table:
    """A stratification table."""

    title: str
    rows: tuple[Stratum, ...]


def _table(title: str, pool: list[Candidate], key: Callable[[Candidate], str], order: list[str] | None = None,
           by_amount: bool = False) -> Table:
    counts: dict[str, int] = defaultdict(int)
    sums: dict[str, int] = defaultdict(int)
    for c in pool:
        counts[key(c)] += 1
        sums[key(c)] += c.outstanding_fen
    total = sum(sums.values()) or 1
    labels = order if order is not None else sorted(sums, key=(lambda k: (-sums[k], k)) if by_amount else None)
    return Table(title, tuple(Stratum(k, counts[k], sums[k], Fraction(sums[k], total)) for k in labels))


def _term_label(lo: int, hi: int) -> str:
    if lo < 0:
        return f"≤ {hi} days"
    return f"{lo}–{hi} days" if hi < 10**6 else f"> {lo - 1} days"


def _amount_label(lo: int, hi: int) -> str:
    return f"¥{lo:,}–{hi:,}" if hi < 10**12 else f"≥ ¥{lo:,}"


def _rate_label(lo: int, hi: int) -> str:
    return f"{lo / 100:.2f}–{hi / 100:.2f}%" if hi < 10**6 else f"≥ {lo / 100:.2f}%"


def tables(pool: list[Candidate]) -> list[Table]:
    """Every stratification table of the pool."""
    names = {c.obligor_uscc: c.obligor_name for c in pool}
    return [
        _table("obligor", pool, lambda c: f"{c.obligor_uscc} {names.get(c.obligor_uscc) or ''}".strip(),
               by_amount=True),
        _table("remaining term", pool,
               lambda c: next(_term_label(lo, hi) for lo, hi in TERM_BUCKETS
                              if lo <= (c.remaining_term_days or 0) <= hi),
               [_term_label(lo, hi) for lo, hi in TERM_BUCKETS]),
        _table("amount", pool, lambda c: next(_amount_label(lo, hi) for lo, hi in AMOUNT_BUCKETS_YUAN
                                              if lo * 100 <= c.outstanding_fen < hi * 100),
               [_amount_label(lo, hi) for lo, hi in AMOUNT_BUCKETS_YUAN]),
        _table("industry", pool, lambda c: c.industry_division or "unknown", by_amount=True),
        _table("region", pool, lambda c: c.province or "unknown", by_amount=True),
        _table("rate", pool, lambda c: next(_rate_label(lo, hi) for lo, hi in RATE_BUCKETS_BP
                                            if lo <= int(Fraction(c.rate or 0) * 10_000) < hi),
               [_rate_label(lo, hi) for lo, hi in RATE_BUCKETS_BP]),
    ]


def key_figures(pool: list[Candidate], weighted: dict[str, str]) -> list[tuple[str, str]]:
    """Totals, weighted averages (from the manifest), concentration."""
    total = sum(c.outstanding_fen for c in pool)
    by_obligor: dict[str | None, int] = defaultdict(int)
    for c in pool:
        by_obligor[c.obligor_uscc] += c.outstanding_fen
    shares = sorted((Fraction(v, total) for v in by_obligor.values()), reverse=True) if total else []
    hhi = sum(s * s for s in shares)
    return [
        ("assets", str(len(pool))),
        ("obligors", str(len(by_obligor))),
        ("outstanding amount ¥", format_fen(total)),
        ("WA rate", f"{float(Fraction(weighted['rate'])) * 100:.4f}%"),
        ("WA remaining term (days)", weighted["remaining_term_days"]),
        ("WA original term (days)", weighted["original_term_days"]),
        ("WA seasoning (days)", weighted["seasoning_days"]),
        ("top-10 obligor share", f"{float(sum(shares[:10])) * 100:.2f}%"),
        ("HHI (obligors)", f"{float(hhi):.4f}"),
        ("effective number of obligors", f"{float(1 / hhi):.1f}" if hhi else "0"),
    ]


def write_xlsx(path: Path, pool_id: str, figures: list[tuple[str, str]], strata: list[Table]) -> None:
    """``stratification.xlsx``: a summary sheet, then one sheet per table with a native chart."""
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    money = book.add_format({"num_format": "#,##0.00"})
    pct = book.add_format({"num_format": "0.00%"})
    summary = book.add_worksheet("summary")
    summary.write(0, 0, f"pool {pool_id}", bold)
    for row, (name, value) in enumerate(figures, start=2):
        summary.write_string(row, 0, name)
        summary.write_string(row, 1, value)
    summary.set_column(0, 0, 32)
    summary.set_column(1, 1, 22)
    for table in strata:
        sheet = book.add_worksheet(table.title[:31])
        for col, head in enumerate((table.title, "assets", "amount ¥", "share")):
            sheet.write(0, col, head, bold)
        for row, s in enumerate(table.rows, start=1):
            sheet.write_string(row, 0, s.label)
            sheet.write_number(row, 1, s.count)
            sheet.write_number(row, 2, s.amount_fen / 100, money)
            sheet.write_number(row, 3, float(s.share), pct)
        sheet.set_column(0, 0, 44)
        sheet.set_column(1, 3, 16)
        shown = min(len(table.rows), 20)
        chart = book.add_chart({"type": "bar" if table.title in ("obligor", "industry", "region") else "column"})
        chart.add_series({
            "name": f"share by {table.title}",
            "categories": [sheet.name, 1, 0, shown, 0],
            "values": [sheet.name, 1, 3, shown, 3],
            "data_labels": {"value": True, "num_format": "0.0%"},
        })
        chart.set_title({"name": f"share of the pool by {table.title}" + (" (top 20)" if len(table.rows) > 20 else "")})
        chart.set_legend({"none": True})
        chart.set_size({"width": 720, "height": 360 if shown < 10 else 520})
        if table.title in ("obligor", "industry", "region"):
            chart.set_y_axis({"reverse": True})
        sheet.insert_chart(1, 5, chart)
    book.close()


def _svg_bars(table: Table, limit: int = 20) -> str:
    rows = table.rows[:limit]
    width, bar, gap, label_w = 720, 18, 6, 300
    height = len(rows) * (bar + gap) + gap
    top = max((float(s.share) for s in rows), default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="share by {html.escape(table.title)}">']
    for i, s in enumerate(rows):
        y = gap + i * (bar + gap)
        w = (width - label_w - 80) * float(s.share) / top
        parts.append(f'<text x="{label_w - 6}" y="{y + bar - 4}" text-anchor="end" font-size="12">'
                     f'{html.escape(s.label[:44])}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar}" fill="#3b6ea8"/>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar - 4}" font-size="12">'
                     f'{float(s.share) * 100:.1f}%</text>')
    parts.append("</svg>")
    return "".join(parts)


def write_html(path: Path, pool_id: str, figures: list[tuple[str, str]], strata: list[Table]) -> None:
    """``pool_report.html``: key figures and one bar chart per stratification table."""
    figure_rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in figures)
    sections = []
    for table in strata:
        rows = "".join(
            f"<tr><td>{html.escape(s.label)}</td><td>{s.count}</td><td>{format_fen(s.amount_fen)}</td>"
            f"<td>{float(s.share) * 100:.2f}%</td></tr>" for s in table.rows)
        sections.append(
            f"<section><h2>by {html.escape(table.title)}</h2>{_svg_bars(table)}"
            f"<details><summary>table</summary><table><tr><th>{html.escape(table.title)}</th><th>assets</th>"
            f"<th>amount ¥</th><th>share</th></tr>{rows}</table></details></section>")
    path.write_text(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>pool {html.escape(pool_id)}</title><style>body{{font-family:sans-serif;margin:2em}}"
        "th{text-align:left;padding-right:1em}td{padding-right:1em}</style></head><body>"
        f"<h1>pool {html.escape(pool_id)}</h1><table>{figure_rows}</table>{''.join(sections)}</body></html>\n",
        "utf-8",
    )
