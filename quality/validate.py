"""Validate a night with Great Expectations where it lives, in the warehouse, and keep the results.

Each suite runs on GX's SQL path over the DuckDB warehouse (SQLAlchemy + ``duckdb_engine``):
its frame — tonight's rows and the columns the suite reads (:class:`quality.suites.Frame`) —
is made a temporary table of one DuckDB cursor on the night's warehouse, and every metric of
its expectations is a query there; no row of the night is copied into Python.  Two things make
that work (``bench/bench_dq_paths.py``, ``BENCHMARKS.md``): GX runs each query in a connection
it returns to its pool before fetching the rows, and a DuckDB result goes with its connection,
so :class:`_KeptConnectionEngine` keeps one; and GX has no regular expressions for DuckDB, so
the format and USCC expectations have metrics of their own in SQL (:mod:`quality.suites`: a
format is DuckDB's ``regexp_full_match``; a USCC is looked up among the frame's distinct codes
that python-stdnum judged valid, a few thousand a night).
Unexpected rows are sampled with their file and position (``src_sha256``, ``src_pos``).

Each suite runs as a GX checkpoint; GX then builds the night's Data Docs site under
``reports/<date>/data_docs/`` from the stored validation results; each expectation's outcome
becomes a row of ``dq_results``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import statistics
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import duckdb_engine
import great_expectations as gx
import great_expectations.expectations as gxe
import sqlalchemy as sa
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.datasource.fluent import SQLDatasource
from great_expectations.execution_engine import SqlAlchemyExecutionEngine

from quality.registry import NO_DELIVERY_SOURCE
from quality.suites import (
    CONSISTENCY,
    ExpectColumnValuesToBeValidUscc,
    Frame,
    consistency_expectation,
    store_valid_usccs,
    table_suites,
    volume_expectation,
)
from warehouse.registry import create_table, insert_rows
from warehouse.results import DQ_RESULTS

SAMPLE_SIZE = 20
"""Unexpected values kept per expectation, each with its file and position."""
SAMPLE_INDEX = ("src_sha256", "src_pos")
"""The columns of a frame that locate an unexpected value: its file and position."""

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


def _trailing_median(con: duckdb.DuckDBPyConnection, table: str, history: list[dt.date]) -> float | None:
    """The median of the table's rows over the trailing nights (nights without rows count as 0)."""
    if not history:
        return None
    counts = dict(con.execute(  # the range first: the table's zone maps skip the nights before it (O(trailing nights))
        f"SELECT business_date, count(*) FROM {table} WHERE business_date BETWEEN ? AND ? AND list_contains(?, business_date) "
        "GROUP BY ALL", [min(history), max(history), history]).fetchall())
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
    more_results: Sequence[Any] = (),
) -> NightValidation:
    """Run every suite over the night ``day``, replace its ``dq_results`` rows, build its Data Docs.

    ``history``: the trailing nights volumes are judged against (empty: too little history);
    ``more_results``: ``dq_results`` rows the night judged outside GX (timeliness), stored with them.
    """
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    paths = dict(con.execute("SELECT sha256, rel_path FROM files WHERE business_date = ?", [day]).fetchall())
    docs = reports / "data_docs"
    context = _night_context(docs)
    plans: list[tuple[Frame, list[gxe.Expectation]]] = []
    for table, (frame, expectations) in table_suites(day).items():
        median = _trailing_median(con, table, history)
        plans.append((frame, [*expectations, volume_expectation(median, volume_min_percent, volume_min_median)]))
    plans += [(frame, [consistency_expectation(column)]) for frame, column in CONSISTENCY]
    rows: list[Any] = list(more_results)
    with con.cursor() as cursor:  # the night's own connection stays out of GX's transactions
        datasource, engine = _warehouse_source(context, cursor)
        for i, (frame, expectations) in enumerate(plans):  # one checkpoint per frame, one frame at a time
            name = f"{frame.suite}.{frame.source}" if frame.suite != frame.source else frame.suite
            table = f"dq_frame_{i}"
            cursor.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS "
                           + frame.sql.replace("$day", f"DATE '{day.isoformat()}'"))
            usccs = [e.column for e in expectations if isinstance(e, ExpectColumnValuesToBeValidUscc)]
            if usccs:
                store_valid_usccs(cursor, table, usccs)
            suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
            definition = context.validation_definitions.add(gx.ValidationDefinition(
                name=name, suite=suite,
                data=datasource.add_table_asset(name=name, table_name=table).add_batch_definition_whole_table("night")))
            checkpoint = context.checkpoints.add(gx.Checkpoint(
                name=name, validation_definitions=[definition],
                result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE,
                               "unexpected_index_column_names": list(SAMPLE_INDEX)},
            ))
            outcome = checkpoint.run()
            engine.end_transaction()
            cursor.execute(f"DROP TABLE {table}")
            for result in outcome.run_results.values():
                rows += [_row(day, frame, name, r, paths) for r in result.results]
    context.build_data_docs(site_names=["night"])
    store_results(con, day, rows)
    return NightValidation(len(rows), sum(1 for r in rows if not r.success), docs / "index.html")


class _KeptConnectionEngine(SqlAlchemyExecutionEngine):
    """GX's SQL execution engine running every query in one kept connection (GX does so only for
    the dialects it knows need it; a DuckDB result is lost once its connection goes back to the pool)."""

    @contextmanager
    def get_connection(self) -> Iterator[sa.Connection]:
        if self._connection is None:
            self._connection = self.engine.connect()
        yield self._connection

    def end_transaction(self) -> None:
        """Close the transaction GX's reads opened: the night's next frame is created on the same
        connection and must not be rolled back with it."""
        if self._connection is not None and self._connection.in_transaction():
            self._connection.commit()


def _warehouse_source(context: gx.data_context.AbstractDataContext,
                      cursor: duckdb.DuckDBPyConnection) -> tuple[SQLDatasource, _KeptConnectionEngine]:
    """A GX SQL data source whose every query runs on ``cursor`` (a connection of the night's warehouse),
    and its execution engine."""
    engine = sa.create_engine("duckdb:///:memory:", poolclass=sa.pool.StaticPool,
                              creator=lambda: duckdb_engine.ConnectionWrapper(cursor))
    datasource = context.data_sources.add_sql(name="warehouse", connection_string="duckdb:///:memory:",
                                              create_temp_table=False)  # the frames are temp tables already
    # GX builds its engines from the connection string; this one is handed over instead, as GX caches it
    datasource._engine = engine
    datasource._cached_connection_string = datasource.connection_string
    kept = _KeptConnectionEngine(engine=engine, create_temp_table=False)  # the frames are tables: no copy of them
    datasource._execution_engine = kept
    datasource._cached_execution_engine_kwargs = datasource.dict(
        exclude=datasource._get_exec_engine_excludes(), config_provider=datasource._config_provider, exclude_unset=False)
    return datasource, kept


def store_results(con: duckdb.DuckDBPyConnection, day: dt.date, rows: list[Any]) -> None:
    """Replace the night's ``dq_results`` rows (:attr:`DQ_RESULTS.Row`)."""
    create_table(con, DQ_RESULTS)
    con.execute("DELETE FROM dq_results WHERE business_date = ?", [day])
    insert_rows(con, DQ_RESULTS, rows)


def no_delivery_result(day: dt.date) -> Any:
    """The ``dq_results`` row of a night without any delivered file: its completeness failed, nothing validated."""
    return DQ_RESULTS.Row(
        business_date=day, source=NO_DELIVERY_SOURCE, suite="sources", expectation="expect_night_to_deliver_files",
        dimension="completeness", success=False, observed_value="0 files", element_count=0, unexpected_count=None,
        unexpected_share=None, sample=None)


def _raised(info: dict) -> str | None:
    """The message of an exception GX caught while validating (flat, or keyed by metric)."""
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    nested = [v for v in info.values() if isinstance(v, dict) and v.get("raised_exception")]
    return str(nested[0].get("exception_message")) if nested else None


def _sample_pairs(outcome: dict) -> list[tuple[Any, dict]]:
    """Each sampled unexpected value with the record it came from.  GX reads the values and the
    records' index columns in two queries with no common order, so a value is taken from its own
    index row (GX puts the expectation's column there, after the index columns) and paired by
    position only for an expectation over several columns."""
    wheres = outcome.get("partial_unexpected_index_list") or []
    own = [[v for k, v in where.items() if k not in SAMPLE_INDEX] for where in wheres]
    if all(len(values) == 1 for values in own):
        return [(values[0], where) for values, where in zip(own, wheres, strict=True)]
    return list(zip(outcome.get("partial_unexpected_list", []), wheres, strict=False))


def _row(day: dt.date, frame: Frame, suite: str, result: object, paths: dict[str, str]) -> Any:
    config = result.expectation_config  # type: ignore[attr-defined]
    outcome = result.result or {}  # type: ignore[attr-defined]
    error = _raised(result.exception_info or {})  # type: ignore[attr-defined]
    if error is not None:
        raise RuntimeError(f"data quality suite {suite}: {_describe(config)} could not run: {error}")
    sample = [
        {"value": str(value), "file": paths.get(where["src_sha256"], where["src_sha256"]), "pos": int(where["src_pos"])}
        for value, where in _sample_pairs(outcome)
    ]
    count = outcome.get("unexpected_count")
    share = outcome.get("unexpected_percent")
    return DQ_RESULTS.Row(
        business_date=day, source=frame.source, suite=suite, expectation=_describe(config),
        dimension=config.meta.get("dimension", "validity"),
        success=bool(result.success),  # type: ignore[attr-defined]
        observed_value=None if outcome.get("observed_value") is None else str(outcome["observed_value"]),
        element_count=outcome.get("element_count"), unexpected_count=count,
        unexpected_share=None if share is None else share / 100,
        sample=json.dumps(sample, ensure_ascii=False) if sample else None,
    )
