"""Compliance's data-quality scorecard: ``data_quality.html`` and ``data_quality.xlsx``.

One screen answers "can tonight's data be trusted, and where not": the verdict line, the
sources missing or in trouble (``dq_source_issues``), per source and DAMA dimension the
share of expectations met tonight against the last 30 nights (with a trend line), the
failed expectations with samples (file, position), quarantine by reason code with
examples, and the night's ``data_quality`` findings.  Everything is read from the
warehouse, so ``scf quality`` can write it again at any time.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import xlsxwriter
from rich.console import Console
from rich.table import Table

from foundation.errors import ScfError
from foundation.vocabulary import sql_literal
from quality.suites import DIMENSIONS
from reconciliation.check import Category

TREND_NIGHTS = 30
EXAMPLES_PER_REASON = 3


class NoQualityResults(ScfError):
    """The warehouse holds no data-quality results for the night asked for."""


@dataclass(frozen=True)
class Scorecard:
    """What the scorecard shows for one night."""

    business_date: dt.date
    issues: list[tuple[str, str, bool, str]]  # check_id, source, blocking, detail
    scores: dict[str, dict[str, tuple[int, int]]]  # source -> dimension -> (met, total) tonight
    trend: dict[str, list[tuple[dt.date, float]]]  # source -> (night, share met) over the last 30 nights
    failed: list[tuple[str, str, str, str | None, int | None, float | None, str | None]]
    quarantine: list[tuple[str, int, list[tuple[str, int | None, str]]]]  # reason, count, examples
    findings: list[tuple[str, str, str]]  # check_id, severity, detail

    @property
    def trusted(self) -> bool:
        """No blocking source issue and every expectation met."""
        return not any(i[2] for i in self.issues) and not self.failed


def load_scorecard(con: duckdb.DuckDBPyConnection, day: dt.date) -> Scorecard:
    """Read the scorecard of ``day`` from the warehouse (which holds the data-quality tables)."""
    if not (_has_table(con, "dq_results") and _has_table(con, "dq_source_issues")):
        raise NoQualityResults("the warehouse holds no data-quality results: run a night first (scf run --date …)")
    if not con.execute("SELECT 1 FROM dq_results WHERE business_date = ? LIMIT 1", [day]).fetchone():
        raise NoQualityResults(f"no data-quality results for {day}: run that night first (scf run --date {day})")
    issues = [tuple(r) for r in con.execute(
        "SELECT check_id, source, blocking, detail FROM dq_source_issues WHERE business_date = ? "
        "ORDER BY blocking DESC, check_id, source", [day]).fetchall()]
    scores: dict[str, dict[str, tuple[int, int]]] = {}
    for source, dimension, met, total in con.execute(
            "SELECT source, dimension, count(*) FILTER (WHERE success), count(*) FROM dq_results "
            "WHERE business_date = ? GROUP BY ALL ORDER BY ALL", [day]).fetchall():
        scores.setdefault(source, {})[dimension] = (met, total)
    trend: dict[str, list[tuple[dt.date, float]]] = {}
    for source, night, share in con.execute(
            "SELECT source, business_date, avg(success::INTEGER) FROM dq_results "
            "WHERE business_date <= ? AND business_date > ? - INTERVAL (?) DAY GROUP BY ALL ORDER BY ALL",
            [day, day, TREND_NIGHTS]).fetchall():
        trend.setdefault(source, []).append((night, float(share)))
    failed = [tuple(r) for r in con.execute(
        "SELECT source, dimension, expectation, observed_value, unexpected_count, unexpected_share, sample "
        "FROM dq_results WHERE business_date = ? AND NOT success ORDER BY source, dimension, expectation",
        [day]).fetchall()]
    quarantine = []
    for reason, count, examples in con.execute(
            f"""SELECT reason_code, count(*),
                       list([src_path, src_pos::VARCHAR, coalesce(raw, reason)] ORDER BY src_path, src_pos)[1:{EXAMPLES_PER_REASON}]
                FROM quarantine WHERE business_date = ? GROUP BY ALL ORDER BY 2 DESC, 1""", [day]).fetchall():
        quarantine.append((reason, count, [(p, None if pos is None else int(pos), raw) for p, pos, raw in examples]))
    findings = [tuple(r) for r in con.execute(
        f"SELECT check_id, severity, detail FROM findings WHERE business_date = ? AND category = {sql_literal(Category.DATA_QUALITY)} "
        "ORDER BY check_id, detail", [day]).fetchall()] if _has_table(con, "findings") else []
    return Scorecard(day, issues, scores, trend, failed, quarantine, findings)


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone())


def write_scorecard(con: duckdb.DuckDBPyConnection, day: dt.date, reports: Path) -> list[Path]:
    """Write ``data_quality.html`` and ``data_quality.xlsx`` of ``day`` under ``reports``."""
    card = load_scorecard(con, day)
    reports.mkdir(parents=True, exist_ok=True)
    page, book = reports / "data_quality.html", reports / "data_quality.xlsx"
    page.write_text(render_html(card), "utf-8")
    write_xlsx(card, book)
    return [page, book]


def _sparkline(points: list[tuple[dt.date, float]]) -> str:
    width, height = 120, 24
    if not points:
        return ""
    step = width / max(1, len(points) - 1)
    coords = " ".join(f"{i * step:.1f},{height - share * height:.1f}" for i, (_, share) in enumerate(points))
    title = html.escape(", ".join(f"{d}: {share:.0%}" for d, share in points))
    return (f'<svg class="trend" width="{width}" height="{height}" role="img"><title>{title}</title>'
            f'<polyline fill="none" stroke="#2563eb" stroke-width="1.5" points="{coords}"/></svg>')


def _table(headers: list[str], rows: list[list[str]], css: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _cell(score: tuple[int, int] | None) -> str:
    if score is None:
        return "—"
    met, total = score
    css = "ok" if met == total else "bad"
    return f'<span class="{css}">{met}/{total}</span>'


def render_html(card: Scorecard) -> str:
    """The scorecard as one self-contained HTML page."""
    e = html.escape
    verdict = ("Tonight's data can be trusted: every source expected is here and every expectation is met."
               if card.trusted else
               f"Tonight's data cannot be fully trusted: {sum(i[2] for i in card.issues)} blocking source issue(s), "
               f"{len(card.issues)} source issue(s), {len(card.failed)} failed expectation(s).")
    issues = _table(["Check", "Source", "Blocking", "Detail"],
                    [[e(c), e(s), "yes" if b else "no", e(d)] for c, s, b, d in card.issues], "issues")
    dims = [d for d in DIMENSIONS if any(d in s for s in card.scores.values())]
    scores = _table(["Source", *dims, f"last {TREND_NIGHTS} nights"],
                    [[e(source), *(_cell(by_dim.get(d)) for d in dims), _sparkline(card.trend.get(source, []))]
                     for source, by_dim in sorted(card.scores.items())], "scores")
    failed = _table(["Source", "Dimension", "Expectation", "Observed", "Unexpected", "Share", "Sample (value, file, position)"],
                    [[e(s), e(d), e(x), e(o or ""), str(n or ""), f"{share:.2%}" if share is not None else "",
                      e("; ".join(f"{v['value']} @ {v['file']}" + ("" if v["pos"] is None else f":{v['pos']}")
                                 for v in json.loads(sample or "[]")))]
                     for s, d, x, o, n, share, sample in card.failed], "failed")
    quarantine = _table(["Reason", "Records", "Examples (file, position, raw)"],
                        [[e(r), str(n), "<br>".join(e(f"{p}:{pos if pos is not None else 'file'} {raw[:200]}")
                                                     for p, pos, raw in ex)] for r, n, ex in card.quarantine], "quarantine")
    findings = _table(["Check", "Severity", "Detail"], [[e(c), e(s), e(d)] for c, s, d in card.findings], "findings")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Data quality {card.business_date}</title>
<style>body{{font-family:sans-serif;margin:1.5em}} table{{border-collapse:collapse;margin-bottom:1.5em}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}} .ok{{color:#15803d}}
.bad{{color:#b91c1c;font-weight:bold}} #verdict.bad{{background:#fee2e2}} #verdict.ok{{background:#dcfce7}}
#verdict{{padding:.5em}}</style></head><body>
<h1>Data quality — business date {card.business_date}</h1>
<p id="verdict" class="{'ok' if card.trusted else 'bad'}">{e(verdict)}</p>
<p>Great Expectations Data Docs of the night: <a href="data_docs/index.html">data_docs/index.html</a></p>
<h2>Sources missing or in trouble</h2>{issues}
<h2>Expectations met, per source and dimension</h2>{scores}
<h2>Failed expectations</h2>{failed}
<h2>Quarantine by reason</h2>{quarantine}
<h2>Data-quality findings</h2>{findings}
</body></html>
"""


def write_xlsx(card: Scorecard, path: Path) -> None:
    """The scorecard as a workbook: sources, scores, failed expectations, quarantine, trend (with a chart)."""
    book = xlsxwriter.Workbook(str(path))
    bold = book.add_format({"bold": True})

    def sheet(name: str, headers: list[str], rows: list[list[object]]) -> xlsxwriter.worksheet.Worksheet:
        ws = book.add_worksheet(name)
        ws.write_row(0, 0, headers, bold)
        for i, row in enumerate(rows, start=1):
            ws.write_row(i, 0, row)
        ws.freeze_panes(1, 0)
        return ws

    sheet("Summary", ["business date", "trusted", "source issues", "blocking", "failed expectations"],
          [[card.business_date.isoformat(), "yes" if card.trusted else "no", len(card.issues),
            sum(i[2] for i in card.issues), len(card.failed)]])
    sheet("Sources", ["check_id", "source", "blocking", "detail"], [[c, s, "yes" if b else "no", d] for c, s, b, d in card.issues])
    sheet("Scores", ["source", "dimension", "met", "total"],
          [[s, d, m, t] for s, by_dim in sorted(card.scores.items()) for d, (m, t) in sorted(by_dim.items())])
    sheet("Failed", ["source", "dimension", "expectation", "observed", "unexpected", "share", "sample"],
          [list(r) for r in card.failed])
    sheet("Quarantine", ["reason_code", "records", "examples"],
          [[r, n, "; ".join(f"{p}:{pos} {raw[:200]}" for p, pos, raw in ex)] for r, n, ex in card.quarantine])
    nights = sorted({d for points in card.trend.values() for d, _ in points})
    sources = sorted(card.trend)
    shares = {s: dict(card.trend[s]) for s in sources}
    trend = sheet("Trend", ["night", *sources],
                  [[d.isoformat(), *(shares[s].get(d, "") for s in sources)] for d in nights])
    if nights and sources:
        chart = book.add_chart({"type": "line"})
        for col, _source in enumerate(sources, start=1):
            chart.add_series({"name": ["Trend", 0, col], "categories": ["Trend", 1, 0, len(nights), 0],
                              "values": ["Trend", 1, col, len(nights), col]})
        chart.set_title({"name": f"Share of expectations met, last {TREND_NIGHTS} nights"})
        trend.insert_chart(1, len(sources) + 2, chart)
    sheet("Findings", ["check_id", "severity", "detail"], [list(r) for r in card.findings])
    book.close()


def latest_night(con: duckdb.DuckDBPyConnection) -> dt.date:
    """The latest night with data-quality results."""
    row = con.execute("SELECT max(business_date) FROM dq_results").fetchone() if _has_table(con, "dq_results") else None
    if row is None or row[0] is None:
        raise NoQualityResults("the warehouse holds no data-quality results: run a night first (scf run --date …)")
    return row[0]


def print_scorecard(console: Console, con: duckdb.DuckDBPyConnection, day: dt.date | None, reports: Path) -> Scorecard:
    """Print the scorecard of ``day`` (default: the latest night validated) and where its files are."""
    card = load_scorecard(con, day or latest_night(con))
    night = reports / card.business_date.isoformat()
    console.print(f"[bold]Data quality, business date {card.business_date}[/bold]: "
                  + ("[green]trusted[/green]" if card.trusted else "[red]NOT trusted[/red]"))
    if card.issues:
        issues = Table(title="Sources missing or in trouble")
        for column in ("check", "source", "blocking", "detail"):
            issues.add_column(column)
        for check_id, source, blocking, detail in card.issues:
            issues.add_row(check_id, source, "yes" if blocking else "no", detail)
        console.print(issues)
    dims = [d for d in DIMENSIONS if any(d in s for s in card.scores.values())]
    scores = Table(title="Expectations met tonight (met/total)")
    scores.add_column("source")
    for d in dims:
        scores.add_column(d)
    for source, by_dim in sorted(card.scores.items()):
        scores.add_row(source, *(f"{by_dim[d][0]}/{by_dim[d][1]}" if d in by_dim else "—" for d in dims))
    console.print(scores)
    for source, dimension, expectation, _, count, share, _ in card.failed:
        console.print(f"[red]failed[/red] {source} {dimension}: {expectation}"
                      + (f" — {count} unexpected ({share:.2%})" if count is not None and share is not None else ""))
    quarantined = sum(n for _, n, _ in card.quarantine)
    console.print(f"Quarantine: {quarantined} record(s)" + (
        " — " + ", ".join(f"{r} {n}" for r, n, _ in card.quarantine) if card.quarantine else ""))
    console.print(f"Scorecard: {night / 'data_quality.html'} and {night / 'data_quality.xlsx'}")
    console.print(f"Data Docs: {night / 'data_docs' / 'index.html'}")
    return card
