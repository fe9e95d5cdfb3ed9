"""The sensors and the cut-off schedule that run the nights unattended (docs/OPERATIONS.md).

- ``nightly_arrival_sensor`` launches the oldest night waiting to run once its delivery is
  complete: the local inbox's night folder holds the marker file ``.complete``.
- ``nightly_reconciliation_schedule`` is the cut-off: at ``[nightly] cutoff`` (Asia/Shanghai)
  it launches every night still waiting, complete or not (missing sources become findings).
- ``nightly_failure_sensor`` writes an alert for every failed run (see :mod:`integration.alerts`).

Launches wait while a night is queued or running, stop at a failed night, and follow the
order rule of :mod:`integration.nights`; the run queue runs them one at a time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import dagster as dg
import duckdb

from integration import nights
from integration.alerts import original_error, write_alert
from integration.resources import ScfHome
from integration.settings import Settings

COMPLETE_MARKER = ".complete"
ACTIVE = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
          dg.DagsterRunStatus.STARTED]


def _error_of(event: dg.DagsterEvent) -> Any:
    """The error a failure event carries (a ``SerializableErrorInfo``), or None."""
    return getattr(event.event_specific_data, "error", None)


def _due(instance: dg.DagsterInstance, settings: Settings) -> list[dt.date] | str:
    """The nights due now, or why none can be launched."""
    if instance.get_run_records(dg.RunsFilter(statuses=ACTIVE), limit=1):
        return "a night is queued or running"
    runs: dict[dt.date, nights.NightRun] = {}
    if settings.warehouse_path.exists():
        try:
            with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
                runs = nights.latest_runs(con)
        except duckdb.IOException:
            return "the warehouse is in use"
    due = nights.due_nights(nights.delivered_nights(settings), runs, settings.first_night, nights.last_finished_night())
    if not due:
        failed = [d for d, r in runs.items() if r.status == nights.FAILED]
        return f"night {min(failed)} failed: re-run it (scf run --date)" if failed else "no night is waiting"
    return due


def _request(day: dt.date, settings: Settings, why: str) -> dg.RunRequest:
    return dg.RunRequest(run_key=f"{why}:{day}:{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}",
                         partition_key=day.isoformat(), tags={"scf/launched_by": why})


def build_automation(job: dg.UnresolvedAssetJobDefinition, cutoff: dt.time) -> tuple[list, list]:
    """The arrival and failure sensors and the cut-off schedule of ``job`` (all on by default)."""

    @dg.sensor(job=job, name="nightly_arrival_sensor", minimum_interval_seconds=30,
               default_status=dg.DefaultSensorStatus.RUNNING)
    def arrival(context: dg.SensorEvaluationContext, scf: ScfHome) -> dg.RunRequest | dg.SkipReason:
        """Launch the oldest night waiting to run once its folder holds the ``.complete`` marker."""
        settings = scf.settings()
        due = _due(context.instance, settings)
        if isinstance(due, str):
            return dg.SkipReason(due)
        night = due[0]
        if settings.sftp is None and (settings.inbox / night.isoformat() / COMPLETE_MARKER).exists():
            return _request(night, settings, "arrival")
        return dg.SkipReason(f"night {night}: waiting for its {COMPLETE_MARKER} marker or the cut-off")

    @dg.schedule(cron_schedule=f"{cutoff.minute} {cutoff.hour} * * *", job=job, execution_timezone="Asia/Shanghai",
                 name="nightly_reconciliation_schedule", default_status=dg.DefaultScheduleStatus.RUNNING)
    def cut_off(context: dg.ScheduleEvaluationContext, scf: ScfHome) -> list[dg.RunRequest] | dg.SkipReason:
        """At the cut-off (China time), launch every night still waiting, in order, complete or not."""
        settings = scf.settings()
        due = _due(context.instance, settings)
        if isinstance(due, str):
            return dg.SkipReason(due)
        return [_request(night, settings, "cutoff") for night in due]

    @dg.run_failure_sensor(name="nightly_failure_sensor", default_status=dg.DefaultSensorStatus.RUNNING)
    def failure(context: dg.RunFailureSensorContext, scf: ScfHome) -> None:
        """Write an alert naming the night, the step and the cause of a failed run."""
        settings = scf.settings()
        run = context.dagster_run
        night = run.tags.get("dagster/partition") or run.tags.get("dagster/asset_partition_range_start") or "unknown"
        causes = [original_error(error) for error in map(_error_of, context.get_step_failure_events()) if error is not None]
        run_error = _error_of(context.failure_event)
        if not causes and run_error is not None:
            causes = [original_error(run_error)]
        path = write_alert(settings.home, night, run.run_id, "; ".join(causes) or "the run failed",
                           list(settings.alert_command))
        context.log.info(f"alert written: {path}")

    return [arrival, failure], [cut_off]
