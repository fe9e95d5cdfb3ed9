"""The nightly exception report: a self-contained sortable HTML page and an XLSX workbook."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import zipfile
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest

from connectors.warehouse import Warehouse
from reconciliation.exception_report import write_exception_reports
from tests.factories import financing, invoice
from tests.trade_factories import make_uscc, run_trade_catalogue, tier1_trade

D1 = dt.date(2026, 11, 20)
CORE = make_uscc("440305")
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


@pytest.fixture
def night(tmp_path):
    """A night with findings of several severities at two banks, one of them with HTML in its data."""
    with Warehouse(tmp_path / "w.duckdb") as wh:
        tier1_trade(wh, D1, core=CORE, seller=make_uscc(), waybills=[(100, "4")], bank="313521000011")
        tier1_trade(wh, D1, core=CORE, seller=make_uscc(), with_payable=False, bank="105100000017")
        tier1_trade(wh, D1, core=CORE, seller=make_uscc())  # clean
        invoice(wh, D1, "26320000000000000001", 10_000_00)
        financing(wh, D1, "F<b>1</b>", "INVOICE", invoices={"26320000000000000001": 20_000_00})
        run_trade_catalogue(wh, D1)
        yield wh, tmp_path / "home"


class _Tables(HTMLParser):
    """Collects the section titles and the header cells of every sortable table."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.summaries: list[str] = []
        self.scripts = 0
        self.external = 0
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("h2", "summary"):
            self._in = tag
        if tag == "script":
            self.scripts += 1
            self.external += "src" in attrs
        if tag == "link" and attrs.get("rel") == "stylesheet":
            self.external += 1

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "h2":
            self.sections.append(data)
        elif self._in == "summary":
            self.summaries.append(data)


def test_html_is_self_contained_sortable_and_grouped_by_severity_then_bank(night):
    wh, home = night
    page, book = write_exception_reports(wh.con, home, D1)
    assert page == home / "reports" / "2026-11-20" / "exceptions.html" and book.name == "exceptions.xlsx"
    text = page.read_text("utf-8")
    parsed = _Tables()
    parsed.feed(text)
    assert parsed.scripts == 1 and parsed.external == 0
    assert "function sortTable" in text and 'class="sortable"' in text
    severities = [s.split(" ")[0] for s in parsed.sections if s.split(" ")[0] in ("Critical", "High", "Medium", "Low")]
    assert severities == ["Critical", "High"]
    banks = [s for s in parsed.summaries if s.startswith("Bank")]
    assert banks == ["Bank 313521000011 — 1 finding(s), 1 financing(s)",  # critical: the rejected waybill
                     "Bank 105100000017 — 1 finding(s), 1 financing(s)",  # high: no payable …
                     "Bank 313521000011 — 2 finding(s), 1 financing(s)"]  # … over-financed, no waybill
    assert "F&lt;b&gt;1&lt;/b&gt;" in text and "F<b>1</b>" not in text
    assert "TRADE_WAYBILL_REJECTED" in text and "Financings held — 3" in text


def test_xlsx_has_findings_and_verdicts_with_autofilter(night):
    wh, home = night
    _page, book = write_exception_reports(wh.con, home, D1)
    with zipfile.ZipFile(book) as z:
        workbook = ElementTree.fromstring(z.read("xl/workbook.xml"))
        names = [s.get("name") for s in workbook.find("m:sheets", NS)]
        assert names == ["Findings", "Verdicts"]
        strings: list[str | None] = []
        for n, expected_rows in ((1, 1 + 4), (2, 1 + 4)):
            sheet = ElementTree.fromstring(z.read(f"xl/worksheets/sheet{n}.xml"))  # inline strings
            assert sheet.find("m:autoFilter", NS) is not None
            assert len(sheet.find("m:sheetData", NS)) == expected_rows
            strings += [t.text for t in sheet.iter(f"{{{NS['m']}}}t")]
    assert "TRADE_NO_PAYABLE" in strings and "blocked" in strings and "F<b>1</b>" in strings


def test_reports_are_identical_when_rewritten(night):
    wh, home = night
    paths = write_exception_reports(wh.con, home, D1)
    first = [p.read_bytes() for p in paths]
    run_trade_catalogue(wh, D1)
    assert [p.read_bytes() for p in write_exception_reports(wh.con, home, D1)] == first
    assert not list(paths[0].parent.glob("*.part"))


def test_a_night_without_findings_still_gets_its_reports(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        tier1_trade(wh, D1, core=CORE, seller=make_uscc())
        run_trade_catalogue(wh, D1)
        page, book = write_exception_reports(wh.con, tmp_path, D1)
        assert "No findings tonight." in page.read_text("utf-8")
        assert re.search(r"Financings held — 0", page.read_text("utf-8"))
        assert zipfile.is_zipfile(book)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to parse the inline script")
def test_inline_script_is_valid_javascript(night, tmp_path):
    wh, home = night
    page, _book = write_exception_reports(wh.con, home, D1)
    script = re.search(r"<script>(.*?)</script>", page.read_text("utf-8"), re.S).group(1)
    (tmp_path / "report.js").write_text(script, "utf-8")
    subprocess.run(["node", "--check", str(tmp_path / "report.js")], check=True)
