"""The catalogue is read from the check files' headers: whole, validated, documented, and a new
check is one file."""

from __future__ import annotations

import datetime as dt
import shutil
from importlib import resources
from pathlib import Path

import pytest

from foundation.errors import ScfError
from reconciliation.catalogue import (
    CATALOGUE,
    CHECKS,
    CatalogueError,
    catalogue_markdown,
    check_sql,
    load_catalogue,
    parse_check_file,
)
from reconciliation.check import Category, Family, Severity
from reconciliation.findings import run_catalogue
from tests.conftest import REPO
from tests.factories import financing, invoice
from warehouse.asof import verdicts_as_of_sql
from warehouse.connection import Warehouse

D1 = dt.date(2026, 11, 18)
SQL = Path(str(resources.files("reconciliation.sql")))

NEW_CHECK = """/* check
id = "FINANCING_ON_A_SUNDAY"
family = "first"
category = "fake_trade"
severity = "medium"
title = "Financing valued on a Sunday"
rule = '''
A financing whose value date falls on a day of the week numbered sunday_dow: banks do
not lend then.
'''
[params]
sunday_dow = 0
*/
SELECT financing_id, NULL AS voucher_id, NULL AS invoice_no, NULL AS bill_ref, NULL AS waybill_no,
       NULL AS severity, printf('Financing %s was valued on %s, a Sunday.', financing_id, value_date) AS detail,
       json_object('value_date', value_date) AS evidence
FROM live_financings WHERE dayofweek(value_date) = getvariable('sunday_dow')
"""

HEADER = """/* check
id = "X_CHECK"
family = "first"
category = "duplicate"
severity = "high"
title = "T"
rule = "R."
[params]
amount_tolerance_fen = 100
*/
"""
GOOD = HEADER + "SELECT 1 WHERE getvariable('amount_tolerance_fen') > 0\n"


def test_every_check_has_a_query_a_rule_and_a_sentence_for_docs():
    ids = [c.check_id for c in CHECKS]
    assert len(ids) == len(set(ids)) == 49
    for check in CHECKS:
        assert check.title and check.rule.endswith("."), check.check_id
        assert "/* check" not in check_sql(check.check_id) and check_sql(check.check_id).strip(), check.check_id
    # the surveillance reads every other check's findings: its family runs last
    assert [c.family for c in CHECKS[-3:]] == [Family.POOL] * 3
    assert [c.family for c in CHECKS] == sorted((c.family for c in CHECKS), key=list(Family).index)


def test_a_file_holding_a_family_of_checks_gives_each_the_same_body():
    ledger = [c for c in CHECKS if c.source == "LEDGER.sql"]
    assert len(ledger) == 14 and len({c.sql() for c in ledger}) == 1
    assert "getvariable('check_id')" in ledger[0].sql()
    assert CATALOGUE.by_id["LEDGER_EVIDENCE_PENDING"].severity == Severity.MEDIUM
    assert "{pending}" not in CATALOGUE.by_id["TRADE_NO_PAYABLE"].rule
    assert "Not yet is not absent" in CATALOGUE.by_id["TRADE_NO_PAYABLE"].rule


def test_checks_md_is_generated_from_the_catalogue():
    assert (REPO / "docs" / "CHECKS.md").read_text("utf-8") == catalogue_markdown(), "run: scf checks --write"


def test_a_new_check_is_one_file_listed_documented_and_run(tmp_path: Path):
    folder = tmp_path / "sql"
    shutil.copytree(SQL, folder)
    (folder / "FINANCING_ON_A_SUNDAY.sql").write_text(NEW_CHECK, "utf-8")
    catalogue = load_catalogue(folder)
    new = catalogue.by_id["FINANCING_ON_A_SUNDAY"]
    assert (new.family, new.category, new.severity, new.params) == (Family.FIRST, Category.FAKE_TRADE,
                                                                     Severity.MEDIUM, {"sunday_dow": 0})
    assert "| `FINANCING_ON_A_SUNDAY` | fake_trade | medium | **Financing valued on a Sunday.** A financing whose " \
           "value date falls on a day of the week numbered sunday_dow: banks do not lend then. | `sunday_dow` = 0 |" \
           in catalogue.markdown().splitlines()
    assert "FINANCING_ON_A_SUNDAY" not in catalogue_markdown()

    sunday, monday = dt.date(2026, 11, 15), dt.date(2026, 11, 16)
    with Warehouse(tmp_path / "warehouse.duckdb") as wh:
        invoice(wh, D1, "26320000000000000001", 100_000_00, issued=dt.date(2026, 11, 2))
        invoice(wh, D1, "26320000000000000002", 100_000_00, issued=dt.date(2026, 11, 2))
        financing(wh, D1, "FSUN", "INVOICE", invoices={"26320000000000000001": 50_000_00})
        financing(wh, D1, "FMON", "INVOICE", invoices={"26320000000000000002": 50_000_00})
        wh.con.execute("UPDATE financings SET value_date = CASE financing_id WHEN 'FSUN' THEN ?::DATE ELSE ?::DATE END",
                       [sunday, monday])
        run_catalogue(wh.con, D1, catalogue=catalogue, checks=catalogue.of(Family.FIRST))
        found = wh.con.execute("SELECT financing_id, severity, detail FROM findings WHERE check_id = ?",
                               ["FINANCING_ON_A_SUNDAY"]).fetchall()
        assert found == [("FSUN", "medium", "Financing FSUN was valued on 2026-11-15, a Sunday.")]
        verdicts = dict(wh.con.execute(f"SELECT financing_id, verdict FROM ({verdicts_as_of_sql()})", [D1]).fetchall())
        assert verdicts == {"FSUN": "review", "FMON": "clean"}
        # its parameter is configurable like every other
        run_catalogue(wh.con, D1, catalogue=catalogue, checks=[new], params={"sunday_dow": 1})
        assert wh.con.execute("SELECT financing_id FROM findings").fetchall() == [("FMON",)]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('category = "duplicate"', 'category = "fraud"'), "category 'fraud' is not one of"),
        (lambda t: t.replace('severity = "high"', 'severity = "severe"'), "severity 'severe' is not one of"),
        (lambda t: t.replace('family = "first"', 'family = "later"'), "family 'later' is not one of"),
        (lambda t: t.replace("amount_tolerance_fen = 100", "amount_tolerance_fen = 1.5"), "an integer or a string"),
        (lambda t: t.replace("amount_tolerance_fen = 100", "amount_tolerance_fen = true"), "an integer or a string"),
        (lambda t: t.replace('title = "T"\n', ""), "header lacks ['title']"),
        (lambda t: t.replace('title = "T"\n', 'title = "T"\nowner = "me"\n'), "has unknown ['owner']"),
        (lambda t: t.replace('rule = "R."', 'rule = "R"'), "ending with a full stop"),
        (lambda t: t.replace('rule = "R."', 'rule = "R. {nothing}"'), "unknown note {nothing}"),
        (lambda t: t.replace('rule = "R."', 'rule = "R. {pending}"'), "needs the parameter evidence_window_days"),
        (lambda t: t.replace("[params]\namount_tolerance_fen = 100\n", ""), "reads ['amount_tolerance_fen']"),
        (lambda t: t.replace("/* check", "/* chek"), "must begin with a '/* check' header block"),
        (lambda t: t.replace('rule = "R."', 'rule = "R.'), "header is not TOML"),
        (lambda t: t.replace('id = "X_CHECK"', 'id = "Y_CHECK"'), "name the file after it"),
    ],
)
def test_a_wrong_header_fails_loudly_naming_the_file(edit, message):  # noqa: ANN001
    assert parse_check_file("X_CHECK.sql", GOOD)[0].params == {"amount_tolerance_fen": 100}
    with pytest.raises(CatalogueError, match="X_CHECK.sql") as raised:
        parse_check_file("X_CHECK.sql", edit(GOOD))
    assert message in str(raised.value)


def test_a_duplicate_id_or_a_second_default_fails_loudly_naming_both_files(tmp_path: Path):
    (tmp_path / "X_CHECK.sql").write_text(GOOD, "utf-8")
    (tmp_path / "TWO.sql").write_text(HEADER.replace("X_CHECK", "Z_CHECK") + GOOD, "utf-8")
    with pytest.raises(CatalogueError, match=r"X_CHECK.sql: check X_CHECK is declared in TWO.sql too"):
        load_catalogue(tmp_path)
    (tmp_path / "TWO.sql").unlink()
    (tmp_path / "Z_CHECK.sql").write_text(GOOD.replace("X_CHECK", "Z_CHECK").replace("= 100", "= 101"), "utf-8")
    with pytest.raises(CatalogueError, match=r"Z_CHECK.sql \(Z_CHECK\): parameter amount_tolerance_fen = 101, "
                                             r"but X_CHECK.sql \(X_CHECK\) declares 100"):
        load_catalogue(tmp_path)


def test_a_check_giving_a_severity_outside_the_vocabulary_stops_the_night(tmp_path: Path):
    folder = tmp_path / "sql"
    shutil.copytree(SQL, folder)
    (folder / "FINANCING_ON_A_SUNDAY.sql").write_text(
        NEW_CHECK.replace("NULL AS severity", "'hgih' AS severity").replace("= getvariable('sunday_dow')", ">= 0"), "utf-8")
    catalogue = load_catalogue(folder)
    with Warehouse(tmp_path / "warehouse.duckdb") as wh:
        invoice(wh, D1, "26320000000000000001", 100_000_00, issued=dt.date(2026, 11, 2))
        financing(wh, D1, "F1", "INVOICE", invoices={"26320000000000000001": 50_000_00})
        with pytest.raises(ScfError, match="FINANCING_ON_A_SUNDAY gave hgih"):
            run_catalogue(wh.con, D1, catalogue=catalogue, checks=[catalogue.by_id["FINANCING_ON_A_SUNDAY"]])
        assert wh.con.execute("SELECT count(*) FROM findings").fetchall() == [(0,)]
