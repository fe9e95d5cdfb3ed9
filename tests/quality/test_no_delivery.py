"""A night without any delivered file (an empty or absent inbox folder) is not a green run:
its data-quality step records the failure (blocking source issues, a failed ``dq_results``
row, the scorecard), the night's blocking asset check is red for that partition in Dagster,
nothing else runs, and ``scf run`` exits non-zero with one ``error:`` line."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from integration.cli import app
from integration.home import init_home
from integration.runner import failure_messages, run_night
from quality.registry import NO_DELIVERY_SOURCE
from warehouse.connection import Warehouse

NIGHT = dt.date(2026, 11, 18)


def rows(home: Path, sql: str) -> list[tuple]:
    with Warehouse(home / "warehouse.duckdb") as wh:
        return wh.con.execute(sql).fetchall()


@pytest.mark.parametrize("folder", ["empty", "absent"])
def test_a_night_without_files_is_red_in_dagster_and_in_dq_results(tmp_path, folder):
    home, inbox = tmp_path / "home", tmp_path / "inbox"
    init_home(home)
    inbox.mkdir()
    if folder == "empty":
        (inbox / NIGHT.isoformat()).mkdir()
    result = run_night(NIGHT, home=home, inbox=inbox)
    assert not result.success
    assert any(f"no file was delivered for business date {NIGHT}" in m for m in failure_messages(result))
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks["required_sources_present"].passed
    assert checks["required_sources_present"].severity.value == "ERROR"
    assert not checks["expectations_pass"].passed
    assert checks["schema_unchanged"].passed and checks["quarantine_within_threshold"].passed
    assert {e.partition for e in checks.values()} == {NIGHT.isoformat()}

    assert rows(home, "SELECT business_date, source, suite, dimension, success, observed_value FROM dq_results") == [
        (NIGHT, NO_DELIVERY_SOURCE, "sources", "completeness", False, "0 files")]
    [(check_id, source, blocking, evidence)] = rows(home, "SELECT check_id, source, blocking, evidence FROM dq_source_issues")
    assert (check_id, source, blocking) == ("DQ_SOURCE_MISSING", NO_DELIVERY_SOURCE, True)
    assert json.loads(evidence)["no_delivery"] is True
    assert rows(home, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'findings'") in ([(0,)], [(1,)])
    reports = home / "reports" / NIGHT.isoformat()
    assert '<p id="verdict" class="bad">' in (reports / "data_quality.html").read_text("utf-8")
    assert not (reports / "findings.csv").exists() and not (reports / "financing_status.csv").exists()


def test_scf_run_on_an_empty_inbox_exits_non_zero_with_one_line(tmp_path, capsys):
    home, inbox = tmp_path / "home", tmp_path / "inbox"
    init_home(home)
    (inbox / NIGHT.isoformat()).mkdir(parents=True)
    with pytest.raises(SystemExit) as exited:
        app(args=["run", "--date", NIGHT.isoformat(), "--home", str(home), "--inbox", str(inbox)])
    assert exited.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: night {NIGHT} failed: data_quality: no file was delivered"), err
