"""The night's data quality in Dagster: the ``data_quality`` step and the gate on the reports.

The ``data_quality`` step (:func:`measure_night`) runs after ``typed_tables``, as a step of the night (see
:mod:`integration.assets`): it checks tonight's sources against the registry, validates the
typed tables with the GX suites and writes Data Docs and the scorecard
(:func:`quality.night.run_data_quality`); ``findings`` then turns the source issues into
``DQ_*`` findings.  Before ``nightly_reports`` publishes anything, :func:`hold_if_blocked`
stops the night when a blocking issue stands (a required source missing, schema drift,
quarantine above the threshold): the findings are kept in the warehouse and the scorecard
says why, but no report is published as final and the night fails naming the cause.
"""

import datetime as dt
from typing import Any

import dagster as dg
import duckdb

from connectors.errors import ScfError
from integration.resources import ScfHome
from quality.night import QualityNight, run_data_quality
from reconciliation.catalogue import default_params


class ReportsHeld(ScfError):
    """A blocking data-quality issue keeps the night's reports from being published."""


def measure_night(context: dg.AssetExecutionContext, scf: ScfHome) -> QualityNight:
    """Run the data-quality stage for the night being materialized, with the home's parameters."""
    settings = scf.settings()
    with settings.open_warehouse() as warehouse:
        return run_data_quality(
            warehouse.con, dt.date.fromisoformat(context.partition_key), home=settings.home,
            objects=settings.archive_root / "objects", params={**default_params(), **settings.check_params},
        )


def quality_metadata(night: QualityNight) -> dict[str, Any]:
    """What the step reports to Dagster."""
    return {"source_issues": len(night.issues), "blocking_issues": len(night.blocking),
            "expectations": night.validation.results, "expectations_failed": night.validation.failed,
            "reports": [str(p) for p in night.reports]}


def hold_if_blocked(con: duckdb.DuckDBPyConnection, day: dt.date) -> None:
    """Raise :class:`ReportsHeld` when a blocking data-quality issue of ``day`` stands."""
    blocking = [d for (d,) in con.execute(
        "SELECT detail FROM dq_source_issues WHERE business_date = ? AND blocking ORDER BY check_id, source",
        [day]).fetchall()]
    if blocking:
        raise ReportsHeld(
            f"the reports of {day} are held by data quality: {' '.join(blocking)} "
            f"Fix the delivery and run the night again (scf quality --date {day} shows the scorecard)"
        )
