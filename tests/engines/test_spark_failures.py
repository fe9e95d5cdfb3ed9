"""When Spark stops, the night stops with the right error: an engine failure (memory, the driver JVM
lost, scratch full) is :class:`SparkFailed` naming what ran, the cause and the ``[spark]`` setting to
raise; only what Spark cannot analyse is :class:`NotPortable`; a bug of ours is not disguised.

The classifier is checked on Spark's and Py4J's own exception classes; two real local-mode
sessions, each in a process of its own (a JVM's memory is fixed when it starts), show the session
taking ``[spark]``'s settings, refusing a second set, a too-small driver stopping Spark at start,
and a driver JVM killed under a running check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyspark")
pytestmark = [pytest.mark.timeout(900)]

from py4j.protocol import Py4JError, Py4JNetworkError  # noqa: E402
from pyspark.errors import AnalysisException, PySparkException  # noqa: E402

from engines.config import SparkSettings  # noqa: E402
from engines.failures import SparkFailed, classify  # noqa: E402
from engines.portable import NotPortable  # noqa: E402
from engines.spark import failing  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
RUNNING = "running check BILL_EXCHANGE_CONFLICT, table _cte_conflicts"
LOCAL = SparkSettings(driver_memory="6g")


def test_a_driver_gone_mid_call_is_an_engine_failure_naming_the_check_and_the_memory_to_raise() -> None:
    for error in (Py4JNetworkError("Answer from Java side is empty"), Py4JError("Error while sending or receiving"),
                  ConnectionRefusedError(111, "Connection refused")):  # fmt: skip
        failure = classify(error, RUNNING, LOCAL)
        assert isinstance(failure, SparkFailed) and not isinstance(failure, NotPortable)
        message = str(failure)
        assert "driver JVM was lost running check BILL_EXCHANGE_CONFLICT" in message
        assert "raise [spark] driver_memory (now 6g)" in message
        assert "\n" not in message


def test_out_of_memory_names_the_java_error_and_on_a_cluster_the_executor_memory_too() -> None:
    error = PySparkException(message="Job aborted due to stage failure: Task 3 failed\njava.lang.OutOfMemoryError: Java heap space\n\tat x")
    local = str(classify(error, RUNNING, LOCAL))
    assert local.startswith("Spark ran out of memory running check BILL_EXCHANGE_CONFLICT")
    assert "java.lang.OutOfMemoryError: Java heap space" in local and "executor_memory" not in local
    cluster = str(classify(error, RUNNING, SparkSettings(master="spark://spark-master:7077", executor_memory="8g")))
    assert "[spark] driver_memory (now 4g) or [spark] executor_memory (now 8g)" in cluster


def test_full_scratch_space_names_the_local_dir() -> None:
    error = PySparkException(message="java.io.IOException: No space left on device")
    message = str(classify(error, RUNNING, SparkSettings(local_dir=Path("/scratch/spark"))))
    assert "scratch space is full" in message and "[spark] local_dir (now /scratch/spark)" in message


def test_only_what_spark_cannot_analyse_is_not_portable() -> None:
    error = AnalysisException(message="[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column `n.since` cannot be resolved.")
    failure = classify(error, RUNNING, LOCAL)
    assert isinstance(failure, NotPortable)
    assert str(failure) == ("Spark cannot analyse the statement running check BILL_EXCHANGE_CONFLICT, table _cte_conflicts: "
                            "[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column `n.since` cannot be resolved.")  # fmt: skip
    other = classify(PySparkException(message="[INTERNAL_ERROR] boom"), RUNNING, LOCAL)
    assert isinstance(other, SparkFailed) and str(other) == f"Spark failed {RUNNING}: [INTERNAL_ERROR] boom"


def test_a_bug_of_ours_is_raised_as_it_is() -> None:
    assert classify(KeyError("check_id"), RUNNING, LOCAL) is None
    with pytest.raises(KeyError), failing(RUNNING, LOCAL):
        raise KeyError("check_id")
    with pytest.raises(SparkFailed) as raised, failing(RUNNING, LOCAL):
        raise Py4JNetworkError("Answer from Java side is empty")
    assert isinstance(raised.value.__cause__, Py4JNetworkError)


_SESSION = """
import dataclasses, datetime as dt, json, os, signal, sys
from pathlib import Path
import psutil
from engines.config import SparkSettings
from engines.failures import SparkFailed
from engines.portable import Action
from engines.spark import SparkJudge, spark_session
from reconciliation.findings import CheckRun

scratch = Path(sys.argv[1])
settings = SparkSettings(master="local[1]", driver_memory="1g", shuffle_partitions=3, local_dir=scratch)
spark = spark_session(settings)
conf = spark.sparkContext.getConf()
out = {"conf": {k: conf.get(k, None) for k in ("spark.driver.memory", "spark.local.dir", "spark.master")},
       "partitions": spark.conf.get("spark.sql.shuffle.partitions"),
       "xmx": [a for a in psutil.Process(spark.sparkContext._gateway.proc.pid).cmdline() if a.startswith("-Xmx")]}
judge = SparkJudge(spark, scratch / "store", settings)
judge._run([Action("table", "t", "SELECT id FROM range(100)", "DUP_INVOICE_MULTI_FINANCED")], CheckRun(dt.date(2026, 11, 20)), {}, None)
out["rows"] = spark.table("t").count()
for materialize in ("checkpoint", "disk", "cache"):
    held = SparkJudge(spark, scratch / "store", dataclasses.replace(settings, materialize=materialize))
    held._run([Action("empty", "found", "id BIGINT"), Action("insert", "found", "SELECT id FROM range(3)", "A"),
               Action("insert", "found", "SELECT id FROM t WHERE id < 2", "B")], CheckRun(dt.date(2026, 11, 20)), {}, None)
    out[materialize] = sorted(r.id for r in spark.table("found").collect())
try:
    spark_session(SparkSettings(master="local[1]", driver_memory="2g", shuffle_partitions=3, local_dir=scratch))
except SparkFailed as error:
    out["second"] = str(error)
os.kill(spark.sparkContext._gateway.proc.pid, signal.SIGKILL)
spark.sparkContext._gateway.proc.wait()
try:
    judge._run([Action("table", "u", "SELECT id FROM range(10)", "BILL_EXCHANGE_CONFLICT")], CheckRun(dt.date(2026, 11, 20)), {}, None)
except SparkFailed as error:
    out["killed"] = str(error)
print(json.dumps(out))
"""

_TOO_SMALL = """
from engines.config import SparkSettings
from engines.failures import SparkFailed
from engines.spark import spark_session
try:
    spark_session(SparkSettings(driver_memory="256m"))
except SparkFailed as error:
    print(error)
"""


def _python(script: str, *args: str) -> str:
    """``script`` run by this Python in a process of its own (its own JVM), with this tree first on the path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=800)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict:
    scratch = tmp_path_factory.mktemp("spark-session")
    return {"scratch": str(scratch), **json.loads(_python(_SESSION, str(scratch)))}


def test_the_session_takes_the_spark_settings(session: dict) -> None:
    assert session["conf"] == {"spark.driver.memory": "1g", "spark.local.dir": session["scratch"], "spark.master": "local[1]"}
    assert session["xmx"] == ["-Xmx1g"]  # the JVM really started with the driver memory asked
    assert session["partitions"] == "3"
    assert session["rows"] == 100


def test_every_way_of_holding_the_sessions_tables_keeps_their_rows(session: dict) -> None:
    for materialize in ("checkpoint", "disk", "cache"):
        assert session[materialize] == [0, 0, 1, 1, 2], materialize


def test_a_running_session_with_other_memory_is_refused_not_reused(session: dict) -> None:
    assert "already runs in this process with other spark.driver.memory" in session["second"]


def test_a_killed_driver_stops_the_night_naming_the_check_and_the_setting(session: dict) -> None:
    assert session["killed"] == (
        "the Spark driver JVM was lost running check BILL_EXCHANGE_CONFLICT, table u (killed (SIGKILL, most often the kernel's "
        "out-of-memory killer)); it is most often ended for memory: raise [spark] driver_memory (now 1g), or free memory on the machine")


def test_a_driver_too_small_to_start_names_the_memory_to_raise() -> None:
    message = _python(_TOO_SMALL)
    assert message.startswith("Spark ran out of memory starting Spark: ")
    assert "must be at least" in message and message.endswith("raise [spark] driver_memory (now 256m)")
