"""Days and timestamps as integers, and their text forms in the delivered files.

A *day* is a proleptic Gregorian ordinal (:meth:`datetime.date.toordinal`); a
*timestamp* is ``day * 86400 + seconds_of_day`` in China time.  Working with integers
keeps the generator fast; the text of a day is cached because a simulation only spans
a few hundred distinct days.
"""

from __future__ import annotations

import datetime as dt

DAY = 86_400
HOUR = 3_600

_ISO: dict[int, str] = {}
_YMD: dict[int, str] = {}


def iso(day: int) -> str:
    """``YYYY-MM-DD`` of a day ordinal."""
    text = _ISO.get(day)
    if text is None:
        text = _ISO[day] = dt.date.fromordinal(day).isoformat()
    return text


def ymd(day: int) -> str:
    """``YYYYMMDD`` of a day ordinal (SAP dates, file and id stamps)."""
    text = _YMD.get(day)
    if text is None:
        text = _YMD[day] = iso(day).replace("-", "")
    return text


_YEAR: dict[int, int] = {}


def year(day: int) -> int:
    """Calendar year of a day ordinal."""
    y = _YEAR.get(day)
    if y is None:
        y = _YEAR[day] = int(ymd(day)[:4])
    return y


_HMS: list[str] = []
_HMS6: list[str] = []


def _tables() -> tuple[list[str], list[str]]:
    """``hh:mm:ss`` and ``hhmmss`` of every second of a day, built on first use."""
    if not _HMS:
        for h in range(24):
            for m in range(60):
                for s in range(60):
                    _HMS.append(f"{h:02d}:{m:02d}:{s:02d}")
                    _HMS6.append(f"{h:02d}{m:02d}{s:02d}")
    return _HMS, _HMS6


def invoice_time(ts: int) -> str:
    """``YYYY-MM-DD hh:mm:ss`` (数电票 ``RequestTime``)."""
    d, s = divmod(ts, DAY)
    return f"{_ISO.get(d) or iso(d)} {(_HMS or _tables()[0])[s]}"


def compact_time(ts: int) -> str:
    """``YYYYMMDDhhmmss`` (电子路单 times)."""
    d, s = divmod(ts, DAY)
    return (_YMD.get(d) or ymd(d)) + (_HMS6 or _tables()[1])[s]


def offset_time(ts: int) -> str:
    """ISO 8601 with the China offset (platform event times)."""
    d, s = divmod(ts, DAY)
    return f"{_ISO.get(d) or iso(d)}T{(_HMS or _tables()[0])[s]}+08:00"
