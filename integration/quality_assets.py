"""The night's data quality in Dagster: the ``data_quality`` step and the gate on the reports.

The ``data_quality`` step (:func:`measure_night`) runs after ``typed_tables``, as a step of the night (see
:mod:`integration.assets`): it checks tonight's sources against the registry, validates the
typed tables with the GX suites and writes Data Docs and the scorecard
(:func:`quality.night.run_data_quality`); ``findings`` then turns the source issues into
``DQ_*`` findings.  Before ``nightly_reports`` publishes anything, :func:`hold_if_blocked`
stops the night when a blocking issue stands (a required source missing, schema drift,
quarantine above the threshold): the findings are kept in the warehouse and the scorecard
says why, but no report is published as final and the night fails naming the cause.

The night's asset checks (:data:`NIGHT_CHECKS`), evaluated per partition, show the same in
Dagster's UI: the blocking ones (a required source missing, schema drift, quarantine above
the threshold, the home failing verification) are red when the night's reports are held;
the others warn.  They are results of the night's step: Dagster records them for the night
even when it fails.
"""

import datetime as dt
import warnings
from dataclasses import dataclass
from typing import Any

import dagster as dg
import duckdb

from foundation.errors import IntegrityError, ScfError
from integration.nights import BUSINESS_TZ
from integration.resources import ScfHome
from quality.night import QualityNight, run_data_quality
from quality.registry import NoDeliveryError
from quality.timeliness import arrival_deadline
from reconciliation.catalogue import default_params


class ReportsHeld(ScfError):
    """A blocking data-quality issue keeps the night's reports from being published."""


def measure_night(context: dg.AssetExecutionContext, scf: ScfHome) -> QualityNight:
    """Run the data-quality stage for the night being materialized, with the home's parameters."""
    settings = scf.settings()
    day = dt.date.fromisoformat(context.partition_key)
    files = settings.archive().night_manifest(day).files
    with settings.open_warehouse() as warehouse:
        return run_data_quality(
            warehouse.con, day, home=settings.home,
            objects=settings.archive_root / "objects", params={**default_params(), **settings.check_params},
            files=files, deadline=arrival_deadline(day, settings.cutoff, BUSINESS_TZ),
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


@dataclass(frozen=True)
class NightCheck:
    """An asset check of the night: on ``asset``, failing on the night's source issues of
    ``check_ids`` (the blocking ones if ``blocking``, else the others)."""

    name: str
    asset: str
    blocking: bool
    check_ids: tuple[str, ...]
    description: str


INTEGRITY_CHECK = "home_verified"
EXPECTATIONS_CHECK = "expectations_pass"
NIGHT_CHECKS = (
    NightCheck("required_sources_present", "data_quality", True, ("DQ_SOURCE_MISSING",),
               "Every source the configuration requires (dq_required_sources) delivered."),
    NightCheck("schema_unchanged", "data_quality", True, ("DQ_SCHEMA_DRIFT",),
               "No CSV source delivered new, missing or renamed columns."),
    NightCheck("quarantine_within_threshold", "data_quality", True, ("DQ_QUARANTINE_RATE",),
               "No source had more records quarantined than dq_quarantine_max_percent."),
    NightCheck("sources_complete_and_on_time", "data_quality", False,
               ("DQ_SOURCE_MISSING", "DQ_SOURCE_EMPTY", "DQ_SOURCE_LATE", "DQ_VOLUME_DROP"),
               "Every expected source delivered records, before the cut-off, in its usual volume."),
    NightCheck(EXPECTATIONS_CHECK, "data_quality", False, (),
               "Every Great Expectations expectation of the night passed (dq_results)."),
    NightCheck(INTEGRITY_CHECK, "voucher_ledger", True, (),
               "The keys, archive, manifest and ledger verified before landing, and the ledger after the night's entries."),
)
"""The night's asset checks; the blocking ones fail with severity ERROR and hold the reports."""


def night_check_specs(partitions: dg.PartitionsDefinition) -> list[dg.AssetCheckSpec]:
    """The specs of :data:`NIGHT_CHECKS`, one result per partition (night)."""
    with warnings.catch_warnings():  # partitioned asset checks are a preview feature of Dagster 1.13
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return [dg.AssetCheckSpec(c.name, asset=c.asset, description=c.description, blocking=c.blocking,
                                  partitions_def=partitions) for c in NIGHT_CHECKS]


def _result(check: NightCheck, passed: bool, metadata: dict[str, Any]) -> dg.AssetCheckResult:
    severity = dg.AssetCheckSeverity.ERROR if check.blocking else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(asset_key=check.asset, check_name=check.name, passed=passed, severity=severity,
                               metadata=metadata)


def quality_check_results(con: duckdb.DuckDBPyConnection, day: dt.date) -> list[dg.AssetCheckResult]:
    """The data-quality checks of night ``day``, from what its ``data_quality`` step stored."""
    issues = con.execute("SELECT check_id, blocking, source, detail FROM dq_source_issues WHERE business_date = ? "
                         "ORDER BY check_id, source", [day]).fetchall()
    failed = [e for (e,) in con.execute("SELECT suite || ': ' || expectation FROM dq_results "
                                        "WHERE business_date = ? AND NOT success ORDER BY 1", [day]).fetchall()]
    results = []
    for check in NIGHT_CHECKS:
        if check.name == EXPECTATIONS_CHECK:
            results.append(_result(check, not failed, {"failed": len(failed), "expectations": failed[:20]}))
        elif check.asset == "data_quality":
            found = [(c, s, d) for c, b, s, d in issues if c in check.check_ids and b == check.blocking]
            results.append(_result(check, not found, {"issues": len(found), "sources": [s for _, s, _ in found],
                                                      "details": [d for _, _, d in found][:20]}))
    return results


def integrity_check_result(error: BaseException | None) -> dg.AssetCheckResult | None:
    """The integrity check after the ledger step succeeded (``error`` None) or after the night
    failed with ``error`` (a result only for an :class:`IntegrityError`)."""
    check = next(c for c in NIGHT_CHECKS if c.name == INTEGRITY_CHECK)
    if error is None:
        return _result(check, True, {})
    if isinstance(error, IntegrityError):
        return _result(check, False, {"error": str(error)})
    return None


def failure_check_results(scf: ScfHome, day: dt.date, error: BaseException) -> list[dg.AssetCheckResult]:
    """The asset checks a night that failed with ``error`` still decides: the data-quality ones when
    it had no delivery at all (stored by its ``data_quality`` step: red), the integrity one when
    the home failed verification."""
    results = []
    if isinstance(error, NoDeliveryError):
        with scf.settings().open_warehouse() as warehouse:
            results += quality_check_results(warehouse.con, day)
    return results + list(filter(None, [integrity_check_result(error)]))
