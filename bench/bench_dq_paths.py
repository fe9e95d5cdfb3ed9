"""Where GX validates a night: its SQL path on the DuckDB file, or pandas frames (not a test).

Builds a DuckDB file with one table of ``--rows`` rows shaped like a night's financings
(an id, a 20-digit invoice number, an amount, 10% of a column null), then runs the same
expectations through

* GX's SQL datasource (SQLAlchemy + ``duckdb_engine``), as shipped and with GX's persisted
  connection (what ``quality.validate`` now does, with its own format and USCC metrics), and
* a pandas frame that DuckDB selects through Arrow, as ``quality.validate`` does,

and prints, per path, the seconds of a second run and what each expectation returned.

    .venv/bin/python bench/bench_dq_paths.py --rows 100000
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import duckdb
import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.data_context.types.base import ProgressBarsConfig

SELECT = ("SELECT 'F' || lpad(range::VARCHAR, 12, '0') AS financing_id, lpad((range * 7)::VARCHAR, 20, '0') AS invoice_no, "
          "CASE WHEN range % 10 = 0 THEN NULL ELSE range * 100 END AS amount_fen FROM range({rows})")


def expectations() -> list[gxe.Expectation]:
    """The kinds of expectation the night's suites hold (quality/suites.py)."""
    return [gxe.ExpectColumnValuesToNotBeNull(column="amount_fen"), gxe.ExpectColumnValuesToBeUnique(column="financing_id"),
            gxe.ExpectColumnValuesToBeBetween(column="amount_fen", min_value=1), gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectColumnValuesToMatchRegex(column="invoice_no", regex=r"^\d{20}$")]


def outcome(results: object) -> list[str]:
    """Each expectation's type and success, or the error GX caught."""
    lines = []
    for r in results.results:  # type: ignore[attr-defined]
        info = r.exception_info or {}
        nested = [v for v in info.values() if isinstance(v, dict) and v.get("raised_exception")]
        error = info.get("exception_message") if info.get("raised_exception") else (nested[0]["exception_message"] if nested else None)
        lines.append(f"  {r.expectation_config.type}: {'error: ' + error if error else r.success}")
    return lines


def context() -> gx.data_context.AbstractDataContext:
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return ctx


def sql_path(db: Path, persisted: bool) -> tuple[float, list[str]]:
    """GX's SQL datasource on the DuckDB file (``persisted``: one connection kept, as GX does for sqlite)."""
    import great_expectations.execution_engine.sqlalchemy_execution_engine as engine

    class DuckDbDialect(str):
        value = "duckdb"

    saved = engine._PERSISTED_CONNECTION_DIALECTS
    if persisted:
        engine._PERSISTED_CONNECTION_DIALECTS = (*saved, DuckDbDialect("duckdb"))
    try:
        ctx = context()
        batch = ctx.data_sources.add_sql(name="wh", connection_string=f"duckdb:///{db}").add_table_asset(
            name="night", table_name="night").add_batch_definition_whole_table("all")
        suite = ctx.suites.add(gx.ExpectationSuite(name="s", expectations=expectations()))
        run = ctx.validation_definitions.add(gx.ValidationDefinition(name="v", data=batch, suite=suite))
        started = time.perf_counter()
        results = run.run(result_format={"result_format": "SUMMARY", "partial_unexpected_count": 20})
        return time.perf_counter() - started, outcome(results)
    finally:
        engine._PERSISTED_CONNECTION_DIALECTS = saved


def pandas_path(db: Path) -> tuple[float, list[str]]:
    """A pandas frame selected through Arrow, validated by GX (selection included in the time)."""
    ctx = context()
    batch = ctx.data_sources.add_pandas(name="pd").add_dataframe_asset(name="night").add_batch_definition_whole_dataframe("all")
    suite = ctx.suites.add(gx.ExpectationSuite(name="s", expectations=expectations()))
    run = ctx.validation_definitions.add(gx.ValidationDefinition(name="v", data=batch, suite=suite))
    started = time.perf_counter()
    with duckdb.connect(str(db), read_only=True) as con:
        frame = con.execute("SELECT * FROM night").df()
    results = run.run(batch_parameters={"dataframe": frame}, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 20})
    return time.perf_counter() - started, outcome(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "night.duckdb"
        with duckdb.connect(str(db)) as con:
            con.execute("CREATE TABLE night AS " + SELECT.format(rows=args.rows))
        for name, path in (("pandas frame", lambda: pandas_path(db)),
                           ("GX SQL, as shipped", lambda: sql_path(db, persisted=False)),
                           ("GX SQL, persisted connection", lambda: sql_path(db, persisted=True))):
            first, _ = path()  # the first run also pays GX's one-time imports and metric registration
            seconds, lines = path()
            print(f"{name}: {seconds:.2f} s on {args.rows} rows (first run {first:.2f} s)", *lines, sep="\n", flush=True)


if __name__ == "__main__":
    main()
