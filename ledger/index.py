"""Checking the index columns of ``ledger_entries`` against the entries they were copied from.

Lookups (``scf ledger prove``, ``lineage``) find entries through columns copied out of each
entry when it was appended (:func:`ledger.store.row_keys`, the business date, the content
hash).  The tree's verification covers the entry bytes, not those columns, so they are
checked here -- over the whole ledger, at the start of every night and by ``scf verify``.

Reading an entry for this does not decode it whole: the length prefixes of its content
are walked once, the scalar fields decoded and list fields (invoices) skipped, which is
what :func:`~ledger.store.row_keys` needs.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator

import duckdb

from ledger.entries import (
    _CONTENT_TYPES,
    _KINDS,
    DATE,
    HASH_SIZE,
    NULL_LENGTH,
    PREV_OFFSET,
    VERSION,
    EntryFormatError,
    EntryType,
    Record,
    _decode_scalar,
)
from ledger.store import row_keys

COLUMNS = ("entry_type", "event_id", "financing_id", "voucher_id", "parent_voucher_id", "business_date",
           "content_hash")
"""The index columns checked (``seq`` and ``leaf_hash`` are the tree verification's)."""
_DATE_OFFSET = PREV_OFFSET + HASH_SIZE  # where lp(ledger date) starts (PREV_OFFSET: the hash itself)
_CONTENT_OFFSET = _DATE_OFFSET + 4 + 10  # where lp(content) starts
_U32 = struct.Struct(">I")
_U16 = struct.Struct(">H")
_BATCH = 1 << 16


def _shallow_record(entry_type: EntryType, content: bytes) -> Record:
    """The content record with its scalar fields decoded and its list fields left empty."""
    cls = _CONTENT_TYPES[entry_type]
    kinds = _KINDS[cls]
    (count,) = _U16.unpack_from(content, 0)
    if count != len(kinds):
        raise EntryFormatError(f"{cls.__name__}: {count} fields, expected {len(kinds)}")
    pos, values = 2, {}
    for name, kind in kinds.items():
        (length,) = _U32.unpack_from(content, pos)
        pos += 4
        if length == NULL_LENGTH:
            values[name] = () if isinstance(kind, type) else None
            continue
        if pos + length > len(content):
            raise EntryFormatError("truncated entry")
        values[name] = () if isinstance(kind, type) else _decode_scalar(kind, content[pos : pos + length])
        pos += length
    return cls(**values)


def index_values(entry: bytes) -> tuple:
    """What the index columns (:data:`COLUMNS`) of ``entry`` must hold."""
    try:
        if entry[0] != VERSION:
            raise EntryFormatError(f"unknown entry version {entry[0]}")
        entry_type = EntryType(entry[1])
        ledger_date = _decode_scalar(DATE, entry[_DATE_OFFSET + 4 : _CONTENT_OFFSET])
        (length,) = _U32.unpack_from(entry, _CONTENT_OFFSET)
        content = entry[_CONTENT_OFFSET + 4 : _CONTENT_OFFSET + 4 + length]
        record = _shallow_record(entry_type, content)
    except (IndexError, ValueError, struct.error) as exc:
        if isinstance(exc, EntryFormatError):
            raise
        raise EntryFormatError(f"malformed entry: {exc}") from None
    content_hash = hashlib.sha256(bytes([VERSION, entry_type]) + content).digest()
    return (*row_keys(record), ledger_date, content_hash)


def _rows(con: duckdb.DuckDBPyConnection) -> Iterator[tuple]:
    columns = ", ".join(COLUMNS)
    last = -1
    while True:
        rows = con.execute(
            f"SELECT seq, {columns}, entry FROM ledger_entries WHERE seq > ? ORDER BY seq LIMIT {_BATCH}", [last]
        ).fetchall()
        if not rows:
            return
        yield from rows
        last = int(rows[-1][0])


def index_problem(con: duckdb.DuckDBPyConnection) -> tuple[int, str] | None:
    """The first entry, in seq order, whose index columns disagree with it: (seq, problem)."""
    for seq, *stored, entry in _rows(con):
        try:
            expected = index_values(entry)
        except EntryFormatError as exc:
            return int(seq), f"entry {seq} is malformed: {exc}"
        for name, have, want in zip(COLUMNS, stored, expected):
            if have != want:
                return int(seq), f"column {name} of entry {seq} reads {have!r}, the entry says {want!r}"
    return None
