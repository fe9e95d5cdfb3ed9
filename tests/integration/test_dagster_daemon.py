"""The unattended night through a running `dagster dev` (webserver + daemon) on loopback, as
docs/OPERATIONS.md starts it: the arrival sensor over SFTP against the real sshd, the failure
sensor's alert and hook, sensor state over a restart, a UI re-run of an earlier night that
replays the later ones, and the 20-night soak."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import pytest
from typer.testing import CliRunner

from integration.cli import app
from integration.definitions import NIGHTLY_JOB_NAME
from integration.home import init_home
from simulator import simulate
from tests.integration.test_dagster import AUTOMATION, BIN, RUNS, _gql, dagster_dev
from tests.integration.test_operations_ops import _configure, _sftp_home
from tests.sshd import sshd_server  # noqa: F401  (fixture)

REPORTS = ("findings.csv", "financing_status.csv")
STOP_SENSOR = """mutation($id: String!) { stopSensor(id: $id) { __typename
  ... on StopSensorMutationResult { instigationState { status } } ... on PythonError { message } } }"""
SENSOR_IDS = """{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name }
  sensors { name sensorState { id } } } } } }"""
LAUNCH = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) { __typename
  ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } ... on InvalidSubsetError { message } } }"""
HOOK = '["{python}", "-c", "import sys, shutil; shutil.copy(sys.argv[1], sys.argv[1] + \'.sent\')"]'


def _wait(what: str, done: Callable[[], object], seconds: float) -> object:
    """Poll ``done`` every 2 s until it is truthy (returned); fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not (result := done()):
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(2)
    return result


def _partition(run: dict) -> str:
    return next(t["value"] for t in run["tags"] if t["key"] in ("dagster/partition", "dagster/asset_partition_range_start"))


def _runs(port: int) -> list[dict]:
    """Every run of the instance, oldest first."""
    return sorted(_gql(port, RUNS)["runsOrError"]["results"], key=lambda r: r["startTime"] or float("inf"))


def _settled(port: int) -> list[dict] | None:
    """The runs once none is queued or running, else None."""
    runs = _runs(port)
    return None if any(r["status"] not in ("SUCCESS", "FAILURE", "CANCELED") for r in runs) else runs


def _automation_states(port: int) -> dict[str, str]:
    [repo] = _gql(port, AUTOMATION)["repositoriesOrError"]["nodes"]
    return {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]} | {
        s["name"]: s["scheduleState"]["status"] for s in repo["schedules"]}


def _same_reports(home: Path, reference: Path, days: list[str]) -> None:
    for day in days:
        for name in REPORTS:
            assert (home / "reports" / day / name).read_bytes() == (reference / "reports" / day / name).read_bytes(), \
                f"{day}/{name} differs from scf run --all's"


@pytest.mark.slow
@pytest.mark.sftp
@pytest.mark.timeout(1800)
def test_the_daemon_runs_an_sftp_night_alerts_on_a_failed_one_and_keeps_its_state_over_a_restart(
        sshd_server, tmp_path):  # noqa: F811
    """Through `dagster dev`: the arrival sensor launches a night delivered over SFTP (pinned host
    key) once its marker lands; a night that fails gets its alert file (night, step, cause) and
    the hook is called; a sensor the operator stopped stays stopped over a restart, the others
    stay on, and the run history is kept."""
    start = dt.date(2026, 11, 18)
    simulate(tmp_path / "sim", seed=7, nights=2, start=start, trades_per_night=15)
    inbox = tmp_path / "sim" / "inbox"
    first, second = str(start), str(start + dt.timedelta(days=1))
    home = _sftp_home(tmp_path, sshd_server, inbox)
    _configure(home, f"[nightly]\nalert_command = {HOOK.format(python=sys.executable)}\n")
    with dagster_dev(home, None) as port:
        assert set(_automation_states(port).values()) == {"RUNNING"}, "schedule and sensors on with the daemon"
        (inbox / first / ".complete").touch()
        _wait("the arrival sensor ran the night delivered over SFTP",
              lambda: (runs := _settled(port)) and [(_partition(r), r["status"]) for r in runs] == [(first, "SUCCESS")],
              600)
        assert all((home / "reports" / first / name).exists() for name in REPORTS)
        _configure(home, '[ledger]\nsigning_key_file = "scf.toml/key.pem"\n')  # the next night cannot sign
        (inbox / second / ".complete").touch()
        alert_file = _wait("the failure sensor's alert", lambda: next((home / "alerts").glob("*.json"), None), 600)
        alert = json.loads(alert_file.read_text("utf-8"))
        assert (alert["business_date"], alert["step"]) == (second, "landed_files")
        assert "no signing key at" in alert["cause"]
        failed = [r for r in _runs(port) if _partition(r) == second]
        assert [r["status"] for r in failed] == ["FAILURE"] and alert["run_id"] == failed[0]["runId"]
        _wait("the alert hook", lambda: Path(f"{alert_file}.sent").exists(), 60)
        assert Path(f"{alert_file}.sent").read_text("utf-8") == alert_file.read_text("utf-8")
        [repo] = _gql(port, SENSOR_IDS)["repositoriesOrError"]["nodes"]
        arrival = next(s["sensorState"]["id"] for s in repo["sensors"] if s["name"] == "nightly_arrival_sensor")
        stopped = _gql(port, STOP_SENSOR, id=arrival)["stopSensor"]
        assert stopped["instigationState"]["status"] == "STOPPED", stopped
        history = [(r["runId"], r["status"]) for r in _runs(port)]
    with dagster_dev(home, None) as port:  # the operator restarts the daemon and the UI
        assert _automation_states(port) == {"nightly_arrival_sensor": "STOPPED", "nightly_failure_sensor": "RUNNING",
                                            "nightly_reconciliation_schedule": "RUNNING", "scf_verify_schedule": "RUNNING"}
        assert [(r["runId"], r["status"]) for r in _runs(port)] == history
    assert len(list((home / "alerts").glob("*.json"))) == 1, "one alert for the one failed run"


SOAK_NIGHTS = 20


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_soak_twenty_nights_delivered_one_by_one_run_once_in_order_and_a_ui_rerun_replays_the_later_ones(tmp_path):
    """20 nights delivered one by one into the inbox while the daemon runs: every night runs once,
    in order, with the reports of `scf run --all`. Then a run of an earlier night launched as
    the UI launches it (GraphQL launchRun of its partition) is followed by the later nights,
    replayed in order by the sensor, and every report is still `scf run --all`'s."""
    start = dt.date(2026, 11, 28) - dt.timedelta(days=SOAK_NIGHTS)
    simulate(tmp_path / "sim", seed=11, nights=SOAK_NIGHTS, start=start, trades_per_night=15)
    days = [str(start + dt.timedelta(days=i)) for i in range(SOAK_NIGHTS)]
    delivered = tmp_path / "sim" / "inbox"
    init_home(tmp_path / "ref")
    reference = subprocess.Popen(  # meanwhile: the reference, in its own process
        [str(BIN / "scf"), "run", "--all", "--home", str(tmp_path / "ref"), "--inbox", str(delivered)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    home, inbox = tmp_path / "home", tmp_path / "inbox"
    init_home(home)
    inbox.mkdir()
    with dagster_dev(home, inbox) as port:
        for day in days:  # the sender: the night's folder appears whole, then its marker
            shutil.copytree(delivered / day, inbox / f".{day}")
            os.rename(inbox / f".{day}", inbox / day)
            (inbox / day / ".complete").touch()
            _wait(f"night {day} ran", lambda day=day: (home / "reports" / day / "financing_status.csv").exists()
                  and _settled(port), 900)
        runs = _settled(port)
        assert [_partition(r) for r in runs] == days, "every night once, in business-date order"
        assert all(r["status"] == "SUCCESS" for r in runs)
        assert all(a["endTime"] <= b["startTime"] for a, b in pairwise(runs)), "never two nights at once"
        output, _ = reference.communicate(timeout=1800)
        assert reference.returncode == 0, output.decode()[-3000:]
        _same_reports(home, tmp_path / "ref", days)
        rerun = days[-3]
        [repo] = _gql(port, SENSOR_IDS)["repositoriesOrError"]["nodes"]
        launched = _gql(port, LAUNCH, params={
            "selector": {"repositoryLocationName": repo["location"]["name"], "repositoryName": repo["name"],
                         "jobName": NIGHTLY_JOB_NAME},
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": rerun}]},
        })["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        again = _wait("the re-run night and its replays", lambda: (r := _settled(port)) and len(r) == SOAK_NIGHTS + 3
                      and r, 900)
        assert [_partition(r) for r in again[SOAK_NIGHTS:]] == days[-3:], "the re-run night, then the later ones in order"
        assert all(r["status"] == "SUCCESS" for r in again)
        tags = [{t["key"]: t["value"] for t in r["tags"]} for r in again[SOAK_NIGHTS + 1:]]
        assert [t.get("scf/launched_by") for t in tags] == ["replay", "replay"]
    _same_reports(home, tmp_path / "ref", days)
    status = CliRunner().invoke(app, ["status", "--home", str(home), "--inbox", str(inbox)])
    assert status.exit_code == 0 and "stale" not in status.output and "pending" not in status.output, status.output
