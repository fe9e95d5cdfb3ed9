"""When simulated files arrive: each file's modification time is its arrival at the inbox.

The engine judges timeliness from it (:mod:`quality.timeliness`): the simulator delivers
every night :data:`ON_TIME`, after the end of its business date and before any plausible
cut-off; a late file (:mod:`simulator.dq_faults`) arrives at :data:`LATE`.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from integration.nights import BUSINESS_TZ

ON_TIME = dt.time(1, 0)
"""When a night's files arrive, the day after their business date (Asia/Shanghai)."""
LATE = dt.time(12, 0)
"""When a late file arrives, the day after its business date (Asia/Shanghai): after the cut-off."""


def arrival(day: dt.date, at: dt.time) -> float:
    """POSIX time of ``at`` (Asia/Shanghai) on the day after business date ``day``."""
    return dt.datetime.combine(day + dt.timedelta(days=1), at, tzinfo=BUSINESS_TZ).timestamp()


def stamp(path: Path, day: dt.date, at: dt.time = ON_TIME) -> None:
    """Make the file ``path`` of business date ``day`` arrive at ``at``."""
    when = arrival(day, at)
    os.utime(path, (when, when))


def stamp_arrivals(folder: Path, day: dt.date) -> None:
    """Give every file under ``folder`` (a delivery of business date ``day``) its on-time arrival."""
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        stamp(path, day)
