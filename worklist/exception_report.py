"""The nightly exception report for the back office: ``exceptions.html`` and ``exceptions.xlsx``.

Both are the worklist of the night (:mod:`worklist`), what the back office works: every
finding of the night, and the financings held, named by a finding or whose verdict changed
(the others are counted, and listed in full in ``financing_status.csv``).  The page (:mod:`worklist.page`) shows
first what needs action tonight, then the findings with a filter per column, linked to
their financings, evidence and source records; the workbook (:mod:`worklist.workbook`) holds
a summary against the night before, the findings with columns a clerk fills in and loads
back (``scf finding load``), and the verdicts.  Both are written from the warehouse's
``findings``, ``finding_dispositions`` and ``financing_verdicts`` and are byte-identical when
a night is re-run on the same input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import duckdb

from reconciliation.reports import night_report_dir
from worklist.page import render_page
from worklist.rows import load_findings, load_verdicts, previous_night, verdict_counts
from worklist.workbook import write_workbook


def write_exception_reports(con: duckdb.DuckDBPyConnection, home: Path, business_date: dt.date,
                            written: Callable[[Path], object] = lambda path: None) -> list[Path]:
    """Write ``exceptions.html`` and ``exceptions.xlsx`` of a night; return their paths (``written``
    is called with each as it is done)."""
    folder = night_report_dir(home, business_date)
    before = previous_night(con, business_date)
    found = load_findings(con, business_date)
    verdicts = load_verdicts(con, business_date, before)
    counts = verdict_counts(con, business_date)
    previous = load_findings(con, before, detailed=False) if before else []  # counted on the Summary only
    page = folder / "exceptions.html"
    book = folder / "exceptions.xlsx"
    _replace(page, lambda tmp: tmp.write_text(render_page(business_date, found, verdicts, counts), encoding="utf-8"))
    written(page)
    _replace(book, lambda tmp: write_workbook(tmp, business_date, found, verdicts, counts, previous, before))
    written(book)
    return [page, book]


#: How many files :func:`write_exception_reports` writes.
EXCEPTION_REPORT_FILES = 2


def _replace(target: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file, then rename it over ``target``."""
    tmp = target.with_name(target.name + ".part")
    write(tmp)
    tmp.replace(target)
