"""Data quality as a real part of the night: the source registry, the GX suites, the asset
blocking issues that hold the reports, the reports compliance reads.

Three clean simulated nights make the history; each scenario copies that home and runs a
fourth night whose delivery carries planted data-quality faults (or none).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from integration.cli import app
from integration.home import init_home
from integration.runner import failure_messages, run_night
from simulator import simulate
from warehouse.connection import Warehouse

START = dt.date(2026, 11, 18)
NIGHTS = [START + dt.timedelta(days=i) for i in range(4)]
LAST = NIGHTS[-1]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(home after three clean nights, the simulated inbox of four clean nights)."""
    root = tmp_path_factory.mktemp("dq")
    simulate(root / "sim", seed=11, nights=len(NIGHTS), start=START, trades_per_night=60, anomalies=False)
    home = root / "home"
    init_home(home)
    for day in NIGHTS[:-1]:
        result = run_night(day, home=home, inbox=root / "sim" / "inbox")
        assert result.success, failure_messages(result)
    return home, root / "sim" / "inbox"


@pytest.fixture
def scenario(history: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the history's home and inbox, for one fourth night."""
    home, inbox = history
    shutil.copytree(home, tmp_path / "home")
    shutil.copytree(inbox, tmp_path / "inbox")
    return tmp_path / "home", tmp_path / "inbox"


def run_last(home: Path, inbox: Path):
    """Run the last night: (the run, its blocking source issues' check ids)."""
    result = run_night(LAST, home=home, inbox=inbox)
    blocking = {c for (c,) in rows(home, "SELECT check_id FROM dq_source_issues WHERE business_date = ? AND blocking", LAST)}
    return result, blocking


def rows(home: Path, sql: str, *params: object) -> list[tuple]:
    with Warehouse(home / "warehouse.duckdb") as wh:
        return wh.con.execute(sql, list(params)).fetchall()


def failed_expectations(home: Path) -> dict[tuple[str, str], tuple]:
    return {(s, x): (n, sample) for s, x, n, sample in rows(
        home, "SELECT suite, expectation, unexpected_count, sample FROM dq_results "
              "WHERE business_date = ? AND NOT success", LAST)}


def edit_csv(path: Path, edit) -> None:
    lines = path.read_text("utf-8").splitlines()
    path.write_text("\n".join(edit(lines)) + "\n", "utf-8")


@pytest.mark.slow
def test_clean_night_passes_every_suite_and_writes_the_reports(scenario):
    home, inbox = scenario
    result, blocking = run_last(home, inbox)
    assert result.success, failure_messages(result)
    assert not blocking
    assert rows(home, "SELECT count(*) FROM dq_source_issues") == [(0,)]
    results = rows(home, "SELECT DISTINCT business_date, dimension, success FROM dq_results")
    assert {d for d, _, _ in results} == set(NIGHTS)
    assert {dim for _, dim, _ in results} == {"completeness", "validity", "uniqueness", "consistency", "volume", "timeliness"}
    assert all(ok for _, _, ok in results), failed_expectations(home)
    reports = home / "reports" / LAST.isoformat()
    assert "Great Expectations" in (reports / "data_docs" / "index.html").read_text("utf-8")
    page = (reports / "data_quality.html").read_text("utf-8")
    assert '<p id="verdict" class="ok">' in page and "<td>financings</td>" in page
    book = openpyxl.load_workbook(reports / "data_quality.xlsx")
    assert {"Summary", "Sources", "Scores", "Failed", "Quarantine", "Trend", "Findings"} <= set(book.sheetnames)
    assert [c.value for c in book["Trend"][1]][0] == "night" and book["Trend"].max_row == 1 + len(NIGHTS)
    assert (reports / "financing_status.csv").exists()


@pytest.mark.slow
def test_schema_drift_blocks_the_nights_reports(scenario):
    home, inbox = scenario
    night = inbox / LAST.isoformat()
    edit_csv(night / "platform" / "financings.csv", lambda ls: [ls[0].replace("bank_code", "bank_id"), *ls[1:]])
    edit_csv(night / "tax" / "invoice_status.csv", lambda ls: [ls[0] + ",comment", *(line + "," for line in ls[1:])])
    result, blocking = run_last(home, inbox)
    assert not result.success
    assert blocking == {"DQ_SCHEMA_DRIFT"}, "a refused file is reported once, as drift"
    assert any("reports of 2026-11-21 are held by data quality" in m and "bank_code" in m for m in failure_messages(result))
    drift = dict(rows(home, "SELECT source, detail FROM dq_source_issues WHERE check_id = 'DQ_SCHEMA_DRIFT'"))
    assert set(drift) == {"platform/financings.csv", "tax/invoice_status.csv"}
    assert "missing column(s) bank_code" in drift["platform/financings.csv"]
    assert "new column(s) comment" in drift["tax/invoice_status.csv"]
    assert rows(home, "SELECT severity FROM findings WHERE business_date = ? AND check_id = 'DQ_SCHEMA_DRIFT'", LAST) == [("high",)]
    reports = home / "reports" / LAST.isoformat()
    assert not (reports / "findings.csv").exists(), "the night's reports are not published"
    assert (reports / "data_quality.html").exists(), "compliance still sees why"


@pytest.mark.slow
def test_missing_source_volume_collapse_bad_identifiers_and_duplicate_keys_warn(scenario):
    home, inbox = scenario
    (home / "scf.toml").write_text("[checks]\ndq_volume_min_median = 10\n", "utf-8")
    night = inbox / LAST.isoformat()
    (night / "tax" / "invoice_status.csv").unlink()
    edit_csv(night / "platform" / "voucher_events.csv", lambda ls: ls[:3])
    financings = night / "platform" / "financings.csv"
    header, first, *rest = financings.read_text("utf-8").splitlines()
    applicant = first.split(",")[3]
    broken = applicant[:-1] + ("0" if applicant[-1] != "0" else "1")  # a wrong check character
    edit_csv(financings, lambda ls: [header, first.replace(applicant, broken), *rest, rest[0]])
    result, blocking = run_last(home, inbox)
    assert result.success, failure_messages(result)
    assert not blocking
    issues = {(c, s) for c, s in rows(home, "SELECT check_id, source FROM dq_source_issues")}
    assert ("DQ_SOURCE_MISSING", "tax/invoice_status.csv") in issues
    assert ("DQ_VOLUME_DROP", "platform/voucher_events.csv") in issues
    found = dict(rows(home, "SELECT check_id, severity FROM findings WHERE business_date = ? AND category = 'data_quality'", LAST))
    assert found["DQ_SOURCE_MISSING"] == "medium" and found["DQ_VOLUME_DROP"] == "medium"
    failed = failed_expectations(home)
    count, sample = failed[("financings", "expect_column_values_to_be_valid_uscc(applicant_uscc)")]
    assert count == 1 and json.loads(sample) == [{"value": broken, "file": "platform/financings.csv", "pos": 2}]
    count, _ = failed[("financings", "expect_column_values_to_be_unique(financing_id)")]
    assert count == 2
    assert any(s == "voucher_events" and x.startswith("expect_table_row_count") for s, x in failed)
    assert (home / "reports" / LAST.isoformat() / "findings.csv").exists(), "warnings do not hold the reports"
    page = (home / "reports" / LAST.isoformat() / "data_quality.html").read_text("utf-8")
    assert '<p id="verdict" class="bad">' in page and broken in page and "tax/invoice_status.csv" in page


@pytest.mark.slow
def test_a_required_source_missing_blocks(scenario):
    home, inbox = scenario
    (home / "scf.toml").write_text('[checks]\ndq_required_sources = "platform/financings.csv"\n', "utf-8")
    (inbox / LAST.isoformat() / "platform" / "financings.csv").unlink()
    result, blocking = run_last(home, inbox)
    assert not result.success and blocking == {"DQ_SOURCE_MISSING"}
    assert rows(home, "SELECT severity FROM findings WHERE business_date = ? AND check_id = 'DQ_SOURCE_MISSING'", LAST) == [("high",)]


@pytest.mark.slow
def test_an_empty_inbox_night_fails_with_a_clear_error(scenario):
    home, inbox = scenario
    shutil.rmtree(inbox / LAST.isoformat())
    (inbox / LAST.isoformat()).mkdir()
    result, _ = run_last(home, inbox)
    assert not result.success
    assert any("no file was delivered for business date 2026-11-21" in m for m in failure_messages(result))


@pytest.mark.slow
def test_scf_quality_prints_the_scorecard(scenario):
    home, inbox = scenario
    edit_csv(inbox / LAST.isoformat() / "platform" / "financings.csv", lambda ls: [*ls, ls[1]])
    run_last(home, inbox)
    out = CliRunner().invoke(app, ["quality", "--home", str(home)], terminal_width=200)
    assert out.exit_code == 0, out.output
    assert f"business date {LAST}" in out.output and "NOT trusted" in out.output
    assert "expect_column_values_to_be_unique" in out.output and "data_quality.html" in out.output
    missing = CliRunner().invoke(app, ["quality", "--home", str(home), "--date", "2026-01-01"])
    assert missing.exit_code != 0
