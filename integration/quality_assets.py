"""The night's data quality in Dagster: the ``data_quality`` asset and its asset checks.

``data_quality`` runs after ``typed_tables``: it checks tonight's sources against the
registry, validates the typed tables with the GX suites and writes Data Docs and the
scorecard (:func:`quality.night.run_data_quality`).  ``findings`` waits for it, so the
``DQ_*`` findings are among the night's findings.

Checks that *warn* (on ``data_quality``): every expectation met, every learned source
present and not empty, volumes in line.  Checks that *block* (on ``findings``, so the
night's findings are kept but ``nightly_reports`` does not run and the run fails, red in
the UI for that partition): a required source missing, schema drift, quarantine above
the threshold.
"""

import time
from collections.abc import Iterator

import dagster as dg
import duckdb

from integration.assets import PARTITIONS, _report, business_date_of, findings, typed_tables
from integration.resources import ScfHome
from quality.night import run_data_quality
from reconciliation.catalogue import default_params

BLOCKING_CHECKS: dict[str, str] = {
    "required_sources_present": "DQ_SOURCE_MISSING",
    "schemas_unchanged": "DQ_SCHEMA_DRIFT",
    "quarantine_within_threshold": "DQ_QUARANTINE_RATE",
}
"""Blocking asset check name → the registry check whose blocking issues fail it."""

_WARNINGS = (
    dg.AssetCheckSpec("expectations_met", asset="data_quality", partitions_def=PARTITIONS,
                      description="Every expectation of the night's GX suites is met (see dq_results, Data Docs)."),
    dg.AssetCheckSpec("expected_sources_delivered", asset="data_quality", partitions_def=PARTITIONS,
                      description="Every source learned from the trailing nights delivered records tonight."),
    dg.AssetCheckSpec("volumes_in_line", asset="data_quality", partitions_def=PARTITIONS,
                      description="No source delivered far fewer rows than its trailing median."),
)


def _issues(con: duckdb.DuckDBPyConnection, day: object, check_ids: tuple[str, ...], *, blocking: bool | None) -> list[str]:
    flag = "" if blocking is None else f"AND blocking = {str(blocking).upper()}"
    return [d for (d,) in con.execute(
        f"SELECT detail FROM dq_source_issues WHERE business_date = ? AND list_contains(?, check_id) {flag} ORDER BY source",
        [day, list(check_ids)]).fetchall()]


def _result(name: str, asset: str, problems: list[str], severity: dg.AssetCheckSeverity) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=name, asset_key=asset, passed=not problems, severity=severity,
        metadata={"problems": len(problems), "detail": " ".join(problems) or "none"},
        description=" ".join(problems) or None,
    )


@dg.asset(partitions_def=PARTITIONS, group_name="nightly", deps=[typed_tables], check_specs=list(_WARNINGS))
def data_quality(context: dg.AssetExecutionContext, scf: ScfHome) -> Iterator[dg.MaterializeResult]:
    """Tonight's data quality for compliance: the sources against the registry (missing, empty,
    schema drift, quarantine rate, volume), the GX suites over every typed table (results in
    dq_results), and under reports/<date>/ the Data Docs site and the data_quality scorecard."""
    started = time.perf_counter()
    day = business_date_of(context)
    settings = scf.settings()
    with settings.open_warehouse() as warehouse:
        night = run_data_quality(
            warehouse.con, day, home=settings.home, objects=settings.archive_root / "objects",
            params={**default_params(), **settings.check_params},
        )
        failed = [f"{s}: {x}" for s, x in warehouse.con.execute(
            "SELECT suite, expectation FROM dq_results WHERE business_date = ? AND NOT success ORDER BY ALL", [day]).fetchall()]
        missing = _issues(warehouse.con, day, ("DQ_SOURCE_MISSING", "DQ_SOURCE_EMPTY"), blocking=False)
        volume = _issues(warehouse.con, day, ("DQ_VOLUME_DROP",), blocking=None)
    _report(context, started, f"{len(night.issues)} source issues ({len(night.blocking)} blocking), "
                              f"{night.validation.failed} of {night.validation.results} expectations failed")
    warn = dg.AssetCheckSeverity.WARN
    yield dg.MaterializeResult(
        metadata={"source_issues": len(night.issues), "blocking_issues": len(night.blocking),
                  "expectations": night.validation.results, "expectations_failed": night.validation.failed,
                  "reports": [str(p) for p in night.reports]},
        check_results=[
            _result("expectations_met", "data_quality", failed, warn),
            _result("expected_sources_delivered", "data_quality", missing, warn),
            _result("volumes_in_line", "data_quality", volume, warn),
        ],
    )


def _blocking_check(name: str, check_id: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=findings, name=name, blocking=True, partitions_def=PARTITIONS,
                    description=f"Blocking: no {check_id} issue that keeps the night's reports from being final.")
    def check(context: dg.AssetCheckExecutionContext, scf: ScfHome) -> dg.AssetCheckResult:
        with scf.settings().open_warehouse() as warehouse:
            problems = _issues(warehouse.con, context.partition_key, (check_id,), blocking=True)
        return _result(name, "findings", problems, dg.AssetCheckSeverity.ERROR)

    return check


QUALITY_ASSETS = [data_quality]
QUALITY_CHECKS = [_blocking_check(name, check_id) for name, check_id in BLOCKING_CHECKS.items()]
