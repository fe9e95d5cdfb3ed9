"""Not yet is not absent, end to end: an invoice file that arrived but could not be read does
not make its invoices unknown to the tax data (fraud); the finding is pending and says why."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import SAMPLE_NIGHT
from tests.integration.test_pipeline import read_csv, run_ok

INVOICE = "26320000000000023456"  # presented by F202611200001, delivered in tax/batch_0001.xml


def test_a_quarantined_invoice_file_leaves_its_financings_pending(tmp_path: Path, sample_inbox: Path) -> None:
    batch = sample_inbox / SAMPLE_NIGHT / "tax" / "batch_0001.xml"
    batch.write_text(batch.read_text("utf-8")[:-40], "utf-8")  # truncated in transit: MALFORMED_XML
    home = tmp_path / "home"
    run_ok(home, sample_inbox)
    reports = home / "reports" / SAMPLE_NIGHT
    findings = [r for r in read_csv(reports / "findings.csv") if r["check_id"] == "INVOICE_NOT_IN_TAX_DATA"]
    mine = next(r for r in findings if r["invoice_no"] == INVOICE)
    assert mine["severity"] == "medium"
    assert mine["detail"].startswith(f"Evidence pending since {SAMPLE_NIGHT}: awaited from tax/*.xml")
    assert "tax/batch_0001.xml delivered on 2026-11-20 could not be read (MALFORMED_XML)" in mine["detail"]
    evidence = json.loads(mine["evidence"])
    assert evidence["pending"] is True and evidence["pending_since"] == SAMPLE_NIGHT
    assert {r["severity"] for r in findings} == {"medium"}, "no invoice of the unreadable file is called unknown"
    status = {r["financing_id"]: r["verdict"] for r in read_csv(reports / "financing_status.csv")}
    assert status["F202611200001"] == "review"
