"""The first checks on hand-built histories: each fraud is found, each look-alike is not."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from connectors.warehouse import Warehouse
from reconciliation.catalogue import FIRST_CHECKS
from reconciliation.findings import run_catalogue as run_all
from tests.factories import financing, insert, invoice

D1 = dt.date(2026, 11, 18)


def run_catalogue(con, day):  # noqa: ANN001, ANN201 - these histories hold no trade evidence
    """The first checks only: the histories here have financings and invoices, no ERP or waybills."""
    return run_all(con, day, checks=FIRST_CHECKS)


D2 = dt.date(2026, 11, 19)
INV_A = "26320000000000000001"
INV_B = "26320000000000000002"
BILL = "731352100001120261101000000123"



def findings_of(wh: Warehouse, day: dt.date) -> list[dict]:
    cur = wh.con.execute("SELECT * FROM findings WHERE business_date = ? ORDER BY finding_id", [day])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def verdicts_of(wh: Warehouse, day: dt.date) -> dict[str, str]:
    return dict(wh.con.execute(
        "SELECT financing_id, verdict FROM financing_verdicts WHERE business_date = ?", [day]).fetchall())


def test_invoice_financed_twice_across_nights_and_banks_is_critical(wh):
    invoice(wh, D1, INV_A, 100_000_00)
    financing(wh, D1, "F1", "VOUCHER", invoices={INV_A: 80_000_00}, voucher="V0000000000000001")
    run_catalogue(wh.con, D1)
    assert findings_of(wh, D1) == []
    financing(wh, D2, "F2", "INVOICE", invoices={INV_A: 60_000_00}, bank="105100000017")
    run_catalogue(wh.con, D2)
    found = [f for f in findings_of(wh, D2) if f["check_id"] == "DUP_INVOICE_MULTI_FINANCED"]
    assert {f["financing_id"] for f in found} == {"F1", "F2"}
    assert {f["severity"] for f in found} == {"critical"}
    assert "140000.00 in all, ¥40000.00 more than it is worth" in found[0]["detail"]
    assert json.loads(found[0]["evidence"])["financings"] == ["F1", "F2"]
    assert verdicts_of(wh, D2) == {"F1": "blocked", "F2": "blocked"}


def test_invoice_split_across_voucher_and_bill_within_value_is_clean(wh):
    invoice(wh, D1, INV_A, 100_000_00)
    financing(wh, D1, "F1", "VOUCHER", invoices={INV_A: 60_000_00}, voucher="V0000000000000001")
    financing(wh, D1, "F2", "BILL", invoices={INV_A: 40_000_00}, bill=(BILL, 1, 4_000_000))
    run_catalogue(wh.con, D1)
    assert findings_of(wh, D1) == []
    assert verdicts_of(wh, D1) == {"F1": "clean", "F2": "clean"}


def test_cancelled_financing_does_not_count_towards_duplicates(wh):
    invoice(wh, D1, INV_A, 100_000_00)
    financing(wh, D1, "F1", "INVOICE", invoices={INV_A: 100_000_00}, status="CANCELLED")
    financing(wh, D1, "F2", "INVOICE", invoices={INV_A: 100_000_00}, bank="105100000017")
    run_catalogue(wh.con, D1)
    assert findings_of(wh, D1) == []


def test_single_financing_beyond_invoice_value(wh):
    invoice(wh, D1, INV_A, 10_000_00)
    financing(wh, D1, "F1", "INVOICE", invoices={INV_A: 10_001_01})
    financing(wh, D1, "F2", "INVOICE", invoices={INV_B: 5_000_00}, bank="105100000017")
    invoice(wh, D1, INV_B, 4_999_50)  # presented ¥0.50 above its value: within the ¥1 tolerance
    run_catalogue(wh.con, D1)
    found = findings_of(wh, D1)
    assert [(f["check_id"], f["financing_id"]) for f in found] == [("INVOICE_FINANCED_BEYOND_VALUE", "F1")]


def test_voucher_financed_twice(wh):
    for fid, bank in (("F1", "313521000011"), ("F2", "105100000017")):
        financing(wh, D1, fid, "VOUCHER", invoices={}, face_fen=30_000_00, voucher="V3f9a1c2b4d5e6f71", bank=bank)
    run_catalogue(wh.con, D1)
    found = findings_of(wh, D1)
    assert {(f["check_id"], f["financing_id"], f["voucher_id"]) for f in found} == {
        ("DUP_VOUCHER_MULTI_FINANCED", "F1", "V3f9a1c2b4d5e6f71"),
        ("DUP_VOUCHER_MULTI_FINANCED", "F2", "V3f9a1c2b4d5e6f71"),
    }


def test_overlapping_bill_ranges_found_and_adjacent_ranges_are_not(wh):
    financing(wh, D1, "F1", "BILL", invoices={}, bill=(BILL, 1, 5_000_000))
    financing(wh, D1, "F2", "BILL", invoices={}, bill=(BILL, 5_000_001, 8_000_000), bank="105100000017")
    run_catalogue(wh.con, D1)
    assert findings_of(wh, D1) == []
    financing(wh, D2, "F3", "BILL", invoices={}, bill=(BILL, 4_000_001, 6_000_000), bank="102100099996")
    run_catalogue(wh.con, D2)
    found = {f["financing_id"]: f for f in findings_of(wh, D2)}
    assert set(found) == {"F1", "F2", "F3"}
    assert "¥10000.00 of it is financed twice" in found["F1"]["detail"]  # units 4,000,001..5,000,000
    assert len(json.loads(found["F3"]["evidence"])["overlapping"]) == 2


def test_invoice_unknown_to_tax_data_until_it_arrives(wh):
    financing(wh, D1, "F1", "INVOICE", invoices={INV_A: 10_000_00})
    run_catalogue(wh.con, D1)
    assert [f["check_id"] for f in findings_of(wh, D1)] == ["INVOICE_NOT_IN_TAX_DATA"]
    assert verdicts_of(wh, D1) == {"F1": "blocked"}
    invoice(wh, D2, INV_A, 10_000_00, issued=D1)
    run_catalogue(wh.con, D2)
    assert findings_of(wh, D2) == []
    verdict = wh.con.execute("SELECT verdict, verdict_since FROM financing_verdicts WHERE business_date = ?", [D2]).fetchone()
    assert verdict == ("clean", D2)
    # Re-running the first night still sees only what had arrived by then.
    run_catalogue(wh.con, D1)
    assert [f["check_id"] for f in findings_of(wh, D1)] == ["INVOICE_NOT_IN_TAX_DATA"]


def test_red_flush_full_partial_and_red_letter_of_another_invoice(wh):
    invoice(wh, D1, INV_A, 100_000_00)
    invoice(wh, D1, INV_B, 100_000_00)
    invoice(wh, D1, "26320000000000000003", 50_000_00)
    # A red-letter invoice of the same parties and amount reverses a *different* invoice.
    invoice(wh, D1, "26320000000000000009", -100_000_00, red_of="26320000000000000008")
    financing(wh, D1, "F1", "INVOICE", invoices={INV_A: 90_000_00})
    financing(wh, D1, "F2", "INVOICE", invoices={INV_B: 90_000_00})
    financing(wh, D1, "F3", "INVOICE", invoices={"26320000000000000003": 20_000_00})
    insert(wh, "tax_invoice_status", D1, invoice_no=INV_A, status="3", red_flushed_fen=100_000_00, change_date=D1)
    insert(wh, "tax_invoice_status", D1, invoice_no="26320000000000000003", status="3",
           red_flushed_fen=20_000_00, change_date=D1)  # 30,000 left ≥ 20,000 financed: fine
    invoice(wh, D1, "26320000000000000010", -30_000_00, red_of=INV_B)  # 70,000 left < 90,000
    run_catalogue(wh.con, D1)
    found = {(f["financing_id"], f["check_id"]): f["severity"] for f in findings_of(wh, D1)}
    assert found == {("F1", "INVOICE_RED_FLUSHED"): "critical", ("F2", "INVOICE_RED_FLUSHED"): "high"}


@pytest.mark.parametrize(("status", "severity"), [("1", "critical"), ("2", "critical"), ("4", "high"), ("0", None)])
def test_abnormal_tax_status(wh, status, severity):
    invoice(wh, D1, INV_A, 10_000_00)
    financing(wh, D1, "F1", "INVOICE", invoices={INV_A: 10_000_00})
    insert(wh, "tax_invoice_status", D1, invoice_no=INV_A, status=status, red_flushed_fen=0, change_date=D1)
    run_catalogue(wh.con, D1)
    found = [(f["check_id"], f["severity"]) for f in findings_of(wh, D1)]
    assert found == ([("INVOICE_STATUS_ABNORMAL", severity)] if severity else [])


def test_finding_ids_are_stable_across_reruns_and_nights(wh):
    financing(wh, D1, "F1", "INVOICE", invoices={INV_A: 10_000_00})
    run_catalogue(wh.con, D1)
    first = findings_of(wh, D1)
    run_catalogue(wh.con, D1)
    assert findings_of(wh, D1) == first
    run_catalogue(wh.con, D2)
    second = findings_of(wh, D2)
    assert [f["finding_id"] for f in second] == [f["finding_id"] for f in first]
    assert second[0]["first_seen_date"] == D1
