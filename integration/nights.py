"""Which nights ran, with what outcome, and which must run next: the order of nights.

Every run of the nightly job records itself in the warehouse table ``night_runs``
(business date, start and end, status, configuration hash, Dagster run id), whether it
was started by ``scf run``, the schedule, a sensor, a backfill or the UI.

The order rule (docs/OPERATIONS.md): the *nights of a home* are the business dates from
the go-live date (``[nightly] first_night``) to the last finished business date that the
inbox holds a delivery for or that the home has run before. A date with no delivery that
never ran is not a night (a holiday, a gap: nothing to wait for). Night D may run only
once every earlier night has succeeded; ``--catch-up`` runs the missing ones first. Running
D again replays every later night already run, in order (a night between them that has not
run yet runs in its place), so their reports are what they would have been.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import duckdb

from foundation.errors import ScfError
from warehouse.registry import create_table
from warehouse.results import NIGHT_RUNS

if TYPE_CHECKING:
    from integration.settings import Settings

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")
SUCCEEDED, FAILED, STARTED = "succeeded", "failed", "started"


class NightOrderError(ScfError):
    """A night cannot run yet (an earlier night has not run) or is outside the nights offered."""


@dataclass(frozen=True)
class NightRun:
    """The latest run of one business date."""

    business_date: dt.date
    run_id: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    status: str
    config_hash: str | None
    error: str | None


@dataclass(frozen=True)
class Plan:
    """The nights to run for a request, in business-date order.

    ``missing``: earlier nights that have not succeeded (caught up); ``replay``: nights
    already run that come after the first night run again (re-run so their reports are
    what they would have been)."""

    nights: tuple[dt.date, ...]
    missing: tuple[dt.date, ...]
    replay: tuple[dt.date, ...]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def config_hash(scf_toml: bytes) -> str:
    """The configuration's fingerprint: the first 16 hex of SHA-256 over ``scf.toml`` (empty if absent)."""
    return hashlib.sha256(scf_toml).hexdigest()[:16]


def record_start(con: duckdb.DuckDBPyConnection, day: dt.date, run_id: str, config: str) -> None:
    """Record that run ``run_id`` of night ``day`` has started (a re-try of the same run replaces its row)."""
    create_table(con, NIGHT_RUNS)
    con.execute("DELETE FROM night_runs WHERE run_id = ?", [run_id])
    con.execute(
        "INSERT INTO night_runs BY NAME SELECT ? AS business_date, ? AS run_id, ? AS started_at, ? AS status, ? AS config_hash",
        [day, run_id, _now(), STARTED, config],
    )


def record_end(con: duckdb.DuckDBPyConnection, run_id: str, status: str, error: str | None = None) -> None:
    """Record the outcome (``succeeded`` or ``failed`` with its error) of run ``run_id``."""
    create_table(con, NIGHT_RUNS)
    con.execute(
        "UPDATE night_runs SET ended_at = ?, status = ?, error = ? WHERE run_id = ?", [_now(), status, error, run_id]
    )


def latest_runs(con: duckdb.DuckDBPyConnection) -> dict[dt.date, NightRun]:
    """The latest run of every business date that has run, by date (read-only connections too)."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'night_runs'").fetchone()
    if not exists or not exists[0]:
        return {}
    rows = con.execute(
        "SELECT * FROM night_runs QUALIFY row_number() OVER (PARTITION BY business_date "
        "ORDER BY started_at DESC, rowid DESC) = 1 ORDER BY business_date"
    ).fetchall()
    return {row[0]: NightRun(*row) for row in rows}


def delivered_nights(settings: Settings) -> list[dt.date]:
    """The business dates the configured inbox (local folder or SFTP) holds a delivery for."""
    source = settings.source()
    try:
        return source.nights()
    finally:
        source.close()


def nights_for_order(settings: Settings) -> list[dt.date]:
    """The delivered nights the order rule counts; none when the inbox cannot be listed (the
    night's landing then fails, naming the cause, and is recorded as failed)."""
    try:
        return delivered_nights(settings)
    except (ScfError, OSError):
        return []


def last_finished_night(now: dt.datetime | None = None) -> dt.date:
    """The latest business date that is over in Asia/Shanghai (yesterday there)."""
    today = (now or dt.datetime.now(dt.UTC)).astimezone(BUSINESS_TZ).date()
    return today - dt.timedelta(days=1)


def out_of_range(day: dt.date, first_night: dt.date, last_night: dt.date) -> str | None:
    """Why ``day`` is not a night offered (before go-live, or not over yet), or None."""
    if day < first_night:
        return f"outside the nightly job's dates: before the first night {first_night} ([nightly] first_night)"
    if day > last_night:
        return f"outside the nightly job's dates: not over yet in Asia/Shanghai (the last finished night is {last_night})"
    return None


def stale_nights(runs: dict[dt.date, NightRun]) -> set[dt.date]:
    """Nights that succeeded before an earlier night was run again: their reports need a replay."""
    return {d for d in runs if any(e < d and runs[e].started_at > runs[d].started_at for e in runs)}


def plan(
    night: dt.date, delivered: Iterable[dt.date], runs: dict[dt.date, NightRun], first_night: dt.date,
    *, catch_up: bool,
) -> Plan:
    """What running ``night`` takes: the earlier nights not yet succeeded (refused unless
    ``catch_up``), then ``night``, and every night after it up to the last one already run."""
    known = {d for d in (*delivered, *runs) if d >= first_night}
    missing = tuple(sorted(d for d in known if d < night and (d not in runs or runs[d].status != SUCCEEDED)))
    if missing and not catch_up:
        what = "failed" if missing[0] in runs else "has not run"
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise NightOrderError(
            f"night {missing[0]} {what}{more}, it comes before {night}: run it first, or give --catch-up"
        )
    first = missing[0] if missing else night
    # through the last night already run: a night between that has not run yet (delivered late)
    # runs too, in its place, or the replay of the nights after it would run without it
    last = max((d for d in runs if d > night), default=night)
    to_run = tuple(sorted(d for d in {*known, night} if first <= d <= last))
    return Plan(to_run, missing, tuple(d for d in to_run if d in runs and d != night and d not in missing))


def due_nights(
    delivered: Iterable[dt.date], runs: dict[dt.date, NightRun], first_night: dt.date, last_night: dt.date
) -> list[dt.date]:
    """Nights waiting to run, oldest first: in range, delivered or run before, never run or stale.

    Empty from a night whose latest run failed onwards: that night waits for the operator."""
    stale = stale_nights(runs)
    due = []
    for day in sorted({*delivered, *runs}):
        if out_of_range(day, first_night, last_night):
            continue
        if day in runs and runs[day].status == FAILED:
            break
        if day not in runs or day in stale:
            due.append(day)
    return due
