"""The nightly job end to end on the spec's sample delivery: outputs, idempotency, restatement,
quarantine of bad input while the night completes."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from integration.cli import app
from integration.home import init_home
from integration.runner import failure_messages, run_night
from tests.conftest import SAMPLE_NIGHT
from warehouse.connection import Warehouse

NIGHT = dt.date.fromisoformat(SAMPLE_NIGHT)
FINDINGS_HEADER = ["finding_id", "business_date", "check_id", "category", "severity", "financing_id",
                   "voucher_id", "invoice_no", "bill_ref", "waybill_no", "detail", "evidence"]


def run_ok(home: Path, inbox: Path, day: dt.date = NIGHT) -> None:
    init_home(home)  # as `scf init`: creates only what the home lacks
    result = run_night(day, home=home, inbox=inbox)
    assert result.success, failure_messages(result)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def query(home: Path, sql: str, *params: object) -> list[tuple]:
    with Warehouse(home / "warehouse.duckdb") as wh:
        return wh.con.execute(sql, list(params)).fetchall()


def test_sample_night_end_to_end(tmp_path, sample_inbox):
    home = tmp_path / "home"
    run_ok(home, sample_inbox)
    reports = home / "reports" / SAMPLE_NIGHT
    with (reports / "findings.csv").open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert header[: len(FINDINGS_HEADER)] == FINDINGS_HEADER
    status = read_csv(reports / "financing_status.csv")
    assert list(status[0])[:3] == ["financing_id", "verdict", "check_ids"]
    # The bill financing's goods receipt names waybill SD20261028007, which the sample
    # delivery does not hold (it would have come on an earlier night): no waybill, blocked.
    assert {r["financing_id"]: (r["verdict"], r["check_ids"]) for r in status} == {
        "F202611200001": ("clean", ""),
        "F202611200002": ("blocked", "TRADE_NO_WAYBILL"),
    }
    counts = dict(query(home, "SELECT file_kind, sum(rows) FROM files GROUP BY ALL"))
    assert counts["tax_invoice_xml"] == 5 + 5  # invoices + their lines
    assert counts["financings"] == 2 + 2  # financings + presented invoices
    assert list((home / "ledger" / "checkpoints").glob("*.txt")), "a signed checkpoint is written"
    assert (reports / "exceptions.html").exists() and (reports / "exceptions.xlsx").exists()


def test_rerun_gives_identical_outputs(tmp_path, sample_inbox):
    home = tmp_path / "home"
    # Make the night produce findings: the bill financing presents an invoice the tax data lacks.
    financings = sample_inbox / SAMPLE_NIGHT / "platform" / "financings.csv"
    financings.write_text(financings.read_text("utf-8").replace("26320000000000034567:", "26320000000000099999:"), "utf-8")
    run_ok(home, sample_inbox)
    reports = home / "reports" / SAMPLE_NIGHT
    outputs = ("findings.csv", "financing_status.csv", "exceptions.html", "exceptions.xlsx")
    first = [(reports / name).read_bytes() for name in outputs]
    rows = read_csv(reports / "findings.csv")
    assert {r["check_id"] for r in rows} >= {"INVOICE_NOT_IN_TAX_DATA"}
    run_ok(home, sample_inbox)
    assert [(reports / name).read_bytes() for name in outputs] == first
    assert query(home, "SELECT count(*) FROM financings")[0][0] == 2, "a re-run replaces the night's rows"


def test_restated_file_wins_and_both_versions_are_archived(tmp_path, sample_inbox):
    home = tmp_path / "home"
    run_ok(home, sample_inbox)
    financings = sample_inbox / SAMPLE_NIGHT / "platform" / "financings.csv"
    financings.write_text(financings.read_text("utf-8").replace(",ACTIVE", ",REPAID", 1), "utf-8")
    run_ok(home, sample_inbox)
    assert query(home, "SELECT status FROM financings WHERE financing_id = 'F202611200001'") == [("REPAID",)]
    superseded = query(home, "SELECT superseded FROM files WHERE rel_path = 'platform/financings.csv'")[0][0]
    assert superseded and len(superseded) == 64
    objects = [p for p in (home / "archive" / "objects").rglob("*") if p.is_file()]
    assert any(p.name == superseded for p in objects)


def test_corrupt_xml_and_bad_csv_row_are_quarantined_while_the_night_completes(tmp_path, sample_inbox):
    home = tmp_path / "home"
    night = sample_inbox / SAMPLE_NIGHT
    (night / "tax" / "broken_0002.xml").write_text("<EInvoiceBatch><EInvoice><Header>", "utf-8")
    po = night / "erp" / "91440300MA5F00001A" / "po_items.csv"
    po.write_text(po.read_text("utf-8") + "4500099999,00010,0000100001,2026-13-45,X,坏行,1,PC,1.00,1.00\n", "utf-8")
    run_ok(home, sample_inbox)
    quarantined = query(home, "SELECT src_path, src_pos, reason_code FROM quarantine ORDER BY src_path")
    assert [(q[0], q[1]) for q in quarantined] == [
        ("erp/91440300MA5F00001A/po_items.csv", 4),
        ("tax/broken_0002.xml", quarantined[1][1]),
    ]
    assert query(home, "SELECT count(*) FROM erp_po_items")[0][0] == 2, "the good rows are kept"
    assert query(home, "SELECT count(*) FROM tax_invoices")[0][0] == 5, "other tax files are loaded"
    assert (home / "reports" / SAMPLE_NIGHT / "findings.csv").exists()


@pytest.mark.parametrize("delivered_twice", ["tax/26320000000000012345.xml"])
def test_file_repeated_on_a_later_night_is_not_new_data(tmp_path, sample_inbox, delivered_twice):
    home = tmp_path / "home"
    run_ok(home, sample_inbox)
    later = sample_inbox / "2026-11-21" / delivered_twice
    later.parent.mkdir(parents=True)
    later.write_bytes((sample_inbox / SAMPLE_NIGHT / delivered_twice).read_bytes())
    run_ok(home, sample_inbox, dt.date(2026, 11, 21))
    assert query(home, "SELECT status, rows FROM files WHERE business_date = DATE '2026-11-21'") == [("duplicate", 0)]


def test_ledger_commands_work_on_what_the_night_signed(tmp_path, sample_inbox):
    home = tmp_path / "home"
    run_ok(home, sample_inbox)
    runner = CliRunner()
    verified = runner.invoke(app, ["ledger", "verify", "--home", str(home)])
    assert verified.exit_code == 0, verified.output
    lineage = runner.invoke(app, ["ledger", "lineage", "V3f9a1c2b4d5e6f71", "--json", "--home", str(home)])
    assert lineage.exit_code == 0, lineage.output
    chain = json.loads(lineage.output)
    assert chain["tier"] == 2
    assert "V3f9a1c2b4d5e6f70" in lineage.output and "26320000000000023456" in lineage.output
    proved = runner.invoke(app, ["ledger", "prove", "V3f9a1c2b4d5e6f71", "--home", str(home)])
    assert proved.exit_code == 0, proved.output
    # Tamper with a stored entry: verification fails and names it.
    with Warehouse(home / "warehouse.duckdb") as wh:
        wh.con.execute("UPDATE ledger_entries SET entry = entry || '\\x00'::BLOB WHERE seq = 2")
    tampered = runner.invoke(app, ["ledger", "verify", "--home", str(home)])
    assert tampered.exit_code != 0
    assert "2" in tampered.output


def test_financing_delivered_twice_in_one_night_rerun_appends_nothing(tmp_path, sample_inbox):
    home = tmp_path / "home"
    financings = sample_inbox / SAMPLE_NIGHT / "platform" / "financings.csv"
    lines = financings.read_text("utf-8").splitlines()
    financings.write_text("\n".join([*lines, lines[1].replace(",ACTIVE", ",REPAID")]) + "\n", "utf-8")
    run_ok(home, sample_inbox)
    entries = query(home, "SELECT count(*), max(seq) FROM ledger_entries")
    assert query(home, "SELECT count(*) FROM ledger_entries WHERE financing_id = 'F202611200001' "
                       "AND entry_type = 'FINANCING'") == [(1,)], "the night's latest version only"
    run_ok(home, sample_inbox)
    assert query(home, "SELECT count(*), max(seq) FROM ledger_entries") == entries
