"""The fast paths of the two delivered time formats read exactly what ``strptime`` reads."""

from __future__ import annotations

import datetime as dt
import random

from foundation.values import parse_compact_datetime, parse_invoice_time


def _strptime(text: str, form: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(text, form)
    except ValueError:
        return None


def _parsed(parse, text: str) -> dt.datetime | None:  # type: ignore[no-untyped-def]
    try:
        return parse(text)  # type: ignore[no-any-return]
    except ValueError:
        return None


def _mutations(seed: int, form: str, n: int) -> list[str]:
    """Real times in ``form`` with up to three characters replaced by digits, separators or
    non-ASCII digits (the values strptime refuses and those it reads)."""
    rnd = random.Random(seed)
    alphabet = "0123456789" * 6 + "-: \t\u0661\u00b2x"
    out = []
    for _ in range(n):
        chars = list((dt.datetime(2000, 1, 1) + dt.timedelta(seconds=rnd.randrange(10**9))).strftime(form))
        for _ in range(rnd.choice([0, 1, 1, 2, 3])):
            chars[rnd.randrange(len(chars))] = rnd.choice(alphabet)
        out.append("".join(chars))
    return out


EDGES = ["20261301120000", "20260230120000", "20261110240000", "20261110236000", "20261110235960", "00001110235959"]


def test_compact_time_is_read_as_strptime_reads_it() -> None:
    for text in EDGES + _mutations(1, "%Y%m%d%H%M%S", 20_000):
        s = text.strip()
        expected = _strptime(s, "%Y%m%d%H%M%S") if len(s) == 14 and s.isdigit() else None
        assert _parsed(parse_compact_datetime, text) == expected, text


def test_invoice_time_is_read_as_strptime_reads_it() -> None:
    for text in ["2026-11-13  11:03:2", "2026-11-13\t11:03:20", "2026-13-01 00:00:00"] + _mutations(2, "%Y-%m-%d %H:%M:%S", 20_000):
        s = text.strip()
        expected = dt.datetime.combine(dt.date.fromisoformat(s), dt.time()) if len(s) == 10 else _strptime(s, "%Y-%m-%d %H:%M:%S")
        assert _parsed(parse_invoice_time, text) == expected, text
