"""Run the nightly Dagster job in-process for one business date (what ``scf run`` does)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg

from integration.definitions import NIGHTLY_JOB_NAME, defs


def run_night(
    business_date: dt.date,
    *,
    home: Path | None = None,
    inbox: Path | None = None,
    quiet_dagster: bool = True,
) -> dg.ExecuteInProcessResult:
    """Execute the nightly job for ``business_date`` on an ephemeral Dagster instance.

    ``home`` and ``inbox`` configure the ``scf`` resource (empty: environment / defaults).
    Failures do not raise: the caller inspects ``result.success``.
    """
    run_config: dict = {
        "resources": {"scf": {"config": {"home": str(home or ""), "inbox": str(inbox or "")}}},
    }
    if quiet_dagster:
        run_config["loggers"] = {"console": {"config": {"log_level": "CRITICAL"}}}  # failures: failure_messages
    job = defs.resolve_job_def(NIGHTLY_JOB_NAME)
    with dg.DagsterInstance.ephemeral() as instance:
        return job.execute_in_process(
            run_config=run_config,
            instance=instance,
            partition_key=business_date.isoformat(),
            raise_on_error=False,
        )


def failure_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    """Per failed step of a run, the original error (the innermost cause Dagster wrapped) on one line."""
    messages = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error is not None:
            error = event.step_failure_data.error
            while error.cause is not None:
                error = error.cause
            messages.append(f"{event.step_key}: {' '.join(error.message.split())}")
    return messages
