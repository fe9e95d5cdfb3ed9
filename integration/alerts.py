"""Alerts the bank's monitoring picks up: one JSON file per failed night under ``<home>/alerts/``,
and an optional command (e-mail, webhook) run with the file's path."""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dagster._utils.error import SerializableErrorInfo

log = logging.getLogger(__name__)


def original_error(error: SerializableErrorInfo) -> str:
    """``<message>`` of the user code's error under Dagster's wrappers (without its module path)."""
    while error.cause is not None and error.cls_name and error.cls_name.startswith("Dagster"):
        error = error.cause
    message = error.message.strip()
    head, _, rest = message.partition(": ")
    named = head.endswith(f".{error.cls_name}") or head == error.cls_name
    return rest if named and rest else message  # an error without a message is named by its class


def write_alert(home: Path, business_date: str, run_id: str, cause: str, command: list[str] | None = None) -> Path:
    """Write ``<home>/alerts/<date>-<run>.json`` (night, run, step and cause), then run ``command + [path]``."""
    folder = home / "alerts"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{business_date}-{run_id[:8]}.json"
    step, _, message = cause.partition(": ")
    alert = {
        "alert": "night_failed",
        "business_date": business_date,
        "run_id": run_id,
        "step": step if message else None,
        "cause": message or cause,
        "raised_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "action": "fix the cause, then `scf run --date <business_date>` (docs/OPERATIONS.md, Alerts)",
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(alert, ensure_ascii=False, indent=2) + "\n", "utf-8")
    tmp.replace(path)
    if command:
        done = subprocess.run([*command, str(path)], capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            log.error("alert command %s failed (%d): %s", command[0], done.returncode, done.stderr.strip()[-500:])
    return path
