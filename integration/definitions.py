"""The Dagster definitions: the nightly job, its schedule and resources.

``dagster dev -w workspace.yaml`` loads these, and ``scf run`` executes the same job
in-process, so there is one code path for the night.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from integration.assets import NIGHTLY_ASSETS
from integration.quality_assets import QUALITY_ASSETS, QUALITY_CHECKS
from integration.resources import ScfHome

NIGHTLY_JOB_NAME = "nightly_reconciliation"

nightly_job = dg.define_asset_job(
    NIGHTLY_JOB_NAME,
    selection=dg.AssetSelection.assets(*NIGHTLY_ASSETS, *QUALITY_ASSETS),
    executor_def=dg.in_process_executor,  # one DuckDB file, one writer: steps run in order
    description="Land, parse, ledger, reconcile and report one business date.",
)



@dg.schedule(
    cron_schedule="30 3 * * *",
    job=nightly_job,
    execution_timezone="Asia/Shanghai",
    name="nightly_reconciliation_schedule",
)
def nightly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """At 03:30 China time, reconcile the business date that ended at midnight."""
    business_date = (context.scheduled_execution_time.date() - dt.timedelta(days=1)).isoformat()
    return dg.RunRequest(run_key=business_date, partition_key=business_date)


defs = dg.Definitions(
    assets=[*NIGHTLY_ASSETS, *QUALITY_ASSETS],
    asset_checks=QUALITY_CHECKS,
    jobs=[nightly_job],
    schedules=[nightly_schedule],
    resources={"scf": ScfHome()},
)
