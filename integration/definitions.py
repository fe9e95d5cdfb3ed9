"""The Dagster definitions: the nightly job, its schedule and resources.

``dagster dev -w workspace.yaml`` loads ``defs`` (built for the home in ``$SCF_HOME``), and
``scf run`` executes the same job, built by :func:`build_definitions` for its home's go-live
date, on the home's persistent instance: one code path and one run history for the night.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import dagster as dg

from integration import nights
from integration.assets import nightly_assets, nightly_partitions
from integration.resources import ScfHome
from integration.settings import load_settings

NIGHTLY_JOB_NAME = "nightly_reconciliation"
NIGHTLY_TAG = "scf/nightly"  # dagster.yaml limits runs carrying it to one at a time


@dg.failure_hook(required_resource_keys={"scf"})
def record_failure(context: dg.HookContext) -> None:
    """Record a failed step's night as failed in ``night_runs``, naming the step and the cause."""
    error = context.op_exception
    message = f"{context.step_key}: {type(error).__name__}: {error}" if error else context.step_key
    with context.resources.scf.settings().open_warehouse() as warehouse:
        nights.record_end(warehouse.con, context.run_id, nights.FAILED, message)


@cache
def build_definitions(first_night: dt.date) -> dg.Definitions:
    """The nightly job, schedule and resources for a home whose first night is ``first_night``."""
    partitions = nightly_partitions(first_night)
    assets = nightly_assets(partitions)
    job = dg.define_asset_job(
        NIGHTLY_JOB_NAME,
        selection=dg.AssetSelection.assets(*assets),
        executor_def=dg.in_process_executor,  # one DuckDB file, one writer: steps run in order
        description="Land, parse, ledger, reconcile and report one business date.",
        run_tags={NIGHTLY_TAG: "true"},
        hooks={record_failure},
    )

    @dg.schedule(
        cron_schedule="30 3 * * *",
        job=job,
        execution_timezone="Asia/Shanghai",
        name="nightly_reconciliation_schedule",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    def nightly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        """At 03:30 China time, reconcile the business date that ended at midnight."""
        business_date = context.scheduled_execution_time.date() - dt.timedelta(days=1)
        if business_date < first_night:
            return dg.SkipReason(f"{business_date} is before the first night {first_night}")
        return dg.RunRequest(run_key=business_date.isoformat(), partition_key=business_date.isoformat())

    return dg.Definitions(assets=assets, jobs=[job], schedules=[nightly_schedule], resources={"scf": ScfHome()})


def __getattr__(name: str) -> dg.Definitions:
    """``defs``: the definitions for ``$SCF_HOME``'s go-live date, built when Dagster asks for them."""
    if name == "defs":
        return build_definitions(load_settings().first_night)
    raise AttributeError(name)
