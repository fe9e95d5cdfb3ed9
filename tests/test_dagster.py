"""`dagster dev -w workspace.yaml` loads the same definitions `scf run` executes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from integration.definitions import NIGHTLY_JOB_NAME, defs
from tests.conftest import REPO

BIN = Path(sys.executable).parent
ASSETS = ["landed_files", "typed_tables", "data_quality", "voucher_ledger", "findings", "nightly_reports"]
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
            {"name": "nightly_reconciliation_schedule", "cronSchedule": "30 3 * * *", "executionTimezone": "Asia/Shanghai"}
        ]
        served = {"/".join(a["assetKey"]["path"]): a["partitionDefinition"]["type"] for a in repo["assetNodes"]}
        assert served == {key: "TIME_WINDOW" for key in ASSETS}
    finally:
        server.terminate()
        server.wait(timeout=30)
