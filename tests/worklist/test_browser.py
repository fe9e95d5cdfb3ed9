"""The exception worklist page in a real headless browser (Debian's Chromium driven by Selenium
through Debian's chromium-driver, both installed by ``make chromium``): per-column filters
whose counts follow each other, a financing's link to its findings, a finding's link to its
financing, no sideways scrolling at 1440 px, and a 1440×900 screenshot kept by the run."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest

from tests.factories import financing, invoice
from tests.trade_factories import make_uscc, run_trade_catalogue, tier1_trade
from warehouse.asof import verdicts_as_of_sql
from warehouse.connection import Warehouse
from worklist.exception_report import write_exception_reports

D1 = dt.date(2026, 11, 20)
CORE = make_uscc("440305")
CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Where the run keeps the screenshot (``$SCF_TEST_ARTIFACTS``, default ``test-artifacts/``).
ARTIFACTS = Path(os.environ.get("SCF_TEST_ARTIFACTS", "test-artifacts"))


@pytest.fixture
def browser(tmp_path):
    """A headless Chromium at 1440×900."""
    if CHROMEDRIVER is None or CHROMIUM is None:
        message = "chromium and chromium-driver are not installed (make chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the browser tests", pytrace=False)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1440,900", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_window_size(1440, 900)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(tmp_path):
    """A night's page: findings of several severities at two banks; and the findings as stored."""
    with Warehouse(tmp_path / "w.duckdb") as wh:
        tier1_trade(wh, D1, core=CORE, seller=make_uscc(), waybills=[(100, "4")], bank="313521000011")
        tier1_trade(wh, D1, core=CORE, seller=make_uscc(), with_payable=False, bank="105100000017")
        tier1_trade(wh, D1, core=CORE, seller=make_uscc(), with_payable=False, bank="105100000017",
                    waybills=[(40, "3")])
        tier1_trade(wh, D1, core=CORE, seller=make_uscc())  # clean
        invoice(wh, D1, "26320000000000000001", 10_000_00)
        financing(wh, D1, "FOVER", "INVOICE", invoices={"26320000000000000001": 20_000_00})
        run_trade_catalogue(wh, D1)
        html, _book = write_exception_reports(wh.con, tmp_path / "home", D1)
        found = wh.con.execute(f"SELECT f.severity, v.bank_code, f.financing_id FROM findings f JOIN ({verdicts_as_of_sql()}) v "
                               "USING (business_date, financing_id) WHERE f.business_date = $1", [D1]).fetchall()
    return html, found


def _visible(driver) -> list:
    from selenium.webdriver.common.by import By

    return [r for r in driver.find_elements(By.CSS_SELECTOR, "#findings tbody tr") if r.is_displayed()]


def _option_counts(driver, key: str) -> dict[str, int]:
    from selenium.webdriver.common.by import By

    counts = {}
    for option in driver.find_elements(By.CSS_SELECTOR, f"#f-{key} option"):
        counts[option.get_attribute("value")] = int(option.text.rsplit("(", 1)[1].rstrip(")"))
    return counts


def test_filters_follow_each_other_and_links_lead_between_financings_and_findings(browser, page):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    html, found = page
    banks, severities = Counter(b for _, b, _ in found), Counter(s for s, _, _ in found)
    assert len(banks) == 2 and len(severities) >= 2
    browser.get(html.as_uri())
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 1440  # no sideways scroll
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "exceptions-1440x900.png"))
    assert (ARTIFACTS / "exceptions-1440x900.png").stat().st_size > 10_000

    assert len(_visible(browser)) == len(found)
    assert _option_counts(browser, "bank") == {"": len(found), **banks}
    bank = "105100000017"
    Select(browser.find_element(By.ID, "f-bank")).select_by_value(bank)
    assert len(_visible(browser)) == banks[bank]
    at_bank = Counter(s for s, b, _ in found if b == bank)
    assert _option_counts(browser, "severity") == {"": banks[bank], **{s: at_bank[s] for s in severities}}
    severity = "high"
    Select(browser.find_element(By.ID, "f-severity")).select_by_value(severity)
    both = sum(1 for s, b, _ in found if (s, b) == (severity, bank))
    assert len(_visible(browser)) == both == int(browser.find_element(By.ID, "shown").text.split(" / ")[0])
    assert _option_counts(browser, "bank") == {"": severities[severity], **Counter(b for s, b, _ in found
                                                                                  if s == severity)}
    assert all(r.get_attribute("data-bank") == bank and r.get_attribute("data-severity") == severity
               for r in _visible(browser))

    for key in ("bank", "severity"):  # back to everything, then follow a financing to its findings
        Select(browser.find_element(By.ID, f"f-{key}")).select_by_value("")
    link = browser.find_element(By.CSS_SELECTOR, 'a.to-findings[data-financing="FOVER"]')
    link.click()
    shown = _visible(browser)
    assert {r.get_attribute("data-financing") for r in shown} == {"FOVER"}
    assert len(shown) == sum(1 for *_, f in found if f == "FOVER")
    assert browser.find_element(By.ID, "chip").is_displayed()

    shown[0].find_element(By.CSS_SELECTOR, 'a[href="#fin-FOVER"]').click()  # and back to the financing
    assert browser.execute_script("return location.hash") == "#fin-FOVER"
    assert "FOVER" in browser.find_element(By.CSS_SELECTOR, "tr:target").text
