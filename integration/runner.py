"""Run nights of the nightly Dagster job on the home's persistent instance (what ``scf run`` does).

:func:`run_night` runs one night as it is asked; :func:`plan_night` and :func:`nights_of_inbox`
decide *which* nights to run and in what order (see :mod:`integration.nights`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg

from foundation.errors import ScfError
from integration import nights
from integration.alerts import original_error
from integration.definitions import NIGHTLY_JOB_NAME, build_definitions
from integration.instance import instance_for
from integration.settings import Settings, load_settings


class NightFailedError(ScfError):
    """A night's run failed; the message names the night, the step and the original error,
    ``traces`` holds the failed step's traces (for the log file)."""

    def __init__(self, message: str, traces: list[str]) -> None:
        super().__init__(message)
        self.traces = traces


def run_night(
    business_date: dt.date,
    *,
    home: Path | None = None,
    inbox: Path | None = None,
    quiet_dagster: bool = True,
    full: bool = False,
) -> dg.ExecuteInProcessResult:
    """Execute the nightly job for ``business_date`` on the home's Dagster instance.

    ``home`` and ``inbox`` configure the ``scf`` resource (empty: environment / defaults).
    A night outside the nights offered raises :class:`~integration.nights.NightOrderError`;
    a night whose earlier nights have not all succeeded fails (use :func:`plan_night`).
    ``full`` recomputes the night from every night instead of building on the last (the oracle).
    Failures of the run do not raise: the caller inspects ``result.success``.
    """
    settings = load_settings(home, inbox)
    reason = nights.out_of_range(business_date, settings.first_night, nights.last_finished_night())
    if reason:
        raise nights.NightOrderError(f"night {reason}")
    run_config: dict = {
        "resources": {"scf": {"config": {"home": str(settings.home), "inbox": str(inbox or ""), "full": full}}},
    }
    if quiet_dagster:
        run_config["loggers"] = {"console": {"config": {"log_level": "CRITICAL"}}}  # failures: failure_messages
    with instance_for(settings.home) as instance:  # resolve the job while its instance is Dagster's current one
        job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB_NAME)
        return job.execute_in_process(
            run_config=run_config,
            instance=instance,
            partition_key=business_date.isoformat(),
            raise_on_error=False,
        )


def plan_night(settings: Settings, night: dt.date, *, catch_up: bool) -> nights.Plan:
    """The nights running ``night`` takes, in order (refused if earlier nights are missing and not ``catch_up``)."""
    with settings.open_warehouse() as warehouse:
        runs = nights.latest_runs(warehouse.con)
    return nights.plan(night, nights.nights_for_order(settings), runs, settings.first_night, catch_up=catch_up)


def nights_of_inbox(settings: Settings) -> tuple[list[dt.date], list[tuple[dt.date, str]]]:
    """Every night the inbox holds or the home has run, in order, and the folders outside the nights offered, with why."""
    with settings.open_warehouse() as warehouse:
        runs = nights.latest_runs(warehouse.con)
    last = nights.last_finished_night()
    to_run, skipped = [], []
    for day in sorted({*nights.delivered_nights(settings), *runs}):
        reason = nights.out_of_range(day, settings.first_night, last)
        if reason:
            skipped.append((day, reason))
        else:
            to_run.append(day)
    return to_run, skipped


def failure_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    """The original error of a failed run (``<asset>: <message>``, the night's step names the
    asset), or of the run itself when it failed before its step (e.g. another night held the home)."""
    steps, run = [], []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error is not None:
            steps.append(original_error(event.step_failure_data.error))
        elif event.is_job_failure and event.job_failure_data.error is not None:
            run.append(original_error(event.job_failure_data.error))
    return steps or run


def raise_if_failed(result: dg.ExecuteInProcessResult, business_date: dt.date) -> None:
    """Raise :class:`NightFailedError` naming the night, the step and the original error of a failed run."""
    if not result.success:
        cause = " | ".join(failure_messages(result)) or "the run failed before its first step"
        traces = [e.step_failure_data.error.to_string() for e in result.all_events
                  if e.is_step_failure and e.step_failure_data.error is not None]
        raise NightFailedError(f"night {business_date} failed: {cause}", traces)
