"""Unattended nights: the arrival sensor, the cut-off schedule and the failure alert, evaluated
in-process on a home's persistent Dagster instance (the daemon runs them in test_dagster.py)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from pathlib import Path

import dagster as dg

from integration.definitions import build_definitions
from integration.home import init_home
from integration.instance import instance_for
from integration.nights import NightRun, due_nights
from integration.resources import ScfHome
from integration.runner import run_night
from integration.settings import load_settings
from tests.conftest import SAMPLE_NIGHT

D = dt.date.fromisoformat
GO_LIVE = D("2026-01-01")
LAST = D("2026-11-25")


def _run(day: str, status: str, second: int) -> NightRun:
    return NightRun(D(day), f"r{day}", dt.datetime(2026, 11, 28, 0, 0, second), None, status, None, None)


def test_due_nights_are_the_unrun_and_stale_ones_in_order_and_stop_at_a_failure():
    delivered = [D("2025-12-31"), D("2026-11-18"), D("2026-11-19"), D("2026-11-20"), D("2026-11-26")]
    assert due_nights(delivered, {}, GO_LIVE, LAST) == [D("2026-11-18"), D("2026-11-19"), D("2026-11-20")]
    runs = {r.business_date: r for r in (_run("2026-11-18", "succeeded", 1), _run("2026-11-19", "succeeded", 9),
                                         _run("2026-11-20", "succeeded", 5))}
    assert due_nights(delivered, runs, GO_LIVE, LAST) == [D("2026-11-20")], "20 ran before 19 was re-run"
    runs[D("2026-11-19")] = _run("2026-11-19", "failed", 9)
    assert due_nights(delivered, runs, GO_LIVE, LAST) == []


def _automation(home: Path, inbox: Path):
    defs = build_definitions(load_settings(home, inbox))
    resources = {"scf": ScfHome(home=str(home), inbox=str(inbox))}
    return defs, resources


def test_arrival_sensor_launches_a_night_once_its_delivery_is_marked_complete(tmp_path, sample_inbox):
    home = tmp_path / "home"
    init_home(home)
    defs, resources = _automation(home, sample_inbox)
    sensor = defs.resolve_sensor_def("nightly_arrival_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    with instance_for(home) as instance:
        waiting = sensor(dg.build_sensor_context(instance=instance, resources=resources))
        assert isinstance(waiting, dg.SkipReason) and f"night {SAMPLE_NIGHT}: waiting for its .complete" in waiting.skip_message
        (sample_inbox / SAMPLE_NIGHT / ".complete").touch()
        request = sensor(dg.build_sensor_context(instance=instance, resources=resources))
        assert isinstance(request, dg.RunRequest) and request.partition_key == SAMPLE_NIGHT
    assert run_night(D(SAMPLE_NIGHT), home=home, inbox=sample_inbox).success
    with instance_for(home) as instance:
        done = sensor(dg.build_sensor_context(instance=instance, resources=resources))
        assert isinstance(done, dg.SkipReason) and done.skip_message == "no night is waiting"


def test_cut_off_schedule_launches_every_waiting_night_in_order(tmp_path, sample_inbox):
    home = tmp_path / "home"
    shutil.copytree(sample_inbox / SAMPLE_NIGHT / "tax", sample_inbox / "2026-11-21" / "tax")
    defs, resources = _automation(home, sample_inbox)
    schedule = defs.resolve_schedule_def("nightly_reconciliation_schedule")
    assert (schedule.cron_schedule, schedule.default_status) == ("30 3 * * *", dg.DefaultScheduleStatus.RUNNING)
    with instance_for(home) as instance:
        requests = schedule(dg.build_schedule_context(instance=instance, resources=resources))
    assert [r.partition_key for r in requests] == [SAMPLE_NIGHT, "2026-11-21"]


def test_failure_sensor_writes_an_alert_naming_night_step_and_cause(tmp_path, sample_inbox):
    home = tmp_path / "home"
    init_home(home)
    (home / "scf.toml").write_text('[ledger]\nsigning_key_file = "scf.toml/key.pem"\n'
                                   f'[nightly]\nalert_command = ["{sys.executable}", "-c", '
                                   '"import sys, shutil; shutil.copy(sys.argv[1], sys.argv[1] + \'.sent\')"]\n',
                                   "utf-8")
    result = run_night(D(SAMPLE_NIGHT), home=home, inbox=sample_inbox)
    assert not result.success
    defs, resources = _automation(home, sample_inbox)
    sensor = defs.resolve_sensor_def("nightly_failure_sensor")
    with instance_for(home) as instance:
        run = instance.get_run_by_id(result.run_id)
        failure = next(e.dagster_event for e in instance.all_logs(run.run_id)
                       if e.dagster_event and e.dagster_event.is_job_failure)
        context = dg.build_run_status_sensor_context(
            sensor_name=sensor.name, dagster_event=failure, dagster_instance=instance, dagster_run=run,
            resources=resources,
        ).for_run_failure()
        sensor(context)
    [alert_file] = (home / "alerts").glob("*.json")
    alert = json.loads(alert_file.read_text("utf-8"))
    assert (alert["business_date"], alert["step"]) == (SAMPLE_NIGHT, "landed_files")
    assert "no signing key at" in alert["cause"] and alert["run_id"] == result.run_id
    assert Path(f"{alert_file}.sent").read_text("utf-8") == alert_file.read_text("utf-8"), "the hook got the file"
