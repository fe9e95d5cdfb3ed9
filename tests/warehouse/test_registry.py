"""The schema registry: one declaration per table gives its DDL, Arrow schema and named rows;
rows are named, so two money columns given in the wrong order cannot load into each other."""

from __future__ import annotations

import datetime as dt
import re
import tomllib

import pyarrow as pa
import pytest

from connectors.parsers.base import ParseContext
from connectors.parsers.batching import BatchBuilder
from tests.conftest import REPO
from tests.connectors.test_parsers import MemorySink
from warehouse.connection import Warehouse
from warehouse.registry import create_table, duckdb_type, insert_row, insert_rows
from warehouse.results import ASOF_PROGRESS, NIGHT_ACTED, SESSION_TABLES
from warehouse.schemas import FILES, PARSED
from warehouse.tables import TABLES

NIGHT = dt.date(2026, 11, 20)
LINES = PARSED["tax_invoice_lines"]


def _line_values() -> dict[str, object]:
    return dict(invoice_no="26320000000000012345", line_no=1, item_name="钢材", spec=None, unit="吨", quantity=None,
                unit_price=None, amount_fen=100_000, tax_rate=None, tax_fen=13_000, tax_code=None)


def test_every_declared_table_is_created_as_declared(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        for table in TABLES.values():
            for statement in table.ddl():
                wh.con.execute(statement)
            found = wh.con.execute(
                "SELECT column_name, data_type, is_nullable FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index",
                [table.name]).fetchall()  # fmt: skip
            assert found == [(c.name, duckdb_type(c.type), c.nullable) for c in table.columns], table.name
            assert table.schema.names == list(table.names) == list(table.Row._fields)


def test_a_session_table_is_created_empty_and_temporary_never_in_the_home(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        for table in SESSION_TABLES:
            assert table.name not in TABLES
            create_table(wh.con, table)
            assert wh.con.execute("SELECT temporary FROM duckdb_tables() WHERE table_name = ?", [table.name]).fetchall() == [(True,)]
        insert_rows(wh.con, NIGHT_ACTED, [NIGHT_ACTED.Row(**dict.fromkeys(NIGHT_ACTED.names, "x"))])
        create_table(wh.con, NIGHT_ACTED)  # the next night's session starts it empty
        assert wh.con.execute(f"SELECT count(*) FROM {NIGHT_ACTED.name}").fetchall() == [(0,)]


#: A ``CREATE [OR REPLACE] [TEMP] TABLE [IF NOT EXISTS] name (`` with its own column list: a hand declaration.
_HAND_DDL = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP(?:ORARY)?\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[\w{}.\"]+\s*\(", re.I)


def test_no_table_is_declared_by_hand_outside_the_registry():
    """Every table's columns are declared once, in the registry (warehouse/schemas.py, results.py):
    outside warehouse/ no product module or check SQL writes a ``CREATE TABLE t (cols)`` of its own
    (a table derived by ``CREATE … AS SELECT`` declares nothing)."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    packages = [p.rstrip("*") for p in config["tool"]["setuptools"]["packages"]["find"]["include"]]
    found = [
        f"{path.relative_to(REPO)}: {match.group(0)}"
        for package in packages if package != "warehouse"
        for path in sorted((REPO / package).rglob("*")) if path.suffix in (".py", ".sql")
        for match in _HAND_DDL.finditer(path.read_text("utf-8"))
    ]
    assert found == []
    assert _HAND_DDL.search('con.execute("CREATE OR REPLACE TEMP TABLE night_acted (finding_id VARCHAR)")')
    assert not _HAND_DDL.search("CREATE OR REPLACE TEMP TABLE mt_cores AS (SELECT 1)")


def test_a_parser_row_given_by_position_is_refused():
    """Amount and tax swapped in a positional tuple would load silently into each other's columns:
    the batch builder takes only the table's named record."""
    builder = BatchBuilder("tax_invoice_lines", ParseContext(NIGHT, "tax/a.xml", "ab" * 32, "tax_invoice_xml"), MemorySink())
    values = _line_values()
    values["amount_fen"], values["tax_fen"] = values["tax_fen"], values["amount_fen"]
    with pytest.raises(TypeError, match="TaxInvoiceLinesRecord"):
        builder.add(1, tuple(values.values()))


def test_named_money_columns_land_in_their_own_columns_whatever_their_order(tmp_path):
    sink = MemorySink()
    builder = BatchBuilder("tax_invoice_lines", ParseContext(NIGHT, "tax/a.xml", "ab" * 32, "tax_invoice_xml"), sink)
    values = _line_values()
    swapped = {"tax_fen": values.pop("tax_fen"), "amount_fen": values.pop("amount_fen"), **values}
    builder.add(1, LINES.Record(**swapped))
    builder.flush()
    with Warehouse(tmp_path / "w.duckdb") as wh:
        batch = sink.batches["tax_invoice_lines"][0]
        reordered = batch.select(list(reversed(batch.schema.names)))  # an appended table loads by column name
        wh.append("tax_invoice_lines", reordered)
        assert wh.con.execute("SELECT amount_fen, tax_fen FROM tax_invoice_lines").fetchall() == [(100_000, 13_000)]


def test_engine_rows_are_named_too():
    with pytest.raises(TypeError, match="files.Row"):
        FILES.arrow([(NIGHT, "a.csv", "00", 1, None, "loaded", 0, 0, None)])
    row = FILES.Row(business_date=NIGHT, rel_path="a.csv", sha256="00", size=1, file_kind=None, status="loaded",
                    rows=0, quarantined=0, superseded=None, seq=None)
    assert FILES.arrow([row]).to_pylist()[0]["status"] == "loaded"
    assert FILES.arrow([]).schema == FILES.schema


def test_one_row_is_inserted_by_name_through_parameters(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        with pytest.raises(TypeError, match="asof_progress.Row"):
            insert_row(wh.con, ASOF_PROGRESS, (NIGHT, "digest"))
        insert_row(wh.con, ASOF_PROGRESS, ASOF_PROGRESS.Row(digest="d", as_of=NIGHT))
        assert wh.con.execute("SELECT as_of, digest FROM asof_progress").fetchall() == [(NIGHT, "d")]


def test_a_declaration_that_contradicts_itself_is_refused():
    columns = LINES.columns
    with pytest.raises(ValueError, match="twice"):
        type(LINES)("t", (*columns, columns[-1]))
    with pytest.raises(ValueError, match="key"):
        type(LINES)("t", columns, key=("no_such_column",))
    with pytest.raises(ValueError, match="lineage"):
        type(LINES)("t", columns[3:], parsed=True)
    with pytest.raises(TypeError, match="no DuckDB mapping"):
        duckdb_type(pa.float32())
