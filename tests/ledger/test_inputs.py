"""Delivered rows read as Arrow pages give the records a row at a time gave (ledger/inputs.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa

from ledger.entries import FinancingRecord, InvoiceAmount, VoucherEvent, none_if_empty
from ledger.inputs import events_from_page, financings_from_page

BLANKS = ["", " ", "\t", "\u3000", "\u00a0\n"]  # blank however it is blank: null, as none_if_empty says
TEXTS = [None, *BLANKS, "A", " A ", "票据"]
INT_COLUMNS = ("asset_range_start", "asset_range_end", "face_amount_fen", "financed_amount_fen")
INVOICES = pa.list_(pa.struct([("no", pa.string()), ("fen", pa.int64())]))


def test_an_event_page_reads_blank_text_as_null_and_falls_back_to_the_timestamp_and_the_invoice_text() -> None:
    n = len(TEXTS)
    moment = dt.datetime(2026, 11, 20, 9, 30, 1)
    page = pa.table({
        "event_id": [f"E{i}" for i in range(n)],
        "event_time_text": [None if i % 2 else "2026-11-20T09:30:01+08:00" for i in range(n)],
        "event_time": pa.array([moment if i % 3 else None for i in range(n)], pa.timestamp("s")),
        **{k: TEXTS for k in ("event_type", "voucher_id", "parent_voucher_id", "issuer_uscc", "from_uscc",
                              "to_uscc", "ap_ref", "financing_id")},
        "amount_fen": [i - 3 for i in range(n)],
        "maturity_date": pa.array([None, *[dt.date(2027, 5, i + 1) for i in range(n - 1)]], pa.date32()),
        "invoices": pa.array([[{"no": "00000000000000000002", "fen": 5}, {"no": "00000000000000000001", "fen": 7}]
                              if i == 1 else None for i in range(n)], INVOICES),
        "invoice_nos": ["00000000000000000009:1.00" if i == 2 else None for i in range(n)],
    })
    events = events_from_page(page)
    for i, (event, text) in enumerate(zip(events, TEXTS, strict=True)):
        blank = none_if_empty(text)
        assert (event.event_type, event.voucher_id, event.to_uscc, event.ap_ref, event.financing_id) == (blank,) * 5
        assert event.event_time == (
            "2026-11-20T09:30:01+08:00" if i % 2 == 0 else ("2026-11-20T09:30:01+08:00" if i % 3 else None)
        )
        assert event.amount_fen == i - 3 and event.maturity_date == (None if i == 0 else dt.date(2027, 5, i))
        assert isinstance(event, VoucherEvent)
    assert events[1].invoices == (InvoiceAmount("00000000000000000001", 7), InvoiceAmount("00000000000000000002", 5))
    assert events[2].invoices == (InvoiceAmount("00000000000000000009", 100),)
    assert events[0].invoices == ()


def test_a_financing_page_reads_blank_text_as_null_and_the_rate_in_millionths() -> None:
    text_columns = ("financing_id", "bank_code", "product", "applicant_uscc", "debtor_uscc", "asset_ref",
                    "asset_voucher_id", "asset_cd_no", "asset_invoice_no", "status")
    n = len(TEXTS)
    page = pa.table({
        **{k: TEXTS for k in text_columns},
        **{k: [None, *range(j * 100, j * 100 + n - 1)] for j, k in enumerate(INT_COLUMNS)},
        "rate": pa.array([Decimal("0.029800"), None, *[Decimal("0.031") for _ in range(n - 2)]], pa.decimal128(9, 6)),
        "value_date": pa.array([dt.date(2026, 11, 20)] * n, pa.date32()),
        "maturity_date": pa.array([None, *[dt.date(2027, 1, i) for i in range(1, n)]], pa.date32()),
        "invoices": pa.array([[{"no": " ", "fen": 3}] if i == 1 else None for i in range(n)], INVOICES),
        "invoice_nos": [None] * n,
    })
    for i, (fin, text) in enumerate(zip(financings_from_page(page), TEXTS, strict=True)):
        assert isinstance(fin, FinancingRecord)
        assert all(getattr(fin, k) == none_if_empty(text) for k in text_columns)
        assert all(getattr(fin, k) == (None if i == 0 else j * 100 + i - 1) for j, k in enumerate(INT_COLUMNS))
        assert fin.rate_micros == (29_800 if i == 0 else None if i == 1 else 31_000)
        assert fin.value_date == dt.date(2026, 11, 20)
        assert fin.maturity_date == (None if i == 0 else dt.date(2027, 1, i))
        assert fin.invoices == ((InvoiceAmount(None, 3),) if i == 1 else ())


def test_invoice_lists_are_read_flattened_in_canonical_order_across_the_pages_chunks() -> None:
    lists = [
        [{"no": "B", "fen": 2}, {"no": "A", "fen": None}, {"no": "", "fen": 1}, {"no": None, "fen": 5}, {"no": "A", "fen": -3}],
        None,  # no child rows: the delivered text
        [],  # none either
        [{"no": " ", "fen": 4}],
        None,  # delivered text that does not parse: none
        [{"no": "C", "fen": 1}, {"no": "C", "fen": 1}],  # duplicates kept
    ]
    texts = [None, "00000000000000000002:1.00;00000000000000000001:2.00", "00000000000000000003:0.01", None, "x:y", None]
    n = len(lists)
    page = pa.table({
        **{k: [f"E{i}" for i in range(n)] for k in ("event_id", "event_time_text")},
        **{k: [None] * n for k in ("event_type", "voucher_id", "parent_voucher_id", "issuer_uscc", "from_uscc",
                                   "to_uscc", "ap_ref", "financing_id")},
        "amount_fen": pa.array([None] * n, pa.int64()),
        "maturity_date": pa.array([None] * n, pa.date32()),
        "invoices": pa.array(lists, INVOICES),
        "invoice_nos": texts,
    })
    page = pa.concat_tables([page.slice(0, 2), page.slice(2)])  # as DuckDB's pages come: in chunks
    assert [e.invoices for e in events_from_page(page)] == [
        (InvoiceAmount(None, 1), InvoiceAmount(None, 5), InvoiceAmount("A", None), InvoiceAmount("A", -3), InvoiceAmount("B", 2)),
        (InvoiceAmount("00000000000000000001", 200), InvoiceAmount("00000000000000000002", 100)),
        (InvoiceAmount("00000000000000000003", 1),),
        (InvoiceAmount(None, 4),),
        (),
        (InvoiceAmount("C", 1), InvoiceAmount("C", 1)),
    ]
