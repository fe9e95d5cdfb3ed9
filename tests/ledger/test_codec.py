"""The compiled codec (ledger/_codec.c) against the Python encoders, its oracle: the same bytes for
every record class, the same errors, entries framed and chained as the layout says; a missing or
stale build stops the import."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import itertools
import re
import struct
import sys
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foundation.compiled import BuildError
from ledger import compiled, entries, fingerprints, merkle
from ledger.entries import (
    _KINDS,
    BYTES,
    DATE,
    INT,
    STR,
    EntryType,
    EventStatus,
    FinancingRecord,
    FingerprintAnnex,
    InvoiceAmount,
    VoucherEvent,
    decode_entry,
    encode_content,
    encode_record,
    encode_record_python,
    entry_type_of,
    frame_entries,
    records_from_columns,
)
from ledger.inputs import InvoiceFacts

_SCALARS: dict[str, st.SearchStrategy[Any]] = {
    STR: st.one_of(st.none(), st.just(""), st.text(st.characters(exclude_categories=["Cs"]), max_size=30)),
    INT: st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
    DATE: st.one_of(st.none(), st.dates()),
    BYTES: st.one_of(st.none(), st.binary(max_size=40)),
}


def records(cls: type) -> st.SearchStrategy[Any]:
    """Instances of a record class with any value of each field's kind (lists of its item class)."""
    fields = {
        name: st.lists(records(kind), max_size=3).map(tuple) if isinstance(kind, type) else _SCALARS[kind]
        for name, kind in _KINDS[cls].items()
    }
    return st.builds(cls, **fields)


@pytest.mark.parametrize("cls", list(_KINDS), ids=lambda c: c.__name__)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_every_record_class_is_encoded_as_the_python_encoder_does(cls: type, data: st.DataObject) -> None:
    record = data.draw(records(cls))
    expected = encode_record_python(record)
    assert encode_record(record) == expected
    assert entries._c_encode(record) == expected  # the compiled codec itself, not its fallback
    if cls in entries._ENTRY_TYPES:
        header = bytes([entries.VERSION, entry_type_of(record)])
        assert encode_content(record) == (expected, hashlib.sha256(header + expected).digest())


EVENT = VoucherEvent(
    "E1", "2026-11-20T10:00:00+08:00", "ISSUE", "V1", None, "91310000MA1K000001", "A", "B", 100,
    dt.date(2027, 5, 12), (InvoiceAmount("INV1", 100),), "AP1", None,
)


@pytest.mark.parametrize(
    "change",
    [
        {"amount_fen": True},
        {"amount_fen": 1.5},
        {"amount_fen": Decimal("100")},
        {"amount_fen": 2**63},
        {"maturity_date": dt.datetime(2027, 5, 12)},
        {"maturity_date": "2027-05-12"},
        {"event_type": 7},
        {"event_type": "\ud800"},  # not encodable as UTF-8
        {"invoices": [InvoiceAmount("INV1", 100)]},  # a list encodes as a tuple does
        {"invoices": (InvoiceAmount("INV1", 1.5),)},
        {"invoices": iter(())},
        {"invoices": None},
    ],
    ids=repr,
)
def test_what_the_codec_leaves_to_python_ends_as_the_python_encoder_says(change: dict[str, Any]) -> None:
    record = VoucherEvent(**{**EVENT.__dict__, **change})
    try:
        expected: bytes | Exception = encode_record_python(record)
    except Exception as exc:  # noqa: BLE001 - the oracle's error is what is compared
        expected = exc
    if isinstance(expected, bytes):
        assert encode_record(record) == expected
    else:
        with pytest.raises(type(expected), match=re.escape(str(expected))):
            encode_record(record)
        assert entries._c_encode(record) is None


def test_bytes_given_as_a_bytearray_encode_as_bytes() -> None:
    status = EventStatus("E1", bytearray(b"\x01" * 32), "POSTED")  # type: ignore[arg-type]
    assert encode_record(status) == encode_record_python(status) == encode_record(EventStatus("E1", b"\x01" * 32, "POSTED"))


def _framed(entry_type: int, seq: int, prev: bytes, date: dt.date, content: bytes, annex: bytes) -> bytes:
    """An entry's layout as the module docstring of ledger/entries.py spells it."""
    def lp(value: bytes) -> bytes:
        return struct.pack(">I", len(value)) + value
    return bytes([1, entry_type]) + lp(struct.pack(">q", seq)) + lp(prev) + lp(date.isoformat().encode()) + lp(content) + lp(annex)


@settings(max_examples=60, deadline=None)
@given(
    chosen=st.lists(st.one_of(records(VoucherEvent), records(EventStatus), records(FinancingRecord)), min_size=1, max_size=6),
    first_seq=st.integers(0, 2**40),
    prev=st.binary(min_size=32, max_size=32),
    date=st.dates(),
)
def test_entries_are_framed_and_chained_as_the_layout_says(chosen: list[Any], first_seq: int, prev: bytes, date: dt.date) -> None:
    items = [(r, FingerprintAnnex() if isinstance(r, FinancingRecord) else None, None, None) for r in chosen]
    framed = frame_entries(items, first_seq=first_seq, prev_leaf_hash=prev, ledger_date=date)
    bounds = memoryview(framed.offsets).cast("q").tolist()
    datas = [framed.data[a:b] for a, b in itertools.pairwise(bounds)]
    out = list(zip(datas, framed.content_hashes, framed.leaf_hashes, strict=True))
    for seq, (record, (data, chash, leaf)) in enumerate(zip(chosen, out, strict=True), start=first_seq):
        content = encode_record_python(record)
        annex = encode_record_python(FingerprintAnnex() if isinstance(record, FinancingRecord) else entries.EmptyAnnex())
        assert data == _framed(entry_type_of(record), seq, prev, date, content, annex)
        assert chash == hashlib.sha256(bytes([1, entry_type_of(record)]) + content).digest()
        assert leaf == hashlib.sha256(b"\x00" + data).digest()
        decoded = decode_entry(data)
        assert (decoded.seq, decoded.prev_leaf_hash, decoded.ledger_date) == (seq, prev, date)
        prev = leaf
    assert EntryType(out[0][0][1]) == entry_type_of(chosen[0])


def test_a_stale_build_stops_the_import(tmp_path) -> None:
    source = tmp_path / "_codec.c"
    source.write_bytes(compiled.SOURCE.read_bytes() + b"/* changed */\n")
    built = hashlib.sha256(compiled.SOURCE.read_bytes()).hexdigest()
    compiled.check_build(built)  # the build in use is the source's
    with pytest.raises(BuildError, match=r"ledger/_codec is stale: .*run `make codec`"):
        compiled.check_build(built, source)


def test_a_missing_build_stops_the_import(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ledger._codec", None)  # what a tree without the build imports
    with pytest.raises(BuildError, match=r"ledger/_codec is not built \(run `make codec`\)"):
        compiled.load_codec()


@pytest.mark.parametrize("cls", [c for c in _KINDS if _KINDS[c]], ids=lambda c: c.__name__)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_records_built_from_columns_are_those_the_constructor_makes(cls: type, data: st.DataObject) -> None:
    made = data.draw(st.lists(records(cls), max_size=5))
    names = [f.name for f in dataclasses.fields(cls)]
    built = records_from_columns(cls, {name: [getattr(r, name) for r in made] for name in names})
    assert built == made and [hash(r) for r in built] == [hash(r) for r in made]
    assert [type(r) for r in built] == [cls] * len(made) and [vars(r) for r in built] == [vars(r) for r in made]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(built[0] if built else cls.__new__(cls), names[0], None)


def test_records_are_built_only_for_classes_whose_constructor_only_sets_fields() -> None:
    for cls in _KINDS:
        # the constructor dataclasses generated (its code compiled from a string), nothing after it
        assert cls.__init__.__code__.co_filename == "<string>" and not hasattr(cls, "__post_init__"), cls
    columns = {f.name: [None] for f in dataclasses.fields(InvoiceAmount)}
    with pytest.raises(ValueError, match="column 1 has 2 rows, column 0 has 1"):
        records_from_columns(InvoiceAmount, {**columns, "amount_fen": [1, 2]})
    with pytest.raises(KeyError):
        records_from_columns(dict, {})


# ---- batched hashes: the tree's nodes, a page's leaf hashes, the keyed fingerprints ----------

_codec = compiled.load_codec()


@settings(max_examples=60, deadline=None)
@given(hashes=st.lists(st.binary(min_size=32, max_size=32), max_size=17))
def test_a_levels_nodes_are_hashed_as_rfc_9162_says(hashes: list[bytes]) -> None:
    pairs = zip(hashes[::2], hashes[1::2], strict=False)  # a trailing odd hash has no node
    assert _codec.node_hashes(hashes) == [hashlib.sha256(b"\x01" + a + b).digest() for a, b in pairs]


def test_nodes_over_hashes_of_another_length_are_left_to_python() -> None:
    assert _codec.node_hashes([bytes(32), bytes(31)]) is None
    assert _codec.node_hashes([bytes(32), bytearray(32)]) is None
    hashes = [b"a", b"b", b"c", b"d"]  # reduce_perfect hashes them as it always did
    assert merkle.reduce_perfect(hashes) == merkle.node_hash(merkle.node_hash(b"a", b"b"), merkle.node_hash(b"c", b"d"))


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=300), cuts=st.lists(st.integers(0, 300), max_size=12))
def test_slices_of_a_buffer_are_hashed_each(data: bytes, cuts: list[int]) -> None:
    bounds = sorted(min(c, len(data)) for c in cuts)
    expected = [hashlib.sha256(data[a:b]).digest() for a, b in zip(bounds, bounds[1:], strict=False)]
    assert _codec.sha256_slices(memoryview(data), bounds) == expected


def test_slice_bounds_outside_the_buffer_or_backwards_are_refused() -> None:
    with pytest.raises(ValueError, match="bound 1"):
        _codec.sha256_slices(b"abc", [0, 4])
    with pytest.raises(ValueError, match="bound 2"):
        _codec.sha256_slices(b"abc", [0, 2, 1])


_VALUES = st.one_of(*_SCALARS.values())


@settings(max_examples=100, deadline=None)
@given(key=st.binary(min_size=16, max_size=100), messages=st.lists(st.lists(_VALUES, max_size=5).map(tuple), max_size=6))
def test_keyed_hashes_of_values_are_pythons_hmac_of_their_encoding(key: bytes, messages: list[tuple]) -> None:
    expected = [hmac.new(key, entries.encode_values(*m), hashlib.sha256).digest() for m in messages]
    assert _codec.hmac_values(key, messages) == expected


@pytest.mark.parametrize("value", [True, 2**63, 1.5, Decimal(1), dt.datetime(2026, 1, 1), bytearray(b"x"), "\ud800"])
def test_values_the_codec_does_not_encode_leave_the_keyed_hashes_to_python(value: Any) -> None:
    assert _codec.hmac_values(bytes(16), [("INVOICE_ID", "a"), ("INVOICE_ID", value)]) is None


@settings(max_examples=60, deadline=None)
@given(fin=records(FinancingRecord), data=st.data())
def test_a_financings_fingerprints_are_those_the_python_encoder_makes(fin: FinancingRecord, data: st.DataObject) -> None:
    nos = [n for n in [fin.asset_invoice_no, *(i.invoice_no for i in fin.invoices)] if n]
    known = data.draw(st.lists(st.sampled_from(nos), max_size=3)) if nos else []
    facts = {no: InvoiceFacts(no, data.draw(_SCALARS[STR]), data.draw(_SCALARS[STR]), data.draw(_SCALARS[INT]),
                              data.draw(_SCALARS[DATE])) for no in known}
    key = data.draw(st.binary(min_size=16, max_size=80))
    compiled_prints = fingerprints.financing_fingerprints(fin, facts, key)
    with mock.patch.object(fingerprints, "_hmac_values", lambda key, messages: None):  # the Python path
        assert fingerprints.financing_fingerprints(fin, facts, key) == compiled_prints
