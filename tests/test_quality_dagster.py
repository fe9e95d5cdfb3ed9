"""The data-quality asset checks per partition, read back through the real dagster-webserver:
a clean night passes them, a night with a schema drift fails the blocking one (red for that
partition) and its reports are not published."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import dagster as dg
import pytest

from integration.definitions import NIGHTLY_JOB_NAME, defs
from integration.home import init_home
from tests.conftest import REPO, SAMPLE_NIGHT
from tests.test_dagster import BIN, _free_port, _graphql

DRIFT_NIGHT = "2026-11-21"
EXECUTIONS = """{ assetCheckExecutions(assetKey: {path: ["%s"]}, checkName: "%s", partition: "%s", limit: 5) {
  status partition evaluation { success severity description } } }"""


def _run(instance: dg.DagsterInstance, home: Path, inbox: Path, partition: str) -> bool:
    init_home(home)
    job = defs.resolve_job_def(NIGHTLY_JOB_NAME)
    result = job.execute_in_process(
        run_config={"resources": {"scf": {"config": {"home": str(home), "inbox": str(inbox)}}}},
        instance=instance, partition_key=partition, raise_on_error=False,
    )
    return result.success


@pytest.mark.slow
def test_asset_checks_per_partition_in_the_webserver(tmp_path, sample_inbox):
    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    home = tmp_path / "home"
    drift = sample_inbox / DRIFT_NIGHT
    shutil.copytree(sample_inbox / SAMPLE_NIGHT, drift)
    financings = drift / "platform" / "financings.csv"
    financings.write_text(financings.read_text("utf-8").replace("bank_code", "bank_id", 1), "utf-8")
    with dg.DagsterInstance.local_temp(str(dagster_home)) as instance:
        assert _run(instance, home, sample_inbox, SAMPLE_NIGHT)
        assert not _run(instance, home, sample_inbox, DRIFT_NIGHT)
    assert (home / "reports" / SAMPLE_NIGHT / "findings.csv").exists()
    assert not (home / "reports" / DRIFT_NIGHT / "findings.csv").exists()
    assert (home / "reports" / DRIFT_NIGHT / "data_quality.html").exists()

    port = _free_port()
    server = subprocess.Popen(
        [str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO, env={**os.environ, "DAGSTER_HOME": str(dagster_home)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline, answer = time.monotonic() + 120, None
        while time.monotonic() < deadline and answer is None:
            assert server.poll() is None, server.stderr.read().decode()[-2000:]
            try:
                answer = _graphql(port, EXECUTIONS % ("findings", "schemas_unchanged", SAMPLE_NIGHT))["data"]
            except (OSError, KeyError):
                time.sleep(1)
        assert answer is not None, "dagster-webserver never answered"

        def execution(asset: str, check: str, partition: str) -> dict:
            runs = _graphql(port, EXECUTIONS % (asset, check, partition))["data"]["assetCheckExecutions"]
            assert runs, (asset, check, partition)
            return runs[0]

        clean = execution("findings", "schemas_unchanged", SAMPLE_NIGHT)
        assert clean["status"] == "SUCCEEDED" and clean["evaluation"]["success"]
        red = execution("findings", "schemas_unchanged", DRIFT_NIGHT)
        assert red["status"] == "FAILED" and red["partition"] == DRIFT_NIGHT
        assert red["evaluation"]["severity"] == "ERROR" and "bank_code" in red["evaluation"]["description"]
        warned = execution("data_quality", "expectations_met", DRIFT_NIGHT)
        assert warned["evaluation"]["severity"] == "WARN"
    finally:
        server.terminate()
        server.wait(timeout=30)
