"""The Data Docs site and the scorecard open in a real headless browser (Debian's Chromium,
installed by ``make test``) and show what the warehouse holds."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from integration.home import init_home
from integration.runner import failure_messages, run_night
from tests.conftest import SAMPLE_NIGHT
from warehouse.connection import Warehouse

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def rendered(page: Path, profile: Path) -> str:
    """The DOM of a local page after Chromium has loaded it (scripts run)."""
    if CHROMIUM is None:
        message = "chromium is not installed (Debian: apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the browser tests", pytrace=False)
        pytest.skip(message)
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    )
    return done.stdout


@pytest.mark.slow
def test_data_docs_and_scorecard_render_the_warehouse(tmp_path, sample_inbox):
    home = tmp_path / "home"
    financings = sample_inbox / SAMPLE_NIGHT / "platform" / "financings.csv"
    lines = financings.read_text("utf-8").splitlines()
    financings.write_text("\n".join([*lines, lines[1]]) + "\n", "utf-8")  # a duplicated natural key
    init_home(home)
    result = run_night(dt.date.fromisoformat(SAMPLE_NIGHT), home=home, inbox=sample_inbox)
    assert result.success, failure_messages(result)
    with Warehouse(home / "warehouse.duckdb") as wh:
        scores = wh.con.execute(
            "SELECT source, count(*) FILTER (WHERE success), count(*) FROM dq_results "
            "WHERE business_date = ? AND dimension = 'uniqueness' GROUP BY ALL", [SAMPLE_NIGHT]).fetchall()
        # the sample inbox's files arrive as the test copies them, after the night's cut-off: not judged here
        failed = wh.con.execute("SELECT suite, expectation FROM dq_results WHERE NOT success AND suite <> 'timeliness'").fetchall()
    assert set(failed) == {("financings", "expect_column_values_to_be_unique(financing_id)"),
                           ("financing_invoices", "expect_compound_columns_to_be_unique(['financing_id', 'invoice_no'])")}
    reports = home / "reports" / SAMPLE_NIGHT

    card = rendered(reports / "data_quality.html", tmp_path / "chromium")
    assert '<p id="verdict" class="bad">' in card
    rows = re.findall(r"<tr><td>([a-z_]+)</td>(.*?)</tr>", card.split('class="scores"')[1].split("</table>")[0])
    shown = {source: cells for source, cells in rows}
    assert set(shown) == {s for s, _, _ in scores}
    for source, met, total in scores:
        assert f"{met}/{total}" in shown[source]
    assert "expect_column_values_to_be_unique(financing_id)" in card and "platform/financings.csv:" in card

    docs = rendered(reports / "data_docs" / "index.html", tmp_path / "chromium")
    assert "financings" in docs and "consistency.financing_invoices" in docs
    assert "Failed" in docs or "failed" in docs
