"""The oracle check of the columnar parse paths (XML: :mod:`connectors.parsers.xmlcolumns`, CSV:
:mod:`connectors.parsers.csvcolumns`): a file parsed both ways gives equal tables and quarantine records."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pyarrow as pa

from connectors.kinds import classify, parse_file
from connectors.parsers import FileRejected, ParseContext
from connectors.parsers.base import python_only

NIGHT = dt.date(2026, 11, 20)


class Collected:
    """What a parser gave: each table whole, and the quarantine records in order."""

    def __init__(self) -> None:
        self.batches: dict[str, list[pa.RecordBatch]] = {}
        self.quarantined: list[tuple[int | None, str, str, str | None]] = []

    def rows(self, table: str, batch: pa.RecordBatch) -> None:
        self.batches.setdefault(table, []).append(batch)

    def quarantine(self, src_pos: int | None, reason_code: str, reason: str, raw: str | None) -> None:
        self.quarantined.append((src_pos, reason_code, reason, raw))

    def tables(self) -> dict[str, pa.Table]:
        return {t: pa.Table.from_batches(b).combine_chunks() for t, b in self.batches.items() if sum(x.num_rows for x in b)}


def parse(path: Path, rel: str) -> Collected | tuple[str, str]:
    kind = classify(rel)
    assert kind is not None, rel
    sink = Collected()
    try:
        parse_file(path, ParseContext(NIGHT, rel, hashlib.sha256(path.read_bytes()).hexdigest(), kind.name), sink)
    except FileRejected as rejected:
        return rejected.reason_code, rejected.reason
    return sink


def assert_same_as_python(path: Path, rel: str) -> Collected | tuple[str, str]:
    """Parse ``path`` both ways; the tables (rows, types, order) and quarantine records must be equal."""
    with python_only():
        oracle = parse(path, rel)
    columnar = parse(path, rel)
    if isinstance(oracle, tuple) or isinstance(columnar, tuple):
        assert columnar == oracle, rel
        return oracle
    expected, got = oracle.tables(), columnar.tables()
    assert got.keys() == expected.keys(), rel
    for table, rows in expected.items():
        assert got[table].schema.equals(rows.schema), (rel, table)
        assert got[table].equals(rows), (rel, table, first_difference(rows, got[table]))
    assert columnar.quarantined == oracle.quarantined, rel
    return oracle


def first_difference(expected: pa.Table, got: pa.Table) -> object:
    if expected.num_rows != got.num_rows:
        return f"{got.num_rows} rows, expected {expected.num_rows}"
    for name in expected.column_names:
        for i, (a, b) in enumerate(zip(expected[name].to_pylist(), got[name].to_pylist(), strict=True)):
            if a != b:
                return name, i, a, b
    return None
