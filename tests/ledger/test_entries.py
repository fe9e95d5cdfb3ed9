"""Canonical entry bytes: versioned, length-prefixed, int64 fen, strictly decoded."""

from __future__ import annotations

import datetime as dt
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.entries import (
    PREV_OFFSET,
    SEQ_OFFSET,
    ZERO_HASH,
    EntryFormatError,
    EntryType,
    FinancingRecord,
    FinancingStatus,
    Fingerprint,
    FingerprintAnnex,
    InvoiceAmount,
    VoucherEvent,
    content_hash,
    decode_entry,
    encode_entry,
    encode_record,
    encode_values,
)
from ledger.merkle import leaf_hash
from ledger.store import content_hash_column, row_keys

EVENT = VoucherEvent(
    event_id="EV000001",
    event_time="2026-11-14T10:00:00+08:00",
    event_type="ISSUE",
    voucher_id="V3f9a1c2b4d5e6f70",
    parent_voucher_id=None,
    issuer_uscc="91440300MA5F00001A",
    from_uscc="91440300MA5F00001A",
    to_uscc="91320500MA1X000024",
    amount_fen=11_300_000,
    maturity_date=dt.date(2027, 5, 12),
    invoices=(InvoiceAmount("26320000000000012345", 11_300_000),),
    ap_ref="1000-2026-5100001234-001",
    financing_id=None,
)
FINANCING = FinancingRecord(
    financing_id="F202611200001",
    bank_code="313521000011",
    product="VOUCHER",
    applicant_uscc="91320500MA1X000037",
    debtor_uscc="91440300MA5F00001A",
    asset_ref="V3f9a1c2b4d5e6f71",
    asset_voucher_id="V3f9a1c2b4d5e6f71",
    asset_cd_no=None,
    asset_range_start=None,
    asset_range_end=None,
    asset_invoice_no=None,
    invoices=(InvoiceAmount("26320000000000023456", 3_000_000),),
    face_amount_fen=3_000_000,
    financed_amount_fen=2_957_038,
    rate_micros=29_800,
    value_date=dt.date(2026, 11, 20),
    maturity_date=dt.date(2027, 5, 12),
    status="ACTIVE",
)
DAY = dt.date(2026, 11, 20)
VOID = FinancingStatus("F202611200001", content_hash(FINANCING), "VOIDED", None, "Financing F202611200001 is no longer delivered.")


def test_layout_of_an_entry() -> None:
    data = encode_entry(EVENT, seq=7, prev_leaf_hash=b"\x11" * 32, ledger_date=DAY)
    assert data[:2] == bytes([1, EntryType.VOUCHER_EVENT])
    assert data[2:SEQ_OFFSET] == b"\x00\x00\x00\x08"
    assert struct.unpack(">q", data[SEQ_OFFSET : SEQ_OFFSET + 8])[0] == 7
    assert data[PREV_OFFSET - 4 : PREV_OFFSET] == b"\x00\x00\x00\x20"
    assert data[PREV_OFFSET : PREV_OFFSET + 32] == b"\x11" * 32
    # amounts are 8-byte big-endian int64, never text
    assert struct.pack(">q", 11_300_000) in data
    assert b"113000" not in data


def test_a_financing_status_entry_is_type_4_and_names_the_version_it_voids() -> None:
    data = encode_entry(VOID, seq=9, prev_leaf_hash=ZERO_HASH, ledger_date=DAY)
    assert data[:2] == bytes([1, 4])
    assert decode_entry(data).record.financing_hash == content_hash(FINANCING)
    assert row_keys(VOID) == ("FINANCING_VOIDED", None, "F202611200001", None, None)
    assert content_hash_column(VOID, content_hash(VOID)) == content_hash(FINANCING)


def test_golden_bytes_are_stable() -> None:
    """The canonical bytes of a known record never change (a change breaks every proof)."""
    data = encode_entry(EVENT, seq=0, prev_leaf_hash=ZERO_HASH, ledger_date=DAY)
    expected_prefix = (
        "0101" "00000008" "0000000000000000" "00000020" + "00" * 32 + "0000000a" + b"2026-11-20".hex()
    )
    assert data.hex().startswith(expected_prefix)
    assert len(data) == 325
    assert content_hash(EVENT).hex() == "1485d62749fc60a2c27e40da2568b77a26cfd250abe00fa0cc70d082fb3aab91"
    assert leaf_hash(data).hex() == "0bf2c658f58a136c243b789c74dd8c694945cdec4d2946640701ce0dc293dfcf"


@pytest.mark.parametrize("record", [EVENT, FINANCING, VOID])
def test_round_trip(record) -> None:
    annex = FingerprintAnnex((Fingerprint("VOUCHER", b"\xab" * 32, 5),)) if record is FINANCING else None
    data = encode_entry(record, seq=123, prev_leaf_hash=b"\x01" * 32, ledger_date=DAY, annex=annex)
    entry = decode_entry(data)
    assert entry.record == record
    assert entry.seq == 123 and entry.ledger_date == DAY and entry.prev_leaf_hash == b"\x01" * 32
    if annex:
        assert entry.annex == annex


def test_content_hash_ignores_position_and_night_but_not_content() -> None:
    a = encode_entry(EVENT, seq=0, prev_leaf_hash=ZERO_HASH, ledger_date=DAY)
    b = encode_entry(EVENT, seq=9, prev_leaf_hash=b"\x02" * 32, ledger_date=DAY + dt.timedelta(days=3))
    assert a != b
    moved = VoucherEvent(**{**EVENT.__dict__, "amount_fen": EVENT.amount_fen + 1})
    assert content_hash(EVENT) == content_hash(VoucherEvent(**EVENT.__dict__))
    assert content_hash(moved) != content_hash(EVENT)


def test_length_prefixes_prevent_boundary_shifts() -> None:
    """'AB' + 'C' and 'A' + 'BC' would collide in a plain concatenation."""
    one = VoucherEvent(**{**EVENT.__dict__, "from_uscc": "AB", "to_uscc": "C"})
    two = VoucherEvent(**{**EVENT.__dict__, "from_uscc": "A", "to_uscc": "BC"})
    assert encode_record(one) != encode_record(two)
    assert encode_values("AB", "C") != encode_values("A", "BC")


def test_null_and_empty_text_are_the_same_but_differ_from_a_value() -> None:
    assert encode_values(None) == encode_values("") != encode_values(" ")


def test_types_are_enforced() -> None:
    with pytest.raises(TypeError):
        encode_record(VoucherEvent(**{**EVENT.__dict__, "amount_fen": 1.5}))
    with pytest.raises(TypeError):
        encode_record(VoucherEvent(**{**EVENT.__dict__, "maturity_date": "2027-05-12"}))
    with pytest.raises(ValueError):
        encode_entry(EVENT, seq=0, prev_leaf_hash=b"short", ledger_date=DAY)
    with pytest.raises(TypeError):
        encode_entry(EVENT, seq=0, prev_leaf_hash=ZERO_HASH, ledger_date=DAY, annex=FingerprintAnnex())


def test_decoding_is_strict() -> None:
    data = encode_entry(FINANCING, seq=1, prev_leaf_hash=ZERO_HASH, ledger_date=DAY)
    for bad in (data[:-1], data + b"\x00", b"\x02" + data[1:], data[:1] + b"\x09" + data[2:], data[:20]):
        with pytest.raises(EntryFormatError):
            decode_entry(bad)


texts = st.one_of(st.none(), st.text(min_size=1, max_size=12).filter(lambda s: s.strip() == s and s))
fens = st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63 - 1))
dates = st.one_of(st.none(), st.dates())


@settings(max_examples=150, deadline=None)
@given(
    texts, texts, texts, fens, dates,
    st.lists(st.tuples(texts, fens), max_size=3),
    st.integers(min_value=0, max_value=2**62),
)
def test_any_event_round_trips(eid, vid, frm, amount, maturity, invoices, seq) -> None:
    record = VoucherEvent(
        event_id=eid or "E", event_time=None, event_type="SPLIT", voucher_id=vid, parent_voucher_id=None,
        issuer_uscc=None, from_uscc=frm, to_uscc=None, amount_fen=amount, maturity_date=maturity,
        invoices=tuple(InvoiceAmount(n, f) for n, f in invoices), ap_ref=None, financing_id=None,
    )
    data = encode_entry(record, seq=seq, prev_leaf_hash=ZERO_HASH, ledger_date=DAY)
    assert decode_entry(data).record == record
