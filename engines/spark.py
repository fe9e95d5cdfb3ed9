"""The catalogue on Spark: the four-flow match and every check, over the open store.

:func:`spark_judge` is a :class:`reconciliation.findings.Judge`: for night D it

1. exports the night's tables to the open store (:mod:`engines.store`);
2. records the statements the DuckDB engine runs to judge the night (:mod:`engines.record`);
3. registers every warehouse table the statements read as a Spark view over the store, its
   columns in the warehouse's order and types;
4. translates each statement (:mod:`engines.portable`) and runs it on Spark: temporary
   tables become materialised views, the checks' rows are appended to ``night_findings``;
5. hands ``night_findings`` and ``night_trade_matches`` back to DuckDB (Arrow), where the
   finding ids, the verdicts and the reports are made by the same code as for the DuckDB
   engine (:func:`reconciliation.findings.run_catalogue`).

The session is the one ``[spark]`` describes (:class:`engines.config.SparkSettings`: master,
memory, shuffle partitions, scratch folder, how temporary tables are held); what Spark raises
is classified once (:mod:`engines.failures`): a statement it cannot analyse is
:class:`~engines.portable.NotPortable`, an engine failure (memory, the JVM lost, disk) is
:class:`~engines.failures.SparkFailed` naming the check, the cause and the setting to raise.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession

from engines.config import DEFAULT_SPARK, SparkSettings
from engines.failures import SparkFailed, classify
from engines.portable import SPARK_CONF, Action, NotPortable, Translator, spark_type
from engines.record import base_tables, empty_copy, record_night
from engines.store import columns, export_night
from reconciliation.catalogue import CATALOGUE, Catalogue
from reconciliation.check import Check
from reconciliation.findings import CheckRun
from reconciliation.session import open_night

#: The temporary tables the night's judgement hands back to DuckDB.
RESULTS: tuple[str, ...] = ("night_findings", "night_trade_matches")


#: What a session's JVM fixes when it starts: a running one with other values cannot take these settings.
_STATIC = ("spark.driver.memory", "spark.executor.memory", "spark.local.dir")


def spark_session(settings: SparkSettings = DEFAULT_SPARK, app_name: str = "scf-recon") -> SparkSession:
    """A Spark session with ``settings`` and the translated catalogue's own configuration
    (:data:`engines.portable.SPARK_CONF`).  The JVM's memory and scratch folder are fixed when it
    starts: a session already running in this process with other values raises :class:`SparkFailed`
    rather than silently judge with them; one that cannot start (no Java, too little memory) too."""
    builder = SparkSession.builder.master(settings.master).appName(app_name)
    for key, value in {**SPARK_CONF, **settings.conf()}.items():
        builder = builder.config(key, value)
    with failing("starting Spark", settings):
        session = builder.getOrCreate()
    running = session.sparkContext.getConf()
    differ = [key for key in _STATIC if running.get(key, None) != settings.conf().get(key)]
    if session.sparkContext.master != settings.master:
        differ.insert(0, "spark.master")
    if differ:
        raise SparkFailed(f"a Spark session already runs in this process with other {', '.join(differ)} than [spark] asks; "
                          "a JVM's memory is fixed when it starts: run the night in a new process")  # fmt: skip
    session.sparkContext.setLogLevel("FATAL")  # errors reach the caller as exceptions, once
    return session


@contextmanager
def failing(what: str, settings: SparkSettings) -> Iterator[None]:
    """Whatever Spark raises inside, as the night's one error (:func:`engines.failures.classify`)."""
    try:
        yield
    except Exception as error:
        failure = classify(error, what, settings)
        if failure is None or failure is error:
            raise
        raise failure from error


class SparkJudge:
    """Judges nights on Spark over the store of a home (a :class:`reconciliation.findings.Judge`)."""

    def __init__(self, spark: SparkSession, store: Path, settings: SparkSettings = DEFAULT_SPARK) -> None:
        self.spark = spark
        self.store = store
        self.settings = settings
        self.seconds: dict[str, float] = {}

    def __call__(
        self,
        con: duckdb.DuckDBPyConnection,
        business_date: dt.date,
        *,
        params: Mapping[str, int | str] | None = None,
        checks: Iterable[Check] | None = None,
        catalogue: Catalogue = CATALOGUE,
        on_check: Callable[[Check], None] | None = None,
        full: bool = False,
    ) -> CheckRun:
        """Judge ``business_date`` on Spark; leave ``night_findings`` and ``night_trade_matches`` in ``con``.

        The as-of state (``asof_*``, kept by DuckDB between nights) is brought to tonight first, on
        ``con``, as ``full`` says; the store export then holds tonight's state, which the translated
        session reads (its own upkeep of that state is not run on Spark). The session opened here
        also gives the verdicts the night's as-of views and unreadable rows on the DuckDB side."""
        started = time.perf_counter()
        open_night(con, business_date, params, catalogue, full=full)
        copy = empty_copy(con)
        try:
            tables = base_tables(copy)
            statements = record_night(copy, business_date, params=params, checks=checks, catalogue=catalogue)
            translator = Translator(frozenset(tables))
            actions = [a for s in statements for a in translator.feed(s.sql, s.params)]
            self.seconds["record"] = time.perf_counter() - started
            export_night(con, self.store, business_date, translator.reads)
            self.seconds["export"] = time.perf_counter() - started - self.seconds["record"]
            with failing("reading the open store", self.settings):
                self._register(con, translator.reads)
            run = CheckRun(business_date)
            self._run(actions, run, {c.check_id: c for c in catalogue.checks} if on_check else {}, on_check)
            with failing("handing the night's findings and matches back to DuckDB", self.settings):
                self._hand_back(con, copy)
        finally:
            copy.close()
        self.seconds["total"] = time.perf_counter() - started
        return run

    def _register(self, con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> None:
        """Every warehouse table as a Spark view over the store, in the warehouse's columns and types."""
        for table in tables:
            cols = columns(con, table)
            typed = ", ".join(f"CAST({name} AS {spark_type(dtype)}) AS {name}" for name, dtype in cols)
            folder = self.store / table
            if any(folder.rglob("*.parquet")):
                self.spark.read.option("basePath", str(folder)).parquet(str(folder)).createOrReplaceTempView(f"_store_{table}")
                frame = self.spark.sql(f"SELECT {typed} FROM _store_{table}")
            else:
                schema = ", ".join(f"{name} {spark_type(dtype)}" for name, dtype in cols)
                frame = self.spark.createDataFrame([], schema)
            frame.createOrReplaceTempView(table)

    def _run(self, actions: list[Action], run: CheckRun, by_id: Mapping[str, Check],
             on_check: Callable[[Check], None] | None) -> None:
        for action in actions:
            started = time.perf_counter()
            with failing(f"running {f'check {action.label}, ' if action.label else ''}{action.kind} {action.name}", self.settings):
                self._act(action)
            key = action.label or f"spark:{action.name}"
            run.seconds_by_check[key] = run.seconds_by_check.get(key, 0.0) + time.perf_counter() - started
            if on_check and action.label in by_id:
                on_check(by_id[action.label])

    def _act(self, action: Action) -> None:
        if action.kind == "empty":
            frame = self.spark.createDataFrame([], action.sql)
        elif action.kind == "insert":
            table = self.spark.table(action.name)
            frame = self._materialise(table.unionByName(_positional(self.spark.sql(action.sql), table)))
        else:
            frame = self.spark.sql(action.sql)
            if action.kind == "table":
                frame = self._materialise(frame)
        frame.createOrReplaceTempView(action.name)

    def _materialise(self, frame: DataFrame) -> DataFrame:
        """``frame`` computed now and held as ``[spark] materialize`` says (:data:`engines.config.MATERIALIZE`)."""
        if self.settings.materialize == "cache":
            frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
            frame.count()
            return frame
        return frame.localCheckpoint(storageLevel=StorageLevel.DISK_ONLY if self.settings.materialize == "disk" else None)

    def _hand_back(self, con: duckdb.DuckDBPyConnection, copy: duckdb.DuckDBPyConnection) -> None:
        """``night_findings`` and ``night_trade_matches`` from Spark into ``con``, in DuckDB's types."""
        for name in RESULTS:
            cols = [(row[0], row[1]) for row in copy.execute(f"DESCRIBE {name}").fetchall()]
            arrow: pa.Table = self.spark.table(name).toArrow()
            con.register(f"_spark_{name}", arrow)
            try:
                typed = ", ".join(f"CAST({n} AS {t}) AS {n}" for n, t in cols)
                con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {typed} FROM _spark_{name}")
            finally:
                con.unregister(f"_spark_{name}")


def _positional(frame: DataFrame, like: DataFrame) -> DataFrame:
    """``frame``'s columns renamed to ``like``'s, by position (``INSERT INTO t SELECT …``)."""
    if len(frame.columns) != len(like.columns):
        raise NotPortable(f"INSERT of {len(frame.columns)} columns into a table of {len(like.columns)}")
    return frame.toDF(*like.columns)


