"""Two banks sharing the fingerprint key find each other's duplicates without seeing invoices."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from typer.testing import CliRunner

from integration.cli import app
from ledger.entries import FinancingRecord, Fingerprint, FingerprintAnnex
from ledger.fingerprints import record_fingerprints
from ledger.keys import default_fingerprint_key_path
from ledger.schema import ensure_schema
from ledger.store import LedgerStore, PendingEntry
from reconciliation.catalogue import BY_ID
from reconciliation.findings import run_catalogue
from tests.conftest import SAMPLE_NIGHT
from tests.factories import financing, invoice
from tests.integration.test_pipeline import NIGHT, read_csv, run_ok
from warehouse.connection import Warehouse

SHARED_KEY = "5c" * 32


def _bank(tmp_path: Path, name: str, inbox: Path) -> Path:
    home = tmp_path / name
    key_file = default_fingerprint_key_path(home)
    key_file.parent.mkdir(parents=True)
    key_file.write_text(SHARED_KEY + "\n", "ascii")  # the key the banks share; init pins it
    run_ok(home, inbox)
    return home


def test_invoice_financed_at_a_peer_bank_is_found_from_its_exported_fingerprints(tmp_path, sample_inbox):
    bank_a = _bank(tmp_path, "bank_a", sample_inbox)
    # Bank B's platform books its own factoring of invoice 26320000000000023456 (worth ¥30,000),
    # which bank A's voucher financing F202611200001 already presents in full.
    inbox_b = tmp_path / "inbox_b"
    shutil.copytree(sample_inbox, inbox_b)
    financings = inbox_b / SAMPLE_NIGHT / "platform" / "financings.csv"
    header = financings.read_text("utf-8").splitlines()[0]
    financings.write_text(
        header + "\nFB0000000001,105100000017,INVOICE,91320500MA1X000037,91320500MA1X000024,"
        "26320000000000023456,26320000000000023456:20000.00,20000.00,19700.00,0.0310,2026-11-20,2027-02-18,ACTIVE\n",
        "utf-8",
    )
    (inbox_b / SAMPLE_NIGHT / "platform" / "voucher_events.csv").unlink()
    bank_b = _bank(tmp_path, "bank_b", inbox_b)

    runner = CliRunner()
    export = tmp_path / "bank_b_fingerprints.csv"
    result = runner.invoke(app, ["ledger", "export-fingerprints", str(export), "--home", str(bank_b)])
    assert result.exit_code == 0, result.output
    assert "26320000000000023456" not in export.read_text("utf-8"), "the export reveals no invoice"
    result = runner.invoke(app, ["ledger", "import-fingerprints", str(export), "--peer", "bank-b",
                                 "--from", SAMPLE_NIGHT, "--home", str(bank_a)])
    assert result.exit_code == 0, result.output

    run_ok(bank_a, sample_inbox, NIGHT)
    found = [f for f in read_csv(bank_a / "reports" / SAMPLE_NIGHT / "findings.csv")
             if f["check_id"] == "DUP_FINANCED_AT_PEER_BANK"]
    assert [(f["financing_id"], f["invoice_no"], f["severity"]) for f in found] == [
        ("F202611200001", "26320000000000023456", "critical")
    ]
    assert "financed at bank-b for ¥20000.00" in found[0]["detail"] and "¥50000.00 in all" in found[0]["detail"]
    # The bill financing's invoice is not in bank B's books: no finding for it.
    status = {r["financing_id"]: r["check_ids"] for r in read_csv(bank_a / "reports" / SAMPLE_NIGHT / "financing_status.csv")}
    assert "DUP_FINANCED_AT_PEER_BANK" not in status["F202611200002"]


def _fingerprints(wh: Warehouse, financing_id: str, amount_fen: int, peer_amount_fen: int) -> None:
    """Our financing's invoice fingerprint (in its ledger entry), and the peer's of the same invoice."""
    ensure_schema(wh.con)
    digest = bytes.fromhex("ab" * 32)
    record = FinancingRecord(financing_id, *(None,) * 10, (), amount_fen, amount_fen, None, NIGHT, None, "ACTIVE")
    annex = FingerprintAnnex((Fingerprint("INVOICE_ID", digest, amount_fen),))
    record_fingerprints(wh.con, LedgerStore(wh.con).append([PendingEntry(record, annex)], NIGHT), NIGHT)
    wh.con.execute("INSERT INTO peer_fingerprints VALUES ('bank-b', 'INVOICE_ID', ?, ?, ?, ?)",
                   [digest, NIGHT - dt.timedelta(days=3), peer_amount_fen, NIGHT])


def test_an_invoice_split_between_two_banks_within_its_value_is_not_a_duplicate(wh):
    invoice(wh, NIGHT, "26320000000000000001", 100_000_00)
    financing(wh, NIGHT, "F1", "INVOICE", invoices={"26320000000000000001": 60_000_00})
    _fingerprints(wh, "F1", 60_000_00, peer_amount_fen=40_000_00)
    run_catalogue(wh.con, NIGHT, checks=[BY_ID["DUP_FINANCED_AT_PEER_BANK"]])
    assert wh.con.execute("SELECT count(*) FROM findings").fetchone() == (0,)
    wh.con.execute("UPDATE peer_fingerprints SET amount_fen = 40_000_00 + 101")
    run_catalogue(wh.con, NIGHT, checks=[BY_ID["DUP_FINANCED_AT_PEER_BANK"]])
    assert wh.con.execute("SELECT financing_id, severity FROM findings").fetchall() == [("F1", "critical")]
