"""The Dagster definitions: the nightly job, its schedule and resources; the weekly ``scf verify``.

``dagster dev -w workspace.yaml`` loads ``defs`` (built for the home in ``$SCF_HOME``), and
``scf run`` executes the same job, built by :func:`build_definitions` for its home's go-live
date, on the home's persistent instance: one code path and one run history for the night.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import dagster as dg

from integration.assets import nightly_assets, nightly_partitions
from integration.audit import audit_home
from integration.pool_jobs import pool_cut
from integration.resources import ScfHome
from integration.sensors import build_automation
from integration.settings import Settings, load_settings

NIGHTLY_JOB_NAME = "nightly_reconciliation"
VERIFY_CRON = "0 12 * * 0"
"""``scf verify`` (the whole archive and ledger) every Sunday at noon, China time: what the nightly gate
leaves to it is caught within a week (docs/OPERATIONS.md), away from the night's cut-off."""


@dg.op(description="scf verify: every archived object, every ledger entry, index column and fingerprint.")
def verify_home_op(scf: ScfHome) -> None:
    log = dg.get_dagster_logger()
    with scf.night_lock():  # never while a night runs (it would wait on the warehouse)
        for line in audit_home(scf.settings()).lines:
            log.info(line)


@dg.job(description="The full integrity check of the home (scf verify), run weekly by scf_verify_schedule.")
def scf_verify() -> None:
    verify_home_op()


verify_schedule = dg.ScheduleDefinition(name="scf_verify_schedule", job=scf_verify, cron_schedule=VERIFY_CRON,
                                        execution_timezone="Asia/Shanghai", default_status=dg.DefaultScheduleStatus.RUNNING)


def build_definitions(settings: Settings) -> dg.Definitions:
    """The nightly job, its cut-off schedule, sensors and resources for a home's settings."""
    return _definitions(settings.first_night, settings.cutoff)


@cache
def _definitions(first_night: dt.date, cutoff: dt.time) -> dg.Definitions:
    """Built once per (go-live date, cut-off): Dagster needs one definition object per job."""
    partitions = nightly_partitions(first_night)
    assets = nightly_assets(partitions)
    job = dg.define_asset_job(
        NIGHTLY_JOB_NAME,
        selection=dg.AssetSelection.assets(*assets),
        executor_def=dg.in_process_executor,  # one DuckDB file, one writer: steps run in order
        description="Land, parse, ledger, reconcile and report one business date.",
    )
    sensors, schedules = build_automation(job, cutoff)
    return dg.Definitions(assets=assets, jobs=[job, pool_cut, scf_verify], schedules=[*schedules, verify_schedule], sensors=sensors,
                          resources={"scf": ScfHome()})


def __getattr__(name: str) -> dg.Definitions:
    """``defs``: the definitions for ``$SCF_HOME``'s go-live date, built when Dagster asks for them."""
    if name == "defs":
        return build_definitions(load_settings())
    raise AttributeError(name)
