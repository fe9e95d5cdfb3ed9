"""The night's asset checks, per partition, as Dagster records them and the real webserver
serves them: a clean night's checks pass; a night with a renamed column fails the blocking
``schema_unchanged`` check (ERROR, red) while its reports are held."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time

import pytest

from integration.definitions import NIGHTLY_JOB_NAME, defs
from integration.home import init_home
from integration.instance import instance_for
from integration.quality_assets import NIGHT_CHECKS
from integration.runner import failure_messages, run_night
from simulator import simulate
from simulator.dq_faults import DqFault, plant_dq_faults
from tests.conftest import REPO
from tests.integration.test_dagster import BIN, _free_port, _gql

START = dt.date(2026, 11, 18)
CLEAN, DRIFT = START, START + dt.timedelta(days=1)
EXECUTIONS = """query($asset: [String!]!, $check: String!, $partition: String) {
  assetCheckExecutions(assetKey: {path: $asset}, checkName: $check, partition: $partition, limit: 5) {
    status partition evaluation { success severity partition } } }"""
CHECKS = """{ assetNodes { assetKey { path } assetChecksOrError { ... on AssetChecks { checks { name blocking } } } } }"""


def test_the_night_declares_its_checks_blocking_or_warning():
    job = defs.resolve_job_def(NIGHTLY_JOB_NAME)
    declared = {(k.asset_key.to_user_string(), k.name) for k in job.asset_layer.asset_graph.asset_check_keys}
    assert declared == {(c.asset, c.name) for c in NIGHT_CHECKS}
    blocking = {c.name for c in NIGHT_CHECKS if c.blocking}
    assert blocking == {"required_sources_present", "schema_unchanged", "quarantine_within_threshold", "home_verified"}


@pytest.mark.slow
def test_asset_checks_per_partition_through_the_webserver(tmp_path):
    simulate(tmp_path / "sim", seed=3, nights=2, start=START, trades_per_night=20, anomalies=False)
    plant_dq_faults(tmp_path / "sim", DqFault("renamed_column", 1))
    home = tmp_path / "home"
    init_home(home)
    inbox = tmp_path / "sim" / "inbox"
    assert run_night(CLEAN, home=home, inbox=inbox).success
    held = run_night(DRIFT, home=home, inbox=inbox)
    assert not held.success and any("held by data quality" in m for m in failure_messages(held))
    assert not (home / "reports" / DRIFT.isoformat() / "findings.csv").exists()

    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(instance_for(home).root_directory), "SCF_HOME": str(home),
           "SCF_INBOX": str(inbox)}
    server = subprocess.Popen([str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                              cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, "dagster-webserver exited"
            assert time.monotonic() < deadline, "dagster-webserver never answered"
            try:
                nodes = _gql(port, CHECKS)["assetNodes"]
                break
            except OSError:
                time.sleep(2)
        served = {("/".join(n["assetKey"]["path"]), c["name"]): c["blocking"]
                  for n in nodes for c in n["assetChecksOrError"].get("checks", [])}
        assert served == {(c.asset, c.name): c.blocking for c in NIGHT_CHECKS}

        def executions(check: str, night: dt.date) -> list[dict]:
            asset = next(c.asset for c in NIGHT_CHECKS if c.name == check)
            return _gql(port, EXECUTIONS, asset=[asset], check=check, partition=night.isoformat())["assetCheckExecutions"]

        for check in NIGHT_CHECKS:
            [clean] = executions(check.name, CLEAN)
            outcome = (clean["status"], clean["partition"], clean["evaluation"]["success"])
            assert outcome == ("SUCCEEDED", CLEAN.isoformat(), True), check.name
        [drift] = executions("schema_unchanged", DRIFT)
        assert drift["status"] == "FAILED" and drift["evaluation"] == {"success": False, "severity": "ERROR",
                                                                         "partition": DRIFT.isoformat()}
        [warn] = executions("sources_complete_and_on_time", DRIFT)
        assert warn["evaluation"]["success"] is True
        [ledger] = executions("home_verified", DRIFT)
        assert ledger["evaluation"]["success"] is True, "the ledger step runs before the reports are held"
    finally:
        server.terminate()
        server.wait(timeout=60)
