"""The simulator's data-quality faults (simulator/dq_faults.py) through real nights: each is
found by the expectation or registry check it was planted for, and the clean nights around
them pass every suite with no source issue.

Six simulated nights: 0–2 clean (the history the registry learns from), 3 with five faults
that warn (a source missing, a late file, a volume collapse, an invalid identifier, a
duplicated natural key), 4 clean, 5 with a renamed column (schema drift: the night is held).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from integration.cli import app
from integration.home import init_home
from integration.runner import failure_messages, run_night
from quality.registry import source_of
from simulator import simulate
from simulator.dq_faults import DQ_FAULT_KINDS, DqFault, parse_dq_fault, plant_dq_faults
from warehouse.connection import Warehouse

START = dt.date(2026, 11, 18)
NIGHTS = [START + dt.timedelta(days=i) for i in range(6)]
FAULTY, CLEAN_AFTER, DRIFT = NIGHTS[3], NIGHTS[4], NIGHTS[5]
WARNINGS = [k for k in DQ_FAULT_KINDS if k != "renamed_column"]


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory):
    """(home, planted faults, run outcome per night) after running the six nights in order."""
    root = tmp_path_factory.mktemp("dqfaults")
    simulate(root / "sim", seed=5, nights=len(NIGHTS), start=START, trades_per_night=60, anomalies=False)
    planted = plant_dq_faults(root / "sim", *(DqFault(k, 3) for k in WARNINGS), DqFault("renamed_column", 5))
    home = root / "home"
    init_home(home)
    # a small simulation's sources vary by half from night to night: judge from 10 rows, below a quarter
    (home / "scf.toml").write_text("[checks]\ndq_volume_min_median = 10\ndq_volume_min_percent = 25\n", "utf-8")
    outcomes = {day: run_night(day, home=home, inbox=root / "sim" / "inbox") for day in NIGHTS}
    return home, planted, outcomes, root / "sim"


def rows(home: Path, sql: str, *params: object) -> list[tuple]:
    with Warehouse(home / "warehouse.duckdb") as wh:
        return wh.con.execute(sql, list(params)).fetchall()


@pytest.mark.slow
def test_the_clean_nights_around_the_faults_pass_every_suite(played):
    home, _, outcomes, _ = played
    for day in (*NIGHTS[:3], CLEAN_AFTER):
        assert outcomes[day].success, failure_messages(outcomes[day])
        assert rows(home, "SELECT check_id, source FROM dq_source_issues WHERE business_date = ?", day) == []
        failed = rows(home, "SELECT suite, expectation FROM dq_results WHERE business_date = ? AND NOT success", day)
        assert failed == [], day
        assert rows(home, "SELECT count(*) FROM dq_results WHERE business_date = ?", day)[0][0] > 50


@pytest.mark.slow
def test_each_warning_fault_is_found_by_its_check_and_nothing_else(played):
    home, planted, outcomes, sim = played
    assert outcomes[FAULTY].success, failure_messages(outcomes[FAULTY])
    faults = [p for p in planted if p.night == FAULTY.isoformat()]
    assert sorted(p.kind for p in faults) == sorted(WARNINGS)
    issues = set(rows(home, "SELECT check_id, source FROM dq_source_issues WHERE business_date = ?", FAULTY))
    failed = {f"{s}: {x}" for s, x in rows(
        home, "SELECT suite, expectation FROM dq_results WHERE business_date = ? AND NOT success", FAULTY)}
    by_registry = {(p.found_by, source_of(p.file)) for p in faults if p.found_by.startswith("DQ_")}
    assert issues == by_registry, "every registry fault is found, on its source, and no other issue is raised"
    by_gx = {p.found_by for p in faults if not p.found_by.startswith("DQ_")}
    assert by_gx <= failed
    timeliness = "timeliness: expect_files_to_arrive_by_cutoff(2026-11-22T03:30+08:00)"
    assert timeliness in failed, "the late file also fails its source's timeliness result"
    assert rows(home, "SELECT source FROM dq_results WHERE business_date = ? AND suite = 'timeliness' AND NOT success",
                FAULTY) == [("bills/*.xml",)]
    consequences = {
        timeliness,
        "erp_ap_items: expect_table_row_count_to_be_between(table)",  # the payables' volume as a whole may fall
        "financing_invoices: expect_compound_columns_to_be_unique(['financing_id', 'invoice_no'])",  # the twin's invoices
    }
    assert failed - by_gx <= consequences, "nothing fails but what was planted"
    found = dict(rows(home, "SELECT check_id, severity FROM findings WHERE business_date = ? "
                            "AND category = 'data_quality' AND check_id LIKE 'DQ_SOURCE%'", FAULTY))
    assert found == {"DQ_SOURCE_LATE": "medium", "DQ_SOURCE_MISSING": "medium"}
    late = json.loads(rows(home, "SELECT evidence FROM dq_source_issues WHERE check_id = 'DQ_SOURCE_LATE'")[0][0])
    assert late["deadline"] == "2026-11-22T03:30+08:00" and late["files"][0]["file"] == "bills/bills_0001.xml"
    assert late["files"][0]["arrived_at"] == "2026-11-22T04:00:00+00:00" and late["late_minutes"] == 8 * 60 + 30
    assert json.loads((sim / "dq_faults.json").read_text("utf-8"))[0]["kind"] == WARNINGS[0]


@pytest.mark.slow
def test_a_renamed_column_holds_the_night(played):
    home, planted, outcomes, _ = played
    assert [p.kind for p in planted if p.night == DRIFT.isoformat()] == ["renamed_column"]
    assert not outcomes[DRIFT].success
    assert any("held by data quality" in m and "bank_code" in m for m in failure_messages(outcomes[DRIFT]))
    assert rows(home, "SELECT check_id, source, blocking FROM dq_source_issues WHERE business_date = ?", DRIFT) == [
        ("DQ_SCHEMA_DRIFT", "platform/financings.csv", True)]
    assert not (home / "reports" / DRIFT.isoformat() / "findings.csv").exists()


def test_fault_names_are_checked():
    assert parse_dq_fault("late_file:3") == DqFault("late_file", 3)
    with pytest.raises(ValueError, match="unknown data-quality fault"):
        parse_dq_fault("late:3")
    with pytest.raises(ValueError, match="night index"):
        parse_dq_fault("late_file:x")


def test_a_fault_the_registry_cannot_judge_yet_is_refused(tmp_path: Path):
    simulate(tmp_path, seed=1, nights=2, trades_per_night=5, anomalies=False)
    with pytest.raises(ValueError, match="from night 3 on"):
        plant_dq_faults(tmp_path, DqFault("missing_source", 1))
    with pytest.raises(ValueError, match="nights 0 to 1"):
        plant_dq_faults(tmp_path, DqFault("late_file", 2))


def test_scf_simulate_plants_data_quality_faults(tmp_path: Path):
    out = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path), "--nights", "2", "--trades", "5",
                                   "--no-anomalies", "--dq-fault", "duplicated_key:1", "--dq-fault", "late_file:0"])
    assert out.exit_code == 0, out.output
    assert [f["kind"] for f in json.loads((tmp_path / "dq_faults.json").read_text("utf-8"))] == ["duplicated_key", "late_file"]
    refused = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path), "--nights", "1", "--dq-fault", "missing_source:0"])
    assert refused.exit_code != 0 and "from night 3 on" in refused.output
