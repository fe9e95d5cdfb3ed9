"""Ledger entries read as columns: many entries' fields at once, for the nightly index check.

:mod:`ledger.index` checks a night's entries or more (~1.2M at 1M invoices) against the columns
copied out of them.  Reading them one by one in Python costs ~15 µs of CPU an entry; here the
length prefixes of every entry of one record class are walked together (numpy over the page's
bytes) and the fields come out as Arrow arrays, validated as :func:`ledger.entries.decode_record`
would read them: a count of fields, each length within its record, an ``int`` 8 bytes, a ``date``
``YYYY-MM-DD``, a ``str`` UTF-8.  Anything else makes :func:`record_fields` answer None, and the
caller reads that page entry by entry (the oracle, which names the problem).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledger.entries import _KINDS, BYTES, DATE, INT, NULL_LENGTH, STR
from ledger.segments import _offsets


class PageBytes:
    """A page of entries as one byte array, read at positions many entries at a time."""

    def __init__(self, entries: pa.Array) -> None:
        """``entries``: a binary array without nulls."""
        self.offsets = _offsets(entries).astype(np.int64)
        data = entries.buffers()[2]
        self.data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
        self.buffer = memoryview(data if data is not None else b"")

    @property
    def starts(self) -> np.ndarray:
        """Where each entry begins."""
        return self.offsets[:-1]

    @property
    def ends(self) -> np.ndarray:
        """Where each entry ends."""
        return self.offsets[1:]

    def word(self, at: np.ndarray, width: int) -> np.ndarray:
        """The big-endian ``width``-byte words at ``at`` (each ``at + width`` within the data); 8 bytes read signed."""
        value = np.zeros(len(at), dtype=np.int64)
        for i in range(width):
            value = (value << 8) | self.data[at + i]
        return value

    def slices(self, at: np.ndarray, lengths: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
        """The byte strings ``[at, at + lengths)`` (null where ``null``), as an Arrow binary array."""
        ends = np.cumsum(lengths)
        gather = np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int64) + np.repeat(at - (ends - lengths), lengths)
        offsets = np.concatenate(([0], ends)).astype(np.int64)
        buffers = [_validity(null), pa.py_buffer(offsets), pa.py_buffer(self.data[gather].tobytes())]
        return pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(at), buffers)


def _validity(null: np.ndarray | None) -> pa.Buffer | None:
    """The Arrow validity bitmap of values null where ``null`` (None: no value is null)."""
    return None if null is None or not null.any() else pa.py_buffer(np.packbits(~null, bitorder="little").tobytes())


@dataclass(frozen=True)
class Field:
    """One field of many records: its value (None for a list field), where its bytes are, null or not."""

    values: pa.Array | None
    at: np.ndarray
    length: np.ndarray
    null: np.ndarray


def valid_dates(raw: pa.Array) -> bool:
    """Every value is a date written ``YYYY-MM-DD`` (what ``date.fromisoformat`` reads as that date)."""
    if not len(raw):
        return True
    try:
        text = raw.cast(pa.large_string())
        return bool(pc.all(pc.equal(text.cast(pa.date32()).cast(pa.large_string()), text)).as_py())
    except pa.ArrowInvalid:
        return False


def _value(raw: PageBytes, kind: str, at: np.ndarray, length: np.ndarray, null: np.ndarray) -> pa.Array | None:
    """The values of a scalar field, or None if one of them is not of its kind."""
    if kind == INT:
        if not (null | (length == 8)).all():
            return None
        words = raw.word(np.where(null, 0, at), 8)  # a null's position reads nothing it keeps
        return pa.Array.from_buffers(pa.int64(), len(at), [_validity(null), pa.py_buffer(words.astype(np.int64).tobytes())])
    values = raw.slices(at, length, null)
    try:
        if kind == DATE and not ((null | (length == 10)).all() and valid_dates(values.drop_null())):
            return None
        if kind == STR:
            return values.cast(pa.large_string())  # raises unless every value is UTF-8
    except pa.ArrowInvalid:
        return None
    assert kind in (DATE, BYTES)
    return values


@dataclass(frozen=True)
class Records:
    """Records of one class read as columns: each field, and where each record's last field ends."""

    fields: dict[str, Field]
    stop: np.ndarray


def record_fields(raw: PageBytes, cls: type, begin: np.ndarray, end: np.ndarray) -> Records | None:
    """The records of ``cls`` encoded from ``begin`` (one each, within ``end``), or None unless every
    one reads without error, as :func:`ledger.entries.decode_record` reads it (list fields are
    located, not read; bytes between a record's last field and ``end`` are the caller's)."""
    kinds = _KINDS[cls]
    if not (begin + 2 <= end).all() or not (raw.word(begin, 2) == len(kinds)).all():
        return None
    pos, fields = begin + 2, {}
    for name, kind in kinds.items():
        if not (pos + 4 <= end).all():
            return None
        length = raw.word(pos, 4)
        null = length == NULL_LENGTH
        length = np.where(null, 0, length)
        pos = pos + 4
        if not (pos + length <= end).all():
            return None
        values = None if isinstance(kind, type) else _value(raw, kind, pos, length, null)
        if values is None and not isinstance(kind, type):
            return None
        fields[name] = Field(values, pos, length, null)
        pos = pos + length
    return Records(fields, pos)


def same(expected: pa.Array, stored: pa.Array) -> bool:
    """Equal value by value, a null exactly where the other is null (both of one length, not empty)."""
    equal = pc.fill_null(pc.equal(expected, stored), False)
    return bool(pc.all(pc.or_(equal, pc.and_(pc.is_null(expected), pc.is_null(stored)))).as_py())
