"""Validate a night with Great Expectations and keep the results in the warehouse.

Each suite validates a pandas frame that DuckDB selects from the warehouse through Arrow:
only tonight's rows and the columns the suite reads.  GX Core's SQL path on the DuckDB file
(SQLAlchemy + ``duckdb_engine``) was measured instead (``bench/bench_dq_paths.py``,
``BENCHMARKS.md``): as shipped it returns no rows, because GX runs each metric query in a
pooled connection it releases before fetching the rows, and a DuckDB cursor's result goes
with its connection (GX keeps one connection only for sqlite, SQL Server, BigQuery and
Databricks); with one kept connection it is faster, but GX has no regular expressions for
DuckDB (``Regex is not supported for dialect duckdb``), the USCC expectation is pandas-only,
and the night's process already holds the warehouse open with its own settings.

Each suite runs as a GX checkpoint; GX then builds the night's Data Docs site under
``reports/<date>/data_docs/`` from the stored validation results; each expectation's outcome becomes a row of ``dq_results``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import statistics
from dataclasses import dataclass
from pathlib import Path

import duckdb
import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig

from connectors.warehouse import create_asof_views
from quality.registry import NO_DELIVERY_SOURCE
from quality.suites import CONSISTENCY, Frame, consistency_expectation, table_suites, volume_expectation

SAMPLE_SIZE = 20
"""Unexpected values kept per expectation, each with its file and position."""

DQ_RESULTS_DDL = """
CREATE TABLE IF NOT EXISTS dq_results (
  business_date DATE NOT NULL, source VARCHAR NOT NULL, suite VARCHAR NOT NULL,
  expectation VARCHAR NOT NULL, dimension VARCHAR NOT NULL, success BOOLEAN NOT NULL,
  observed_value VARCHAR, element_count BIGINT, unexpected_count BIGINT,
  unexpected_share DOUBLE, sample VARCHAR)
"""


@dataclass(frozen=True)
class NightValidation:
    """What the night's validation produced."""

    results: int
    failed: int
    data_docs: Path


def _describe(config: object) -> str:
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}  # type: ignore[attr-defined]
    target = kwargs.get("column") or kwargs.get("column_list") or (
        f"{kwargs['column_A']}>={kwargs['column_B']}" if "column_A" in kwargs else "table")
    return f"{config.type}({target})"  # type: ignore[attr-defined]


def _frame(con: duckdb.DuckDBPyConnection, frame: Frame, day: dt.date) -> pd.DataFrame:
    return con.execute(frame.sql.replace("$day", f"DATE '{day.isoformat()}'")).df()


def _trailing_median(con: duckdb.DuckDBPyConnection, table: str, history: list[dt.date]) -> float | None:
    """The median of the table's rows over the trailing nights (nights without rows count as 0)."""
    if not history:
        return None
    counts = dict(con.execute(
        f"SELECT business_date, count(*) FROM {table} WHERE list_contains(?, business_date) GROUP BY ALL",
        [history]).fetchall())
    return statistics.median(counts.get(d, 0) for d in history)


def _night_context(docs: Path) -> gx.data_context.AbstractDataContext:
    """An ephemeral GX context whose Data Docs site is ``docs`` (emptied first), without progress bars."""
    shutil.rmtree(docs, ignore_errors=True)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    context.add_data_docs_site(site_name="night", site_config={
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    return context


def validate_night(
    con: duckdb.DuckDBPyConnection,
    day: dt.date,
    reports: Path,
    *,
    history: list[dt.date],
    volume_min_percent: int,
    volume_min_median: int,
) -> NightValidation:
    """Run every suite over the night ``day``, replace its ``dq_results`` rows, build its Data Docs.

    ``history``: the trailing nights volumes are judged against (empty: too little history).
    """
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    create_asof_views(con, day)
    paths = dict(con.execute("SELECT sha256, rel_path FROM files WHERE business_date = ?", [day]).fetchall())
    docs = reports / "data_docs"
    context = _night_context(docs)
    datasource = context.data_sources.add_pandas(name="warehouse")
    plans: list[tuple[Frame, list[gxe.Expectation]]] = []
    for table, (frame, expectations) in table_suites(day).items():
        median = _trailing_median(con, table, history)
        plans.append((frame, [*expectations, volume_expectation(median, volume_min_percent, volume_min_median)]))
    plans += [(frame, [consistency_expectation(column)]) for frame, column in CONSISTENCY]
    rows: list[tuple] = []
    for frame, expectations in plans:  # one checkpoint per frame; one frame in memory at a time
        name = f"{frame.suite}.{frame.source}" if frame.suite != frame.source else frame.suite
        suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
        definition = context.validation_definitions.add(gx.ValidationDefinition(
            name=name, data=datasource.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe("night"),
            suite=suite))
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=name, validation_definitions=[definition],
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE},
        ))
        data = _frame(con, frame, day)
        outcome = checkpoint.run(batch_parameters={"dataframe": data})
        for result in outcome.run_results.values():
            rows += [_row(day, frame, name, r, data, paths) for r in result.results]
    context.build_data_docs(site_names=["night"])
    store_results(con, day, rows)
    return NightValidation(len(rows), sum(1 for r in rows if not r[5]), docs / "index.html")


def store_results(con: duckdb.DuckDBPyConnection, day: dt.date, rows: list[tuple]) -> None:
    """Replace the night's ``dq_results`` rows (tuples in the table's column order)."""
    con.execute(DQ_RESULTS_DDL)
    con.execute("DELETE FROM dq_results WHERE business_date = ?", [day])
    if rows:
        con.executemany("INSERT INTO dq_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def no_delivery_result(day: dt.date) -> tuple:
    """The ``dq_results`` row of a night without any delivered file: its completeness failed, nothing validated."""
    return (day, NO_DELIVERY_SOURCE, "sources", "expect_night_to_deliver_files", "completeness", False,
            "0 files", 0, None, None, None)


def _raised(info: dict) -> str | None:
    """The message of an exception GX caught while validating (flat, or keyed by metric)."""
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    nested = [v for v in info.values() if isinstance(v, dict) and v.get("raised_exception")]
    return str(nested[0].get("exception_message")) if nested else None


def _row(day: dt.date, frame: Frame, suite: str, result: object, data: pd.DataFrame, paths: dict[str, str]) -> tuple:
    config = result.expectation_config  # type: ignore[attr-defined]
    outcome = result.result or {}  # type: ignore[attr-defined]
    error = _raised(result.exception_info or {})  # type: ignore[attr-defined]
    if error is not None:
        raise RuntimeError(f"data quality suite {suite}: {_describe(config)} could not run: {error}")
    sample = [
        {"value": str(value), "file": paths.get(data.at[index, "src_sha256"], data.at[index, "src_sha256"]),
         "pos": int(data.at[index, "src_pos"])}
        for value, index in zip(outcome.get("partial_unexpected_list", []), outcome.get("partial_unexpected_index_list", []), strict=False)
    ]
    count = outcome.get("unexpected_count")
    share = outcome.get("unexpected_percent")
    return (
        day, frame.source, suite, _describe(config), config.meta.get("dimension", "validity"),
        bool(result.success),  # type: ignore[attr-defined]
        None if outcome.get("observed_value") is None else str(outcome["observed_value"]),
        outcome.get("element_count"), count, None if share is None else share / 100,
        json.dumps(sample, ensure_ascii=False) if sample else None,
    )
