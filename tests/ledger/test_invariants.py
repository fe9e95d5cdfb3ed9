"""The voucher state machine, one check id at a time (pure functions, no warehouse)."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger.entries import FinancingRecord, VoucherEvent
from ledger.invariants import (
    CHECK_IDS,
    Accepted,
    FinancingTerms,
    Rejection,
    VoucherState,
    apply_accepted,
    apply_event,
    financing_mismatch,
)

CORE, T1, T2, T3, BANK = "CORE", "T1", "T2", "T3", "313521000011"
MATURITY = dt.date(2027, 5, 12)


def ev(event_type: str, voucher: str | None, *, frm=T1, to=T1, amount=100, parent=None, issuer=CORE,
       maturity=MATURITY, time="2026-11-20T10:00:00+08:00", financing=None, eid=None) -> VoucherEvent:
    return VoucherEvent(
        event_id=eid or f"E-{event_type}-{voucher}", event_time=time, event_type=event_type, voucher_id=voucher,
        parent_voucher_id=parent, issuer_uscc=issuer, from_uscc=frm, to_uscc=to, amount_fen=amount,
        maturity_date=maturity, invoices=(), ap_ref="1000-2026-1-001" if event_type == "ISSUE" else None,
        financing_id=financing,
    )


def issued(amount: int = 100) -> dict[str, VoucherState]:
    vouchers: dict[str, VoucherState] = {}
    out = apply_event(ev("ISSUE", "V0", frm=CORE, to=T1, amount=amount), vouchers, payable_exists=True)
    assert isinstance(out, Accepted)
    apply_accepted(vouchers, out)
    return vouchers


def refused(event: VoucherEvent, vouchers, **kw) -> Rejection:
    before = dict(vouchers)
    out = apply_event(event, vouchers, **kw)
    assert isinstance(out, Rejection), out
    assert vouchers == before
    assert out.check_id in CHECK_IDS and out.reason.endswith(".")
    return out


def accepted(event: VoucherEvent, vouchers, **kw) -> dict[str, VoucherState]:
    out = apply_event(event, vouchers, **kw)
    assert isinstance(out, Accepted), out
    apply_accepted(vouchers, out)
    return vouchers


def test_issue_then_split_transfer_finance_settle() -> None:
    v = issued(100)
    assert v["V0"].tier == 1 and v["V0"].holder_uscc == T1
    accepted(ev("SPLIT", "V1", parent="V0", amount=30), v)
    assert (v["V0"].remaining_fen, v["V1"].remaining_fen) == (70, 30)
    assert v["V1"].root_voucher_id == "V0" and v["V1"].maturity_date == MATURITY
    accepted(ev("TRANSFER", "V1", frm=T1, to=T2, amount=30), v)
    assert (v["V1"].holder_uscc, v["V1"].tier) == (T2, 2)
    accepted(ev("FINANCE", "V1", frm=T2, to=BANK, amount=30, financing="F1"), v)
    assert (v["V1"].status, v["V1"].financing_id, v["V1"].holder_uscc) == ("FINANCED", "F1", BANK)
    accepted(ev("SETTLE", "V1", frm=CORE, to=BANK, amount=30), v)
    assert v["V1"].status == "SETTLED"
    accepted(ev("CANCEL", "V0", frm=CORE, to=CORE, amount=70), v)
    assert v["V0"].status == "CANCELLED"


def test_not_holder() -> None:
    v = issued()
    for event in (
        ev("TRANSFER", "V0", frm=T2, to=T3, amount=100),
        ev("FINANCE", "V0", frm=T2, to=BANK, amount=100),
        ev("SPLIT", "V1", parent="V0", frm=T2, to=T2, amount=10),
        ev("SPLIT", "V1", parent="V0", frm=T1, to=T2, amount=10),
    ):
        r = refused(event, v)
        assert r.check_id == "LEDGER_NOT_HOLDER"
        assert r.evidence["holder"] == T1
    assert refused(ev("ISSUE", "V9", frm=T2, to=T1), v, payable_exists=True).check_id == "LEDGER_NOT_HOLDER"


def test_split_exceeds_and_must_be_positive() -> None:
    v = issued(100)
    r = refused(ev("SPLIT", "V1", parent="V0", amount=101), v)
    assert r.check_id == "LEDGER_SPLIT_EXCEEDS"
    assert "¥1.01" in r.reason and "¥1.00" in r.reason
    for amount in (0, -5, None):
        assert refused(ev("SPLIT", "V1", parent="V0", amount=amount), v).check_id == "LEDGER_SPLIT_EXCEEDS"
    accepted(ev("SPLIT", "V1", parent="V0", amount=100), v)  # all of it is allowed
    assert refused(ev("SPLIT", "V2", parent="V0", amount=1), v).check_id == "LEDGER_SPLIT_EXCEEDS"


def test_split_inheritance() -> None:
    v = issued()
    r = refused(ev("SPLIT", "V1", parent="V0", amount=10, maturity=MATURITY + dt.timedelta(days=1)), v)
    assert r.check_id == "LEDGER_SPLIT_INHERITANCE" and "maturity_date" in r.evidence
    r = refused(ev("SPLIT", "V1", parent="V0", amount=10, issuer="OTHER"), v)
    assert r.check_id == "LEDGER_SPLIT_INHERITANCE" and "issuer_uscc" in r.evidence


def test_partial_move() -> None:
    v = issued(100)
    accepted(ev("SPLIT", "V1", parent="V0", amount=40), v)
    r = refused(ev("TRANSFER", "V0", frm=T1, to=T2, amount=100), v)
    assert r.check_id == "LEDGER_PARTIAL_MOVE" and r.evidence["remaining_fen"] == 60
    assert refused(ev("FINANCE", "V0", frm=T1, to=BANK, amount=40), v).check_id == "LEDGER_PARTIAL_MOVE"


def test_nothing_moves_after_final() -> None:
    v = issued(100)
    accepted(ev("FINANCE", "V0", frm=T1, to=BANK, amount=100, financing="F1"), v)
    for event in (
        ev("TRANSFER", "V0", frm=BANK, to=T2, amount=100),
        ev("FINANCE", "V0", frm=BANK, to=BANK, amount=100, financing="F2"),
        ev("SPLIT", "V1", parent="V0", frm=BANK, to=BANK, amount=10),
        ev("CANCEL", "V0"),
    ):
        assert refused(event, v).check_id == "LEDGER_MOVE_AFTER_FINAL"
    accepted(ev("SETTLE", "V0", frm=CORE, to=BANK, amount=100), v)
    assert refused(ev("SETTLE", "V0"), v).check_id == "LEDGER_MOVE_AFTER_FINAL"
    w = issued(5)
    accepted(ev("CANCEL", "V0"), w)
    assert refused(ev("TRANSFER", "V0", frm=T1, to=T2, amount=5), w).check_id == "LEDGER_MOVE_AFTER_FINAL"


def test_no_financing_on_or_after_maturity() -> None:
    v = issued()
    for time in ("2027-05-12T00:00:00+08:00", "2027-05-11T16:00:00Z", "2027-06-01T10:00:00+08:00"):
        r = refused(ev("FINANCE", "V0", frm=T1, to=BANK, amount=100, time=time), v)
        assert r.check_id == "LEDGER_FINANCE_AFTER_MATURITY"
    accepted(ev("FINANCE", "V0", frm=T1, to=BANK, amount=100, time="2027-05-11T15:59:59Z"), v)


def test_issue_needs_a_payable_and_a_new_id() -> None:
    assert refused(ev("ISSUE", "V0", frm=CORE), {}, payable_exists=False).check_id == "LEDGER_ISSUE_WITHOUT_PAYABLE"
    assert refused(ev("ISSUE", "V0", frm=CORE, amount=0), {}, payable_exists=True).check_id == (
        "LEDGER_ISSUE_WITHOUT_PAYABLE"
    )
    v = issued()
    assert refused(ev("ISSUE", "V0", frm=CORE), v, payable_exists=True).check_id == "LEDGER_DUPLICATE_VOUCHER"
    accepted(ev("SPLIT", "V1", parent="V0", amount=1), v)
    assert refused(ev("SPLIT", "V1", parent="V0", amount=1), v).check_id == "LEDGER_DUPLICATE_VOUCHER"


@pytest.mark.parametrize("kind", ["TRANSFER", "FINANCE", "SETTLE", "CANCEL"])
def test_unknown_voucher(kind: str) -> None:
    assert refused(ev(kind, "V404"), issued()).check_id == "LEDGER_UNKNOWN_VOUCHER"
    assert refused(ev("SPLIT", "V1", parent="V404"), issued()).check_id == "LEDGER_UNKNOWN_VOUCHER"


def _financing(**kw) -> FinancingRecord:
    base = dict(
        financing_id="F1", bank_code=BANK, product="VOUCHER", applicant_uscc=T1, debtor_uscc=CORE,
        asset_ref="V0", asset_voucher_id="V0", asset_cd_no=None, asset_range_start=None, asset_range_end=None,
        asset_invoice_no=None, invoices=(), face_amount_fen=100, financed_amount_fen=99, rate_micros=29800,
        value_date=None, maturity_date=MATURITY, status="ACTIVE",
    )
    return FinancingRecord(**{**base, **kw})


def test_financing_mismatch() -> None:
    event = ev("FINANCE", "V0", frm=T1, to=BANK, amount=100, financing="F1")
    assert financing_mismatch(event, _financing()) is None
    for change, field in (
        ({"asset_voucher_id": "V9"}, "voucher"), ({"face_amount_fen": 90}, "amount_fen"),
        ({"bank_code": "999999999999"}, "bank"), ({"applicant_uscc": T2}, "applicant"),
    ):
        r = financing_mismatch(event, _financing(**change))
        assert r is not None and r.check_id == "LEDGER_FINANCING_MISMATCH" and field in r.evidence
        assert refused(event, issued(), financing=_financing(**change)).check_id == "LEDGER_FINANCING_MISMATCH"
    assert "¥1.00 vs ¥0.90" in financing_mismatch(event, _financing(face_amount_fen=90)).reason


def test_a_finance_event_is_judged_alike_against_its_financing_and_the_terms_read_of_it() -> None:
    """The events read only a financing's terms (inputs.first_financings): the same decision as the whole record."""
    event = ev("FINANCE", "V0", frm=T1, to=BANK, amount=100, financing="F1")
    for change in ({}, {"asset_voucher_id": "V9"}, {"face_amount_fen": 90}, {"bank_code": None}, {"applicant_uscc": T2},
                   {"financed_amount_fen": 1, "invoices": (), "status": "SETTLED"}):
        record = _financing(**change)
        terms = FinancingTerms(*(getattr(record, name) for name in FinancingTerms._fields))
        assert financing_mismatch(event, terms) == financing_mismatch(event, record)
        assert apply_event(event, issued(), financing=terms) == apply_event(event, issued(), financing=record)


def test_unknown_event_type_is_refused() -> None:
    assert refused(ev("MERGE", "V0"), issued()).check_id == "LEDGER_EVENT_CONFLICT"


def test_apply_does_not_mutate_its_input() -> None:
    v = issued()
    snapshot = dict(v)
    apply_event(ev("SPLIT", "V1", parent="V0", amount=10), v)
    assert v == snapshot
