"""`dagster dev -w workspace.yaml` loads the same definitions `scf run` executes."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path

import pytest
from typer.testing import CliRunner

from integration.cli import app
from integration.definitions import NIGHTLY_JOB_NAME, defs
from integration.home import init_home
from integration.instance import instance_for
from simulator import simulate
from tests.conftest import REPO

BIN = Path(sys.executable).parent
ASSETS = ["landed_files", "typed_tables", "data_quality", "voucher_ledger", "findings", "nightly_reports",
          "pool_surveillance"]
QUERY = """{ repositoriesOrError { ... on RepositoryConnection { nodes {
  jobs { name isAssetJob } schedules { name cronSchedule executionTimezone }
  assetNodes { assetKey { path } partitionDefinition { type } } } } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_definitions_hold_the_partitioned_nightly_job():
    job = defs.resolve_job_def(NIGHTLY_JOB_NAME)
    assert job.partitions_def is not None
    assert sorted(k.to_user_string() for k in job.asset_layer.executable_asset_keys) == sorted(ASSETS)
    for key in ASSETS:
        assert defs.resolve_assets_def(key).op.description, f"asset {key} has a docstring"


def test_dagster_webserver_loads_workspace(tmp_path):
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    server = subprocess.Popen(
        [str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        payload = None
        while time.monotonic() < deadline:
            assert server.poll() is None, server.stderr.read().decode()[-2000:]
            try:
                payload = _graphql(port, QUERY)
                if payload.get("data", {}).get("repositoriesOrError", {}).get("nodes"):
                    break
            except OSError:
                pass
            time.sleep(1)
        assert payload is not None, "dagster-webserver never answered"
        repo = payload["data"]["repositoriesOrError"]["nodes"][0]
        assert NIGHTLY_JOB_NAME in {j["name"] for j in repo["jobs"]}
        assert repo["schedules"] == [
            {"name": "nightly_reconciliation_schedule", "cronSchedule": "30 3 * * *", "executionTimezone": "Asia/Shanghai"},
            {"name": "scf_verify_schedule", "cronSchedule": "0 12 * * 0", "executionTimezone": "Asia/Shanghai"},
        ]
        served = {"/".join(a["assetKey"]["path"]): a["partitionDefinition"]["type"] for a in repo["assetNodes"]}
        assert served == {key: "TIME_WINDOW" for key in ASSETS}
    finally:
        server.terminate()
        server.wait(timeout=30)


# --- one instance per home: a backfill through the real webserver and daemon ----------------------

BACKFILL = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
BACKFILL_STATUS = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  __typename ... on PartitionBackfill { status } ... on PythonError { message } } }"""
RUNS = """{ runsOrError { ... on Runs { results { runId status startTime endTime
  tags { key value } } } } }"""
SIM_START = dt.date(2026, 11, 18)
SIM_NIGHTS = [SIM_START + dt.timedelta(days=i) for i in range(4)]  # 3 backfilled, the 4th by the arrival sensor
AUTOMATION = """{ repositoriesOrError { ... on RepositoryConnection { nodes {
  sensors { name sensorState { status } } schedules { name scheduleState { status } } } } } }"""


def _gql(port: int, query: str, **variables: object) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        payload = json.loads(response.read())
    assert "errors" not in payload, payload
    return payload["data"]


@contextmanager
def dagster_dev(home: Path, inbox: Path | None) -> Iterator[int]:
    """``dagster dev`` (webserver + daemon) on the home's instance, as OPERATIONS.md starts it
    (``inbox`` None: the home's configured source, e.g. SFTP)."""
    port = _free_port()
    env = {**{k: v for k, v in os.environ.items() if k != "SCF_INBOX"},
           "DAGSTER_HOME": str(instance_for(home).root_directory), "SCF_HOME": str(home),
           **({"SCF_INBOX": str(inbox)} if inbox else {})}
    log = (home.parent / "dagster-dev.log").open("ab")  # the daemon's log (over restarts), for a failing test's reader
    server = subprocess.Popen(
        [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, "dagster dev exited"
            assert time.monotonic() < deadline, "dagster dev never answered"
            try:
                if _gql(port, QUERY)["repositoriesOrError"].get("nodes"):
                    break
            except OSError:
                pass
            time.sleep(2)
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


@pytest.mark.slow
def test_a_backfill_through_the_daemon_runs_nights_one_at_a_time_in_order(tmp_path):
    """Through `dagster dev` (webserver + daemon) on the home's instance: the sensors and the
    cut-off schedule are on; a 3-night backfill runs the nights one at a time, in order; a night
    run by `scf run` shows in the UI; the arrival sensor runs the 4th night once it is marked
    complete; every night's reports equal `scf run --all`'s."""
    simulate(tmp_path / "sim", seed=3, nights=len(SIM_NIGHTS), start=SIM_START, trades_per_night=40)
    inbox = tmp_path / "sim" / "inbox"
    init_home(tmp_path / "ref")
    init_home(tmp_path / "home")
    reference = CliRunner().invoke(app, ["run", "--all", "--home", str(tmp_path / "ref"), "--inbox", str(inbox)])
    assert reference.exit_code == 0, reference.output
    home = tmp_path / "home"
    (inbox / str(SIM_NIGHTS[-1]) / ".complete").unlink(missing_ok=True)
    with dagster_dev(home, inbox) as port:
        [repo] = _gql(port, AUTOMATION)["repositoriesOrError"]["nodes"]
        assert {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]} == {
            "nightly_arrival_sensor": "RUNNING", "nightly_failure_sensor": "RUNNING"}
        assert [s["scheduleState"]["status"] for s in repo["schedules"]] == ["RUNNING", "RUNNING"]
        keys = [str(d) for d in SIM_NIGHTS[:3]]
        launched = _gql(port, BACKFILL, params={"partitionNames": keys,
                                                "assetSelection": [{"path": [a]} for a in ASSETS]})
        backfill_id = launched["launchPartitionBackfill"]["backfillId"]
        deadline = time.monotonic() + 600
        while (status := _gql(port, BACKFILL_STATUS, id=backfill_id)["partitionBackfillOrError"]["status"]) in (
            "REQUESTED",
        ):
            assert time.monotonic() < deadline, "the backfill did not finish"
            time.sleep(3)
        assert status in ("COMPLETED", "COMPLETED_SUCCESS"), status
        runs = [r for r in _gql(port, RUNS)["runsOrError"]["results"]
                if {"key": "dagster/backfill", "value": backfill_id} in r["tags"]]
        partition = lambda run: next(t["value"] for t in run["tags"]  # noqa: E731
                                     if t["key"] in ("dagster/partition", "dagster/asset_partition_range_start"))
        runs.sort(key=lambda r: r["startTime"])
        assert [partition(r) for r in runs] == keys, "one run per night, started in business-date order"
        assert all(r["status"] == "SUCCESS" for r in runs)
        assert all(a["endTime"] <= b["startTime"] for a, b in pairwise(runs)), "never two nights at once"
        # A night run by `scf run` on the same home shows in the UI's run history.  (Compared with the runs
        # before it, not with the backfill's: the arrival sensor may have launched a complete night on its
        # first tick, before the backfill was requested, as it should.)
        before = {r["runId"] for r in _gql(port, RUNS)["runsOrError"]["results"]}
        cli = CliRunner().invoke(app, ["run", "--date", keys[-1], "--home", str(home), "--inbox", str(inbox)])
        assert cli.exit_code == 0, cli.output
        new = [r for r in _gql(port, RUNS)["runsOrError"]["results"] if r["runId"] not in before]
        assert [partition(r) for r in new] == [keys[-1]], [{t["key"]: t["value"] for t in r["tags"]} for r in new]
        (inbox / str(SIM_NIGHTS[-1]) / ".complete").touch()  # the sender marks the 4th delivery complete
        deadline = time.monotonic() + 300
        while not (home / "reports" / str(SIM_NIGHTS[-1]) / "financing_status.csv").exists():
            assert time.monotonic() < deadline, "the arrival sensor did not run the marked night"
            time.sleep(3)
        deadline = time.monotonic() + 120
        while any(r["status"] != "SUCCESS" for r in _gql(port, RUNS)["runsOrError"]["results"]):
            assert time.monotonic() < deadline, "the sensor's run did not finish"
            time.sleep(2)
    for day in map(str, SIM_NIGHTS):
        for name in ("findings.csv", "financing_status.csv"):
            assert (home / "reports" / day / name).read_bytes() == (tmp_path / "ref" / "reports" / day / name).read_bytes()
