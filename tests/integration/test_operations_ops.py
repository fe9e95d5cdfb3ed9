"""Unattended nights: the arrival sensor (local inbox and SFTP against the real sshd), the
cut-off schedule, the replay of the nights after a re-run one and the failure alert, evaluated
in-process on a home's persistent Dagster instance (the daemon runs them in test_dagster*.py)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from connectors.sftp import HostKeyRejected
from integration.definitions import build_definitions
from integration.home import init_home
from integration.instance import instance_for
from integration.nights import NightRun, due_nights
from integration.resources import ScfHome
from integration.runner import run_night
from integration.sensors import MISSING_TAG
from integration.settings import load_settings
from tests.conftest import SAMPLE_NIGHT
from tests.sshd import SshdServer, sshd_server, write_private_key  # noqa: F401  (fixture)
from warehouse.registry import create_table
from warehouse.results import NIGHT_RUNS

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


def _automation(home: Path, inbox: Path | None):
    defs = build_definitions(load_settings(home, inbox))
    resources = {"scf": ScfHome(home=str(home), inbox=str(inbox or ""))}
    return defs, resources


def _configure(home: Path, toml: str) -> None:
    """Add sections to a home's scf.toml (the template's are all commented out)."""
    with (home / "scf.toml").open("a", encoding="utf-8") as config:
        config.write(toml)


def _tick(defs: dg.Definitions, resources: dict, home: Path) -> dg.RunRequest | dg.SkipReason:
    with instance_for(home) as instance:
        return defs.resolve_sensor_def("nightly_arrival_sensor")(
            dg.build_sensor_context(instance=instance, resources=resources))


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


def test_arrival_sensor_launches_a_night_holding_every_expected_source_and_the_cut_off_records_the_missing(
        tmp_path, sample_inbox):
    """Without a marker, a night is complete once every source the registry expects is there; at
    the cut-off an incomplete night runs anyway, the missing sources recorded on its run."""
    home = tmp_path / "home"
    init_home(home)
    _configure(home, '[checks]\ndq_required_sources = "platform/financings.csv;bills/*.xml"\n')
    shutil.move(sample_inbox / SAMPLE_NIGHT / "bills", tmp_path / "bills")
    defs, resources = _automation(home, sample_inbox)
    waiting = _tick(defs, resources, home)
    assert isinstance(waiting, dg.SkipReason)
    assert waiting.skip_message == (f"night {SAMPLE_NIGHT}: waiting for its .complete marker or its missing "
                                    "sources bills/*.xml, or the cut-off")
    with instance_for(home) as instance:
        [cut_off] = defs.resolve_schedule_def("nightly_reconciliation_schedule")(
            dg.build_schedule_context(instance=instance, resources=resources))
    assert (cut_off.partition_key, cut_off.tags[MISSING_TAG]) == (SAMPLE_NIGHT, "bills/*.xml")
    shutil.move(tmp_path / "bills", sample_inbox / SAMPLE_NIGHT / "bills")
    request = _tick(defs, resources, home)
    assert isinstance(request, dg.RunRequest) and request.partition_key == SAMPLE_NIGHT
    assert request.tags["scf/launched_by"] == "arrival" and MISSING_TAG not in request.tags


def test_arrival_sensor_replays_the_nights_after_a_rerun_night_at_once(tmp_path, sample_inbox):
    """A night re-run (from the UI) after later nights ran makes them stale: the sensor launches
    the first of them at once, marker or not, then the next once it has run (as `scf run --date`)."""
    home = tmp_path / "home"
    init_home(home)
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        create_table(con, NIGHT_RUNS)
        for day, run, second in (("2026-11-20", "a", 1), ("2026-11-21", "b", 2), ("2026-11-22", "c", 3),
                                 ("2026-11-20", "d", 4)):
            con.execute("INSERT INTO night_runs BY NAME SELECT ? AS business_date, ? AS run_id, ? AS started_at, "
                        "? AS ended_at, 'succeeded' AS status",
                        [D(day), run, dt.datetime(2026, 11, 28, 0, 0, second), dt.datetime(2026, 11, 28, 0, 0, second)])
    defs, resources = _automation(home, sample_inbox)
    request = _tick(defs, resources, home)
    assert isinstance(request, dg.RunRequest)
    assert (request.partition_key, request.tags["scf/launched_by"]) == ("2026-11-21", "replay")
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("INSERT INTO night_runs VALUES ('2026-11-21', 'e', '2026-11-28 00:00:05', NULL, 'succeeded', NULL, NULL)")
    request = _tick(defs, resources, home)
    assert isinstance(request, dg.RunRequest) and request.partition_key == "2026-11-22"


def _sftp_home(tmp_path: Path, server: SshdServer, root: Path, host_key: str | None = None) -> Path:
    home = tmp_path / "home"
    init_home(home)
    (tmp_path / "known_hosts").write_text(server.known_hosts_line(host_key), "utf-8")
    _configure(home, f'[source]\nkind = "sftp"\nhost = "{server.host}"\nport = {server.port}\n'
                     f'username = "{server.username}"\nkey_file = "{server.client_keys["ed25519"]}"\n'
                     f'known_hosts = "{tmp_path / "known_hosts"}"\nroot = "{root}"\n')
    return home


@pytest.mark.sftp
def test_arrival_sensor_over_sftp_waits_for_the_marker_with_the_pinned_host_key(
        sshd_server, tmp_path, sample_inbox, monkeypatch):  # noqa: F811
    monkeypatch.delenv("SCF_INBOX", raising=False)
    home = _sftp_home(tmp_path, sshd_server, sample_inbox)
    defs, resources = _automation(home, None)
    waiting = _tick(defs, resources, home)
    assert isinstance(waiting, dg.SkipReason)
    assert waiting.skip_message == f"night {SAMPLE_NIGHT}: waiting for its .complete marker, or the cut-off"
    (sample_inbox / SAMPLE_NIGHT / ".complete").mkdir()
    assert isinstance(_tick(defs, resources, home), dg.SkipReason), "a folder named like the marker is no marker"
    (sample_inbox / SAMPLE_NIGHT / ".complete").rmdir()
    (sample_inbox / SAMPLE_NIGHT / ".complete").touch()
    request = _tick(defs, resources, home)
    assert isinstance(request, dg.RunRequest) and request.partition_key == SAMPLE_NIGHT
    impostor = write_private_key("ed25519", tmp_path / "impostor_key")
    (tmp_path / "known_hosts").write_text(sshd_server.known_hosts_line(impostor), "utf-8")
    with pytest.raises(HostKeyRejected, match="not trusted"):  # the tick fails (shown in the UI), naming the key
        _tick(defs, resources, home)


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
