"""The nightly exception report: the worklist page (self-contained, Chinese first, names beside
codes, links and source records) and the workbook a clerk expects (typed cells, summary,
print set-up), read back with openpyxl."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import zipfile
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook

from tests.factories import financing, insert, invoice
from tests.trade_factories import make_uscc, run_trade_catalogue, tier1_trade
from warehouse.asof import verdicts_as_of_sql
from warehouse.connection import Warehouse
from worklist import rows
from worklist.exception_report import EXCEPTION_REPORT_FILES, write_exception_reports
from worklist.workbook import ACTION_HEADER, FINDING_COLUMNS, ID_HEADER, MONEY

D1, D2 = dt.date(2026, 11, 20), dt.date(2026, 11, 21)
CORE = make_uscc("440305")
APPLICANT = "91320500MA1X000024"  # tests.factories.financing's applicant


@pytest.fixture
def night(tmp_path):
    """A night with findings of several severities at two banks, one of them with HTML in its data,
    a party master naming the applicant, and the file the test rows came from."""
    with Warehouse(tmp_path / "w.duckdb") as wh:
        tier1_trade(wh, D1, core=CORE, seller=make_uscc(), waybills=[(100, "4")], bank="313521000011")
        tier1_trade(wh, D1, core=CORE, seller=make_uscc(), with_payable=False, bank="105100000017")
        tier1_trade(wh, D1, core=CORE, seller=make_uscc())  # clean
        invoice(wh, D1, "26320000000000000001", 10_000_00)
        financing(wh, D1, "F<b>1</b>", "INVOICE", invoices={"26320000000000000001": 20_000_00})
        insert(wh, "parties", D1, uscc=APPLICANT, name="苏州精工机械有限公司", valid_from=D1)
        wh.con.execute("INSERT INTO files (business_date, rel_path, sha256) VALUES (?, 'platform/financings.csv', ?)",
                       [D1, f"test-{D1}"])
        run_trade_catalogue(wh, D1)
        yield wh, tmp_path / "home"


class _Page(HTMLParser):
    """Counts scripts and external resources; collects the findings rows' data attributes and the anchors."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts = self.external = 0
        self.rows: list[dict[str, str]] = []
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.scripts += tag == "script"
        self.external += (tag == "script" and "src" in attrs) or (tag == "link" and attrs.get("rel") == "stylesheet")
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "tr" and "data-severity" in attrs:
            self.rows.append(attrs)
        if tag == "a" and attrs.get("href", "").startswith("#fin-"):
            self.links.append(attrs["href"][1:])


def test_page_is_self_contained_chinese_first_with_names_links_and_sources(night):
    wh, home = night
    done: list = []
    page, book = write_exception_reports(wh.con, home, D1, done.append)
    assert done == [page, book] and len(done) == EXCEPTION_REPORT_FILES
    assert page == home / "reports" / "2026-11-20" / "exceptions.html" and book.name == "exceptions.xlsx"
    text = page.read_text("utf-8")
    parsed = _Page()
    parsed.feed(text)
    assert parsed.scripts == 1 and parsed.external == 0
    found = wh.con.execute("SELECT finding_id, severity, financing_id FROM findings WHERE business_date = ?",
                           [D1]).fetchall()
    assert sorted((r["id"], r["data-severity"], r["data-financing"]) for r in parsed.rows) == sorted(found)
    assert [r["data-severity"] for r in parsed.rows] == sorted((r["data-severity"] for r in parsed.rows),
                                                               key=["critical", "high", "medium", "low"].index)
    assert set(parsed.links) == {f"fin-{f}" for _, _, f in found} and set(parsed.links) <= parsed.ids
    assert "<h1>异常工作清单 Exception worklist — 2026-11-20</h1>" in text
    assert "今晚待办 What needs action tonight" in text and f"<b>{len(found)}</b>" in text  # all new tonight
    assert "F&lt;b&gt;1&lt;/b&gt;" in text and "F<b>1</b>" not in text
    assert "苏州精工机械有限公司" in text and "城市商业银行" in text and "中国建设银行" in text  # names beside codes
    assert re.search(r"¥\d{1,3}(,\d{3})+\.\d\d", text)  # thousands separators
    position = wh.con.execute("SELECT src_pos FROM financings WHERE financing_id = 'F<b>1</b>'").fetchone()[0]
    assert f"platform/financings.csv #{position}" in text  # the source file and record …
    assert f'href="../../archive/objects/te/test-{D1}"' in text  # … and the archived object


def test_workbook_is_typed_summarised_fitted_and_set_up_for_print(night):
    wh, home = night
    _page, path = write_exception_reports(wh.con, home, D1)
    book = load_workbook(path)
    assert book.sheetnames == ["Summary", "Findings", "Verdicts"]
    sheet = book["Findings"]
    header = [c.value for c in sheet[1]]
    assert header == [c.header for c in FINDING_COLUMNS] and header[0] == ACTION_HEADER
    found = wh.con.execute("SELECT count(*) FROM findings WHERE business_date = ?", [D1]).fetchone()[0]
    assert sheet.max_row == 1 + found
    row = {h: c for h, c in zip(header, sheet[2], strict=True)}
    amount = row["融资金额 Amount"]
    assert isinstance(amount.value, (int, float)) and amount.number_format == MONEY  # a number, not text
    assert isinstance(row["首次发现 First seen"].value, dt.datetime) and row["首次发现 First seen"].number_format == "yyyy-mm-dd"
    assert row["账龄(晚) Age (nights)"].value == 1
    assert row["状态 Status"].value == "新增 new"
    financed = wh.con.execute("SELECT financed_amount_fen FROM financing_verdicts WHERE financing_id = ?",
                              [row["融资编号 Financing"].value]).fetchone()[0]
    assert round(amount.value * 100) == financed
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
    lists = {str(v.sqref).split(":")[0]: v.formula1 for v in sheet.data_validations.dataValidation}
    assert "受理 acknowledge" in lists["A2"] and "DOCUMENT_VERIFIED" in lists["C2"]  # the action and reason pick-lists
    letter = {h: c.column_letter for h, c in zip(header, sheet[1], strict=True)}
    assert sheet.column_dimensions[letter[ID_HEADER]].width >= len("FND-") + 20  # ids not clipped
    assert sheet.column_dimensions[letter["说明 Detail"]].width < 75  # long text wraps instead
    for name in book.sheetnames:
        ws = book[name]
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
        assert ws.sheet_properties.pageSetUpPr.fitToPage  # fit to one page wide (fitToWidth: default 1) …
        assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0  # … as many pages tall
        assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text
    assert book["Findings"].print_title_rows == "$1:$1"  # the header row repeated on every page
    verdicts = book["Verdicts"]
    assert [c.value for c in verdicts[1]][:2] == ["融资编号 Financing", "结论 Verdict"]
    worked = wh.con.execute(f"SELECT verdict FROM ({verdicts_as_of_sql()}) v WHERE (verdict IN "
                            "('blocked', 'review') OR financing_id IN (SELECT financing_id FROM findings))", [D1]).fetchall()
    labels = {"blocked": "拦截 blocked", "review": "复核 review", "clean": "通过 clean"}
    assert sorted(verdicts.cell(r, 2).value for r in range(2, verdicts.max_row + 1)) == sorted(labels[v] for v, in worked)
    assert len(worked) < wh.con.execute("SELECT count(*) FROM financing_verdicts").fetchone()[0]  # the clean trade is not


def test_summary_compares_tonight_with_last_night(night):
    wh, home = night
    tier1_trade(wh, D2, core=CORE, seller=make_uscc(), with_payable=False, bank="105100000017")  # one more high
    run_trade_catalogue(wh, D2)
    _page, path = write_exception_reports(wh.con, home, D2)
    rows = list(load_workbook(path)["Summary"].iter_rows(values_only=True))
    assert rows[1][:2] == ("上一晚 Last night", "2026-11-20")
    counts = dict(wh.con.execute("SELECT business_date, count(*) FILTER (WHERE severity = 'high') FROM findings "
                                 "GROUP BY ALL").fetchall())
    high = next(r for r in rows if r[0] == "高 high")
    assert high[1] == counts[D2] and high[4] == counts[D1] and high[6] == counts[D2] - counts[D1]
    bank = next(r for r in rows if r[0] and str(r[0]).endswith("105100000017"))
    assert bank[0] == "中国建设银行 105100000017" and bank[1] > bank[4]


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
        assert "今晚无问题 No findings tonight." in page.read_text("utf-8")
        assert zipfile.is_zipfile(book) and load_workbook(book)["Findings"].max_row == 1


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to parse the inline script")
def test_inline_script_is_valid_javascript(night, tmp_path):
    wh, home = night
    page, _book = write_exception_reports(wh.con, home, D1)
    script = re.search(r"<script>(.*?)</script>", page.read_text("utf-8"), re.S).group(1)
    (tmp_path / "report.js").write_text(script, "utf-8")
    subprocess.run(["node", "--check", str(tmp_path / "report.js")], check=True)


def _verdict(wh, day, financing_id, verdict, since=None, *, amount_fen=100, dropped=False):
    wh.con.execute("INSERT INTO financing_verdicts BY NAME SELECT ? AS business_date, ? AS financing_id, ? AS verdict, "
                   "'' AS check_ids, ? AS financed_amount_fen, ? AS verdict_since, ? AS dropped",
                   [day, financing_id, verdict, amount_fen, since or day, dropped])
    wh.con.execute("INSERT INTO verdict_nights SELECT $1 WHERE $1 NOT IN (FROM verdict_nights)", [day])  # as the store does


def _finding(wh, day, financing_id, severity):
    wh.con.execute("INSERT INTO findings BY NAME SELECT ? AS business_date, ? AS finding_id, 'CHECK_X' AS check_id, "
                   "'fake_trade' AS category, ? AS severity, ? AS financing_id, 'x' AS detail, ? AS first_seen_date",
                   [day, f"FND-{financing_id}", severity, financing_id, day])


def test_reports_list_the_financings_held_named_or_changed_and_count_the_rest(tmp_path):
    """docs/WORKLIST.md "What the reports list": held, named by a finding tonight, or a verdict
    other than last night's; a clean or closed financing as it was (new ones included) is only counted."""
    with Warehouse(tmp_path / "w.duckdb") as wh:
        _verdict(wh, D1 - dt.timedelta(days=1), "A", "blocked")  # changed two nights ago: not tonight's change
        for f in "ABCDE":
            _verdict(wh, D1, f, "blocked" if f == "C" else "clean")
        for f, verdict in {"A": "clean", "B": "closed", "C": "blocked", "D": "clean", "E": "review", "F": "clean",
                           "G": "closed"}.items():
            _verdict(wh, D2, f, verdict, D1 if f in "ACD" else D2)
        _finding(wh, D2, "C", "high")
        _finding(wh, D2, "D", "low")
        page, book = write_exception_reports(wh.con, tmp_path / "home", D2)
    sheet = load_workbook(book)["Verdicts"]
    assert [sheet.cell(r, 1).value for r in range(2, sheet.max_row + 1)] == ["C", "E", "D", "B"]  # blocked first
    summary = list(load_workbook(book)["Summary"].iter_rows(values_only=True))
    at = summary.index(("结论 Verdict", "融资笔数 Financings", "列于 Verdicts 表 Listed on Verdicts", None, None, None, None))
    assert [r[:3] for r in summary[at + 1:at + 5]] == [("拦截 blocked", 1, 1), ("复核 review", 1, 1), ("通过 clean", 3, 1),
                                                       ("已结清 closed", 2, 1)]
    assert "financing_status.csv" in summary[at + 5][0] and "DATE '2026-11-21'" in summary[at + 5][0]
    text = page.read_text("utf-8")
    parsed = _Page()
    parsed.feed(text)
    assert {i for i in parsed.ids if i.startswith("fin-")} == {"fin-B", "fin-C", "fin-D", "fin-E"}
    assert "其余 3 笔融资" in text and "The other 3 financings" in text


@pytest.mark.parametrize("list_max", [rows._LIST_MAX, 0], ids=["keys listed", "book read"])
def test_verdicts_stored_as_changes_are_listed_as_they_stand_tonight(tmp_path, monkeypatch, list_max):
    """A verdict row is written only the night it changes (reconciliation.changes): a financing held since an
    earlier night is listed, one named by a finding shows its latest row's facts, one held last night and clean
    tonight is listed as changed, one no longer named is neither listed nor counted, one as it was only counted;
    the same whether the financings read are passed as a list or too many to list (the whole book read)."""
    monkeypatch.setattr(rows, "_LIST_MAX", list_max)
    d0 = D1 - dt.timedelta(days=1)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        _verdict(wh, d0, "H", "blocked")  # held since d0
        _verdict(wh, d0, "K", "clean", amount_fen=1_00)
        _verdict(wh, D1, "K", "clean", amount_fen=12_345_67)  # its latest row: named by a finding tonight
        _verdict(wh, d0, "X", "review")
        _verdict(wh, D1, "X", "review", dropped=True)  # no longer named
        _verdict(wh, d0, "Y", "review")
        _verdict(wh, D2, "Y", "clean")  # changed tonight
        _verdict(wh, d0, "Z", "clean")  # as it was
        _finding(wh, D2, "K", "low")
        page, book = write_exception_reports(wh.con, tmp_path / "home", D2)
    workbook = load_workbook(book)
    verdicts = workbook["Verdicts"]
    assert [verdicts.cell(r, 1).value for r in range(2, verdicts.max_row + 1)] == ["H", "K", "Y"]
    findings = workbook["Findings"]
    row = {c.value: v.value for c, v in zip(findings[1], findings[2], strict=True)}
    assert row["融资编号 Financing"] == "K" and row["融资金额 Amount"] == 12_345.67
    summary = list(workbook["Summary"].iter_rows(values_only=True))
    at = summary.index(("结论 Verdict", "融资笔数 Financings", "列于 Verdicts 表 Listed on Verdicts", None, None, None, None))
    assert [r[:3] for r in summary[at + 1:at + 5]] == [("拦截 blocked", 1, 1), ("复核 review", 0, 0), ("通过 clean", 3, 2),
                                                       ("已结清 closed", 0, 0)]
    assert {i for i in _ids(page) if i.startswith("fin-")} == {"fin-H", "fin-K", "fin-Y"}


def _ids(page):
    parsed = _Page()
    parsed.feed(page.read_text("utf-8"))
    return parsed.ids
