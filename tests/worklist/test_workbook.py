"""The workbook round trip: a clerk fills in the action column of ``exceptions.xlsx`` and loads
it back with ``scf finding load``; a waiver changes the next night's report only once a second
user approves it; and ``scf verify`` detects a tampered dispositions trail."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import load_workbook
from typer.testing import CliRunner

from dispositions.effective import sync_trail
from dispositions.trail import trail_path
from foundation.errors import IntegrityError
from integration.cli import app
from tests.factories import financing, invoice
from tests.trade_factories import make_uscc, one_blocked_one_clean, run_trade_catalogue
from warehouse.asof import verdicts_as_of_sql
from warehouse.connection import Warehouse
from worklist.exception_report import write_exception_reports
from worklist.workbook import ACTION_HEADER, COMMENT_HEADER, ID_HEADER, REASON_HEADER

D1, D2, D3 = dt.date(2026, 11, 20), dt.date(2026, 11, 21), dt.date(2026, 11, 22)
CORE = make_uscc("440305")


def night(home: Path, day: dt.date, build=None) -> Path:
    """Run a night's catalogue as the job does and write its reports; return the workbook."""
    with Warehouse(home / "warehouse.duckdb") as wh:
        if build:
            build(wh)
        sync_trail(wh.con, home)
        run_trade_catalogue(wh, day)
        return write_exception_reports(wh.con, home, day)[1]


def verdict(home: Path, day: dt.date, financing_id: str) -> str:
    with Warehouse(home / "warehouse.duckdb") as wh:
        return wh.con.execute(f"SELECT verdict FROM ({verdicts_as_of_sql()}) WHERE financing_id = $2",
                              [day, financing_id]).fetchone()[0]


def fill(book: Path, out: Path, financing_id: str, action: str, reason: str = "", comment: str = "") -> int:
    """Fill the action columns of the financing's rows, as a clerk does in Excel; return how many."""
    workbook = load_workbook(book)
    sheet = workbook["Findings"]
    header = [c.value for c in sheet[1]]
    col = {h: header.index(h) + 1 for h in header}
    filled = 0
    for row in range(2, sheet.max_row + 1):
        if sheet.cell(row, col["融资编号 Financing"]).value == financing_id:
            sheet.cell(row, col[ACTION_HEADER]).value = action
            sheet.cell(row, col[REASON_HEADER]).value = reason or None
            sheet.cell(row, col[COMMENT_HEADER]).value = comment or None
            filled += 1
    workbook.save(out)
    return filled


def scf(*args: str):
    return CliRunner().invoke(app, list(args))


def test_actions_filled_in_the_workbook_change_the_next_night_only_once_approved(tmp_path):
    home = tmp_path / "home"
    home.mkdir()

    def build(wh: Warehouse) -> None:
        one_blocked_one_clean(wh, D1, CORE)

    book = night(home, D1, build)
    assert verdict(home, D1, "FOVER") == "blocked"
    filled = tmp_path / "filled.xlsx"
    assert fill(book, filled, "FOVER", "豁免 waive", "单据已核实 DOCUMENT_VERIFIED", "税局查验无误 checked") == 2
    done = scf("finding", "load", str(filled), "--user", "alice", "--home", str(home))
    assert done.exit_code == 0, done.output
    assert done.output.count("waive by alice recorded") == 2

    book = night(home, D2)
    assert verdict(home, D2, "FOVER") == "blocked"  # a waiver without approval changes nothing
    rows = list(load_workbook(book, read_only=True)["Findings"].iter_rows(values_only=True))
    status = rows[0].index("状态 Status")
    assert {r[status] for r in rows[1:] if "FOVER" in r} == {"豁免待复核 waiver pending"}

    assert fill(book, filled, "FOVER", "批准 approve") == 2
    refused = scf("finding", "load", str(filled), "--user", "alice", "--home", str(home))
    assert refused.exit_code != 0 and "a second user must approve" in str(refused.exception)
    assert scf("finding", "load", str(filled), "--user", "bob", "--home", str(home)).exit_code == 0

    book = night(home, D3)
    assert verdict(home, D3, "FOVER") == "clean" and verdict(home, D3, "FCLEAN") == "clean"
    summary = list(load_workbook(book, read_only=True)["Summary"].iter_rows(values_only=True))
    waived = next(r for r in summary if r[0] == "已豁免 waived")
    with Warehouse(home / "warehouse.duckdb") as wh:
        financed = wh.con.execute(f"SELECT financed_amount_fen FROM ({verdicts_as_of_sql()}) WHERE financing_id = 'FOVER'",
                                  [D3]).fetchone()[0]
    assert waived[1:4] == (2, 1, financed / 100)  # 2 findings, 1 financing and its amount, tonight
    listed = scf("finding", "list", "--status", "waived", "--home", str(home))
    assert listed.exit_code == 0 and listed.output.count("waived") == 2
    history = scf("finding", "history", rows[1][rows[0].index(ID_HEADER)], "--home", str(home))
    assert "waive by alice" in history.output and "approve by bob" in history.output


def test_an_unknown_action_in_the_workbook_is_refused_whole(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    book = night(home, D1, lambda wh: (invoice(wh, D1, "26320000000000000001", 10_000_00),
                                       financing(wh, D1, "FOVER", "INVOICE",
                                                 invoices={"26320000000000000001": 20_000_00})))
    filled = tmp_path / "filled.xlsx"
    fill(book, filled, "FOVER", "delete")
    refused = scf("finding", "load", str(filled), "--user", "alice", "--home", str(home))
    assert refused.exit_code != 0 and "Findings row 2" in str(refused.exception)
    assert not trail_path(home).exists()


def test_scf_verify_detects_a_tampered_trail(tmp_path):
    from integration.audit import audit_home
    from integration.home import init_home
    from integration.settings import load_settings

    home = tmp_path / "home"
    init_home(home)
    book = night(home, D1, lambda wh: (invoice(wh, D1, "26320000000000000001", 10_000_00),
                                       financing(wh, D1, "FOVER", "INVOICE",
                                                 invoices={"26320000000000000001": 20_000_00})))
    fill(book, tmp_path / "filled.xlsx", "FOVER", "受理 acknowledge")
    assert scf("finding", "load", str(tmp_path / "filled.xlsx"), "--user", "alice", "--home", str(home)).exit_code == 0
    night(home, D2)  # the warehouse copies the trail
    assert any("dispositions trail: chain of 2 lines holds" in line for line in audit_home(load_settings(home)).lines)
    path = trail_path(home)
    original = path.read_bytes()
    first, second = original.splitlines(keepends=True)
    cases = {  # tampered bytes → what scf verify says
        first.replace(b'"alice"', b'"bob"') + second: "line 2: the hash chain is broken",  # the next line's prev
        first + second.replace(b'"alice"', b'"bob"'): "line 2 is not the line the warehouse copied",
        first: "lines were removed",  # a valid but shorter chain
    }
    for tampered, expected in cases.items():
        path.write_bytes(tampered)
        try:
            audit_home(load_settings(home))
        except IntegrityError as error:
            assert expected in str(error)
        else:
            raise AssertionError(f"scf verify passed a trail where {expected}")
