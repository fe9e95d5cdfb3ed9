"""The vectorized converters' own checks against their plain definitions (:mod:`connectors.parsers.vectorized`)."""

from __future__ import annotations

import datetime as dt
import re

import pyarrow as pa
import pytest

from connectors.parsers import vectorized as V
from foundation import values

_KEPT_IDENTIFIER = re.compile("[!-~]+")
"""What :func:`foundation.values.normalise_identifier` keeps as it is: printable ASCII, no space (the definition the
compiled-kernel check replaced)."""


def _kept(text: str | None) -> bool:
    return text is not None and _KEPT_IDENTIFIER.fullmatch(text) is not None and len(text) <= values.MAX_TEXT_CHARS


def test_identifier_check_is_printable_ascii_without_space_on_every_code_point() -> None:
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    texts: list[str | None] = [*chars, *(f"A{c}9" for c in chars[:0x3000]), "", None, " A", "A ", "A B", "\tA",
                               "a" * values.MAX_TEXT_CHARS, "a" * (values.MAX_TEXT_CHARS + 1), "é" * 3, "91440300MA5FXXXX1A"]
    got = V._identifier_ok(pa.array(texts, pa.string())).to_pylist()
    wrong = [t for t, ok in zip(texts, got, strict=True) if ok != _kept(t)]
    assert not wrong, wrong[:10]
    assert sum(got) == 94 + 94 + 2  # the 94 printable characters alone and inside "A…9", the bound and the USCC


_D2 = [f"{i:02d}" for i in range(100)]


@pytest.mark.parametrize(
    ("convert", "codes", "texts"),
    [
        (V.iso_date, "%Y-%m-%d", [f"{y}-{m}-{d}" for y in ("1000", "2023", "2024", "2100") for m in _D2 for d in _D2]),
        (V.compact_time, "%Y%m%d%H%M%S", [f"20240229{h}{m}{s}" for h in _D2 for m in ("00", "59", "60", "99") for s in _D2]
         + [f"2023{m}{d}235959" for m in _D2 for d in _D2]),
    ],
    ids=["dates", "times"],
)
def test_a_time_is_decided_exactly_when_python_reads_it(convert, codes, texts) -> None:
    """Only the day and the second are compared with their digits (:data:`connectors.parsers.vectorized._CARRIED`): every
    month, day, hour, minute and second of two digits is decided exactly when ``strptime`` reads it, as the same time."""

    def python(text: str) -> dt.datetime | None:
        try:
            return dt.datetime.strptime(text, codes)
        except ValueError:
            return None

    times, decided = convert(pa.array(texts, pa.string()), pa.timestamp("s"))
    expected = [python(t) for t in texts]
    assert decided.to_pylist() == [e is not None for e in expected]
    assert [t for t, ok in zip(times.to_pylist(), decided.to_pylist(), strict=True) if ok] == [e for e in expected if e is not None]
