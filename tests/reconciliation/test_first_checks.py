"""The first checks on hand-built histories: each fraud is found, each look-alike is not."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from reconciliation.catalogue import CATALOGUE
from reconciliation.check import Family
from reconciliation.findings import run_catalogue as run_all
from tests.factories import delivered, financing, insert, invoice, quarantined
from warehouse.asof import verdicts_as_of_sql
from warehouse.connection import Warehouse

D1 = dt.date(2026, 11, 18)


def run_catalogue(con, day, params=None):  # noqa: ANN001, ANN201 - these histories hold no trade evidence
    """The first checks only: the histories here have financings and invoices, no ERP or waybills."""
    return run_all(con, day, checks=CATALOGUE.of(Family.FIRST), params=params)


D2 = dt.date(2026, 11, 19)
INV_A = "26320000000000000001"
INV_B = "26320000000000000002"
BILL = "731352100001120261101000000123"



def findings_of(wh: Warehouse, day: dt.date) -> list[dict]:
    cur = wh.con.execute("SELECT * FROM findings WHERE business_date = ? ORDER BY finding_id", [day])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def verdicts_of(wh: Warehouse, day: dt.date) -> dict[str, str]:
    return dict(wh.con.execute(
        f"SELECT financing_id, verdict FROM ({verdicts_as_of_sql()})", [day]).fetchall())


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
    verdict = wh.con.execute(f"SELECT verdict, verdict_since FROM ({verdicts_as_of_sql()})", [D2]).fetchone()
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


# ---- verdicts: closed, implausible amounts ---------------------------------------------------


def test_financings_no_longer_live_are_closed_whatever_their_findings(wh):
    for fid, status in (("F1", "REPAID"), ("F2", "DEFAULTED"), ("F3", "CANCELLED"), ("F4", "ACTIVE")):
        financing(wh, D1, fid, "INVOICE", invoices={INV_A: 10_000_00}, status=status, bank="105100000017")
    invoice(wh, D1, INV_B, 10_000_00)
    financing(wh, D1, "F5", "INVOICE", invoices={INV_B: 10_000_00}, status="REPAID")
    run_catalogue(wh.con, D1)
    assert verdicts_of(wh, D1) == {"F1": "closed", "F2": "closed", "F3": "closed", "F4": "blocked", "F5": "closed"}
    check_ids = dict(wh.con.execute(f"SELECT financing_id, check_ids FROM ({verdicts_as_of_sql()})", [D1]).fetchall())
    assert check_ids["F2"] == "INVOICE_NOT_IN_TAX_DATA"  # the findings stay listed


@pytest.mark.parametrize(("face", "financed", "flagged"), [
    (10_000_00, 9_800_00, None),
    (0, 0, "a face amount of zero or less"),
    (10_000_00, -5_00, "a financed amount of zero or less"),
    (2_000_000_000_00, 1_900_000_000_00, "above the plausibility ceiling of ¥1000000000.00"),
    (10_000_00, 10_000_01, "more financed than the face value"),
])
def test_a_negative_zero_or_implausible_amount_is_never_clean(wh, face, financed, flagged):
    invoice(wh, D1, INV_A, 10_000_00)
    financing(wh, D1, "F1", "INVOICE", invoices={INV_A: 10_000_00}, face_fen=face)
    wh.con.execute("UPDATE financings SET financed_amount_fen = ?", [financed])
    run_catalogue(wh.con, D1)
    found = [f for f in findings_of(wh, D1) if f["check_id"] == "DQ_FINANCING_AMOUNT_IMPLAUSIBLE"]
    if flagged is None:
        assert found == [] and verdicts_of(wh, D1) == {"F1": "clean"}
        return
    assert len(found) == 1 and flagged in found[0]["detail"]
    assert (found[0]["category"], found[0]["severity"]) == ("data_quality", "medium")
    assert verdicts_of(wh, D1)["F1"] in ("review", "blocked")


def test_the_amount_ceiling_is_a_parameter(wh):
    invoice(wh, D1, INV_A, 10_000_00)
    financing(wh, D1, "F1", "INVOICE", invoices={INV_A: 10_000_00})
    run_catalogue(wh.con, D1, params={"financing_amount_ceiling_fen": 5_000_00})
    assert verdicts_of(wh, D1) == {"F1": "review"}


# ---- not yet is not absent ----------------------------------------------------------------

NIGHTLY = ("tax/batch_0001.xml", "platform/financings.csv")


def _pending(finding: dict) -> dict:
    return json.loads(finding["evidence"])


def test_an_invoice_in_a_quarantined_record_is_pending_until_the_window_passes(wh):
    delivered(wh, D1, *NIGHTLY)
    quarantined(wh, D1, "tax/batch_0001.xml", src_pos=3, raw=f"<EInvoice><Header><EIid>{INV_A}</EIid>…")
    financing(wh, D1, "F1", "INVOICE", invoices={INV_A: 10_000_00})
    financing(wh, D1, "F2", "INVOICE", invoices={INV_B: 10_000_00}, bank="105100000017")
    run_catalogue(wh.con, D1)
    found = {f["financing_id"]: f for f in findings_of(wh, D1)}
    assert (found["F1"]["severity"], found["F1"]["category"]) == ("medium", "data_quality")
    assert found["F1"]["detail"].startswith("Evidence pending since 2026-11-18: awaited from tax/*.xml")
    assert "record 3 of tax/batch_0001.xml" in found["F1"]["detail"]
    assert "fake" not in found["F1"]["detail"]
    assert _pending(found["F1"])["pending"] is True and _pending(found["F1"])["pending_since"] == "2026-11-18"
    assert found["F2"]["severity"] == "high", "an invoice no delivery names is absent, not pending"
    assert verdicts_of(wh, D1) == {"F1": "review", "F2": "blocked"}
    last_day = D1 + dt.timedelta(days=6)
    delivered(wh, last_day, *NIGHTLY)
    run_catalogue(wh.con, last_day)
    assert verdicts_of(wh, last_day)["F1"] == "review"
    window_passed = D1 + dt.timedelta(days=7)
    delivered(wh, window_passed, *NIGHTLY)
    run_catalogue(wh.con, window_passed)
    stands = {f["financing_id"]: f for f in findings_of(wh, window_passed)}["F1"]
    assert (stands["severity"], stands["category"], stands["finding_id"]) == ("high", "fake_trade", found["F1"]["finding_id"])
    assert "pending" not in _pending(stands)


@pytest.mark.parametrize("trouble", ["not_delivered", "file_quarantined"])
def test_a_tax_delivery_missing_or_unreadable_leaves_unknown_invoices_pending(wh, trouble):
    delivered(wh, D1, *NIGHTLY)
    if trouble == "not_delivered":
        delivered(wh, D2, "platform/financings.csv")
    else:
        delivered(wh, D2, *NIGHTLY)
        quarantined(wh, D2, "tax/batch_0001.xml", reason_code="MALFORMED_XML")
    financing(wh, D2, "F1", "INVOICE", invoices={INV_A: 10_000_00})
    run_catalogue(wh.con, D2)
    (found,) = findings_of(wh, D2)
    assert found["severity"] == "medium"
    reason = ("tax/*.xml has not been delivered since 2026-11-18" if trouble == "not_delivered"
              else "tax/batch_0001.xml delivered on 2026-11-19 could not be read (MALFORMED_XML)")
    assert reason in found["detail"]
    # The invoice arrives the next night: the finding goes, the financing is clean.
    d3 = D2 + dt.timedelta(days=1)
    delivered(wh, d3, *NIGHTLY)
    invoice(wh, d3, INV_A, 10_000_00, issued=D1)
    run_catalogue(wh.con, d3)
    assert findings_of(wh, d3) == [] and verdicts_of(wh, d3) == {"F1": "clean"}


# ---- an unreadable financings.csv row never vanishes -----------------------------------------


def _reject(wh, day, financing_id, **asset):  # noqa: ANN001, ANN003, ANN202
    insert(wh, "financing_rejects", day, financing_id=financing_id, bank_code="105100000017",
           reason_code="BAD_VALUE", reason="value_date: not an ISO date: '2026-13-01'", **asset)


def test_an_unreadable_row_gets_a_verdict_and_counts_against_its_voucher(wh):
    financing(wh, D1, "F1", "VOUCHER", invoices={}, face_fen=30_000_00, voucher="V3f9a1c2b4d5e6f71")
    _reject(wh, D1, "F2", product="VOUCHER", asset_ref="V3f9a1c2b4d5e6f71", asset_voucher_id="V3f9a1c2b4d5e6f71")
    _reject(wh, D1, "F3", product="LOAN")
    run_catalogue(wh.con, D1)
    found = {(f["check_id"], f["financing_id"]) for f in findings_of(wh, D1)}
    assert found == {("DUP_VOUCHER_MULTI_FINANCED", "F1"), ("DUP_VOUCHER_MULTI_FINANCED", "F2"),
                     ("DQ_FINANCING_ROW_UNREADABLE", "F2"), ("DQ_FINANCING_ROW_UNREADABLE", "F3")}
    assert verdicts_of(wh, D1) == {"F1": "blocked", "F2": "blocked", "F3": "review"}
    # Every night until a readable row replaces it.
    run_catalogue(wh.con, D2)
    assert verdicts_of(wh, D2)["F3"] == "review"
    financing(wh, D2, "F3", "INVOICE", invoices={INV_A: 10_000_00})
    invoice(wh, D2, INV_A, 10_000_00, issued=D1)
    run_catalogue(wh.con, D2)
    assert verdicts_of(wh, D2)["F3"] == "clean"


def test_an_unreadable_row_counts_against_the_bill_range_it_names(wh):
    financing(wh, D1, "F1", "BILL", invoices={}, bill=(BILL, 1, 5_000_000))
    _reject(wh, D1, None, product="BILL", asset_ref=f"{BILL}:4000001-6000000", asset_cd_no=BILL,
            asset_range_start=4_000_001, asset_range_end=6_000_000)
    run_catalogue(wh.con, D1)
    found = {(f["check_id"], f["financing_id"]) for f in findings_of(wh, D1)}
    assert ("DUP_BILL_RANGE_MULTI_FINANCED", "F1") in found
    assert verdicts_of(wh, D1) == {"F1": "blocked"}


# ---- the financing's timeline ------------------------------------------------------------------


def test_financing_valued_before_its_invoice_was_issued(wh):
    d3 = D2 + dt.timedelta(days=1)
    invoice(wh, D2, INV_A, 10_000_00, issued=D2)
    invoice(wh, D2, INV_B, 10_000_00, issued=D1)
    # Rows that arrive on a later night than their value date.
    financing(wh, d3, "F1", "INVOICE", invoices={INV_A: 10_000_00})
    financing(wh, d3, "F2", "INVOICE", invoices={INV_B: 10_000_00}, bank="105100000017")
    wh.con.execute("UPDATE financings SET value_date = ?", [D1])
    run_catalogue(wh.con, d3)
    (found,) = findings_of(wh, d3)
    assert (found["check_id"], found["financing_id"], found["severity"]) == ("FINANCING_BEFORE_INVOICE", "F1", "high")
    assert "valued on 2026-11-18, 1 day(s) before invoice" in found["detail"]
    assert verdicts_of(wh, d3) == {"F1": "blocked", "F2": "clean"}, "an invoice issued on the value date is fine"


# ---- the bill exchange's record ---------------------------------------------------------------

OUR_BANK = "313521000011"
OTHER_BANK = "105100000017"


def _bill_record(wh, start, end, **state):  # noqa: ANN001, ANN003, ANN202
    insert(wh, "bills", D1, cd_no=BILL, splittable=True, range_start=start, range_end=end, bill_type="AC02",
           amount_fen=end - start + 1, bill_status=state.pop("bill_status", "CS03"),
           circulation_status=state.pop("circulation_status", "TF0301"), **state)


@pytest.mark.parametrize(("state", "severity", "says"), [
    ({"discount_bank": OUR_BANK, "discount_date": D1}, None, None),
    ({"discount_bank": OTHER_BANK, "discount_date": D1}, "critical", f"discounted by bank {OTHER_BANK} on 2026-11-18"),
    ({"pledge_bank": OTHER_BANK, "pledge_date": D1}, "critical", f"pledged to bank {OTHER_BANK} on 2026-11-18"),
    ({"circulation_status": "TF0304"}, "critical", "pledged"),
    ({"circulation_status": "TF0302"}, "high", "locked (TF0302)"),
    ({"circulation_status": "TF0402"}, "high", "in recourse (TF0402)"),
    ({"circulation_status": "TF0501"}, "high", "ended"),
    ({"bill_status": "CS06"}, "high", "ended (CS06"),
    ({"circulation_status": "TF0401"}, None, None),  # in collection at maturity: not a conflict
])
def test_bill_financing_against_the_exchanges_record(wh, state, severity, says):
    _bill_record(wh, 1, 5_000_000, **state)
    financing(wh, D1, "F1", "BILL", invoices={}, bill=(BILL, 1, 5_000_000), bank=OUR_BANK)
    run_catalogue(wh.con, D1)
    found = [f for f in findings_of(wh, D1) if f["check_id"] == "BILL_EXCHANGE_CONFLICT"]
    if severity is None:
        assert found == [] and verdicts_of(wh, D1) == {"F1": "clean"}
        return
    (finding,) = found
    assert (finding["financing_id"], finding["bill_ref"], finding["severity"]) == ("F1", f"{BILL}:1-5000000", severity)
    assert says in finding["detail"]


def test_bill_exchange_only_the_overlapping_record_and_the_same_bank_twice(wh):
    _bill_record(wh, 1, 3_000_000, discount_bank=OTHER_BANK, discount_date=D1)
    _bill_record(wh, 3_000_001, 5_000_000, discount_bank=OUR_BANK, discount_date=D1)
    financing(wh, D1, "F1", "BILL", invoices={}, bill=(BILL, 3_000_001, 5_000_000), bank=OUR_BANK)
    run_catalogue(wh.con, D1)
    assert findings_of(wh, D1) == [], "the other bank discounted a disjoint range"
    # The same bank books the range again in another financing, a night later: the exchange's
    # discount is F1's (valued that day), not F3's.
    financing(wh, D2, "F3", "BILL", invoices={}, bill=(BILL, 3_000_001, 5_000_000), bank=OUR_BANK)
    run_catalogue(wh.con, D2)
    found = {(f["check_id"], f["financing_id"]) for f in findings_of(wh, D2) if f["check_id"] == "BILL_EXCHANGE_CONFLICT"}
    assert found == {("BILL_EXCHANGE_CONFLICT", "F3")}
