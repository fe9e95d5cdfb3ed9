"""The CSV reader's line bookkeeping (:mod:`connectors.parsers.csvread`)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from connectors.parsers import csvread

_VALUES = ["a\nb", "c", "", "d\n\ne", "f", "\n", "g"]


@pytest.mark.parametrize(("start", "stop"), [(0, 7), (1, 3), (1, 5), (3, 4), (4, 5), (6, 7), (2, 3), (0, 0)])
def test_newlines_per_row_in_sliced_columns(start: int, stop: int) -> None:
    column = pa.array(_VALUES, pa.string())
    plain = pa.array(["x"] * len(_VALUES), pa.string())
    batch = pa.record_batch([column.slice(start, stop - start), plain.slice(start, stop - start)], names=["v", "w"])
    assert csvread._newlines(batch).tolist() == [v.count("\n") for v in _VALUES[start:stop]]


def test_a_column_is_scanned_only_when_its_bytes_hold_a_newline() -> None:
    column = pa.array(_VALUES, pa.string())
    assert not csvread._may_hold_newline(column.slice(1, 2))  # "c", "": the newlines around them are outside the slice
    assert csvread._may_hold_newline(column.slice(5, 1))
    assert csvread._may_hold_newline(pa.array(["x", None], pa.string()))  # nulls: searched value by value, as before
