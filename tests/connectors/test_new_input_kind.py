"""A new input kind is a mapping plus a schema entry: declared here in a temporary catalogue and
registry (not in the product), a night with its file classifies, archives, parses, loads,
quarantines its bad row with its reason, and validates the suite derived from its layout."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import pyarrow as pa
import pytest

from connectors import kinds
from connectors.kinds import InputKind, classify
from connectors.parsers.csvlayout import CsvField, CsvLayout
from integration.home import init_home
from integration.runner import run_night
from quality.registry import source_of
from tests.conftest import SAMPLE_NIGHT
from warehouse import schemas, tables
from warehouse.connection import Warehouse
from warehouse.registry import LINEAGE, Column, Table
from warehouse.schemas import FEN, QTY

NIGHT = dt.date.fromisoformat(SAMPLE_NIGHT)
PATH = "depot/91440300MA5F00001A/receipts.csv"

#: The schema entry: one table of a warehouse operator's depot receipts.
DEPOT_RECEIPTS = Table(
    "depot_receipts",
    (
        *LINEAGE,
        Column("receipt_no", pa.string()),
        Column("holder_uscc", pa.string()),
        Column("goods", pa.string()),
        Column("quantity", QTY),
        Column("value_fen", FEN),
        Column("received_on", pa.date32()),
        Column("state", pa.string()),
    ),
    key=("receipt_no",),
    parsed=True,
)

#: The mapping: where its files sit and which header fills which column (types from the table).
DEPOT_KIND = InputKind(
    "depot_receipts",
    re.compile(r"depot/(?P<folder>[0-9A-Z]{18})/receipts\.csv"),
    csv=CsvLayout(
        "depot_receipts",
        (
            CsvField("receipt_no", "仓单号", pattern=re.compile(r"WR[0-9]{8}"), form="a receipt number WR + 8 digits",
                     required=True),
            CsvField("holder_uscc", "持有人"),
            CsvField("goods", "货物"),
            CsvField("quantity", "数量"),
            CsvField("value_fen", "货值", required=True),
            CsvField("received_on", "入库日期"),
            CsvField("state", "状态", choices=frozenset({"IN", "OUT"}), required=True),
        ),
    ),
    source="depot/{folder}/*.csv",  # one stream per depot operator
)

RECEIPTS = (
    "仓单号,持有人,货物,数量,货值,入库日期,状态\n"
    "WR00000001,91440300MA5F00001A,导光板,100.5,1000.00,2026-11-19,IN\n"
    "WR00000002,91440300MA5F00001A,背光模组,20,2500.50,2026-11-20,OUT\n"
    "WR00000003,91440300MA5F00001A,导光板,7,12.00,2026-11-20,LOST\n"
)


@pytest.fixture
def depot_kind(monkeypatch: pytest.MonkeyPatch) -> InputKind:
    """The new kind declared in a temporary catalogue, its table in a temporary registry."""
    monkeypatch.setattr(kinds, "INPUT_KINDS", kinds.INPUT_KINDS.adding(DEPOT_KIND))
    for registry, value in ((schemas.PARSED, DEPOT_RECEIPTS), (tables.TABLES, DEPOT_RECEIPTS),
                            (schemas.SCHEMAS, DEPOT_RECEIPTS.schema), (schemas.NATURAL_KEYS, DEPOT_RECEIPTS.key)):
        monkeypatch.setitem(registry, DEPOT_RECEIPTS.name, value)  # type: ignore[index]
    return DEPOT_KIND


def _rows(home: Path, sql: str) -> list[tuple]:
    with Warehouse(home / "warehouse.duckdb", read_only=True) as wh:
        return wh.con.execute(sql, [NIGHT]).fetchall()


def test_a_new_input_kind_is_a_mapping_plus_a_schema_entry(depot_kind: InputKind, sample_inbox: Path, tmp_path: Path) -> None:
    assert classify(PATH) is depot_kind
    assert source_of(PATH) == "depot/91440300MA5F00001A/*.csv"
    assert depot_kind.tables == ("depot_receipts",) and depot_kind.header_drift
    delivered = sample_inbox / SAMPLE_NIGHT / PATH
    delivered.parent.mkdir(parents=True)
    delivered.write_text(RECEIPTS, encoding="utf-8")
    home = tmp_path / "home"
    init_home(home)

    assert run_night(NIGHT, home=home, inbox=sample_inbox).success

    [(sha, kind, status, loaded, quarantined)] = _rows(
        home, f"SELECT sha256, file_kind, status, rows, quarantined FROM files WHERE business_date = ? AND rel_path = '{PATH}'")
    assert (kind, status, loaded, quarantined) == ("depot_receipts", "loaded", 2, 1)
    assert sha == hashlib.sha256(RECEIPTS.encode()).hexdigest()
    assert (home / "archive" / "objects" / sha[:2] / sha).read_text(encoding="utf-8") == RECEIPTS, "archived as delivered"
    receipts = _rows(home, "SELECT src_pos, receipt_no, quantity, value_fen, received_on, state FROM depot_receipts "
                           "WHERE business_date = ? ORDER BY src_pos")
    assert [(r[0], r[1], str(r[2]), r[3], r[4].isoformat(), r[5]) for r in receipts] == [
        (2, "WR00000001", "100.5000", 100_000, "2026-11-19", "IN"),
        (3, "WR00000002", "20.0000", 250_050, "2026-11-20", "OUT"),
    ]
    assert _rows(home, f"SELECT src_pos, file_kind, reason_code, reason FROM quarantine WHERE business_date = ? "
                       f"AND src_path = '{PATH}'") == [(4, "depot_receipts", "BAD_ENUM", "状态: 'LOST' is not one of IN, OUT")]
    results = dict(_rows(home, "SELECT expectation, success FROM dq_results WHERE business_date = ? AND suite = 'depot_receipts'"))
    assert {"expect_column_values_to_not_be_null(receipt_no)", "expect_column_values_to_not_be_null(value_fen)",
            "expect_column_values_to_be_in_set(state)", "expect_column_values_to_match_format(receipt_no)",
            "expect_column_values_to_be_unique(receipt_no)"} <= set(results), results
    assert all(results.values()), results
