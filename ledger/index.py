"""Checking the index columns of ``ledger_entries`` against the entries they were copied from.

Lookups (``scf ledger prove``, ``lineage``) find entries through columns copied out of each
entry when it was appended (:func:`ledger.store.row_keys`, the business date, the content
hash), and the duplicate checks and fingerprint exports read ``ledger_fingerprints``, copied
out of each financing entry's annex.  The tree's verification covers the entry bytes, not
those copies, so they are checked here -- over the whole ledger, at the start of every
night and by ``scf verify``.

Reading an entry for this does not decode it whole: the length prefixes of its content
are walked once, the scalar fields decoded and list fields (invoices) skipped, which is
what :func:`~ledger.store.row_keys` needs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

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
    FinancingRecord,
    FingerprintAnnex,
    Record,
    _decode_scalar,
    decode_record,
)
from ledger.store import LedgerStore, content_hash_column, fetch_one, row_keys

FINGERPRINT_COLUMNS = ("seq", "business_date", "financing_id", "kind", "digest", "amount_fen")
"""The columns of ``ledger_fingerprints``, each row copied out of a financing entry's annex."""
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


@dataclass(frozen=True)
class _Parts:
    entry_type: EntryType
    ledger_date: dt.date
    content: bytes
    record: Record  # shallow: list fields empty
    annex: bytes


def _parts(entry: bytes) -> _Parts:
    """An entry split at its length prefixes, its record read shallowly."""
    try:
        if entry[0] != VERSION:
            raise EntryFormatError(f"unknown entry version {entry[0]}")
        entry_type = EntryType(entry[1])
        ledger_date = _decode_scalar(DATE, entry[_DATE_OFFSET + 4 : _CONTENT_OFFSET])
        (length,) = _U32.unpack_from(entry, _CONTENT_OFFSET)
        annex_at = _CONTENT_OFFSET + 4 + length
        content = entry[_CONTENT_OFFSET + 4 : annex_at]
        if len(content) != length:
            raise EntryFormatError("truncated entry")
        (annex_length,) = _U32.unpack_from(entry, annex_at)
        annex = entry[annex_at + 4 : annex_at + 4 + annex_length]
        return _Parts(entry_type, ledger_date, content, _shallow_record(entry_type, content), annex)
    except (IndexError, ValueError, struct.error) as exc:
        if isinstance(exc, EntryFormatError):
            raise
        raise EntryFormatError(f"malformed entry: {exc}") from None


def index_values(entry: bytes) -> tuple:
    """What the index columns (:data:`COLUMNS`) of ``entry`` must hold."""
    parts = _parts(entry)
    content_hash = hashlib.sha256(bytes([VERSION, parts.entry_type]) + parts.content).digest()
    return (*row_keys(parts.record), parts.ledger_date, content_hash_column(parts.record, content_hash))


def _rows(con: duckdb.DuckDBPyConnection, start: int, end: int | None) -> Iterator[tuple]:
    columns = ", ".join(COLUMNS)
    last = start - 1
    bound = "" if end is None else f" AND seq < {int(end)}"
    while True:
        rows = con.execute(
            f"SELECT seq, {columns}, entry FROM ledger_entries WHERE seq > ?{bound} ORDER BY seq LIMIT {_BATCH}", [last]
        ).fetchall()
        if not rows:
            return
        yield from rows
        last = int(rows[-1][0])


def _fingerprint_rows(seq: int, entry: bytes) -> list[tuple]:
    """The ``ledger_fingerprints`` rows a financing entry's annex implies."""
    parts = _parts(entry)
    assert isinstance(parts.record, FinancingRecord)
    annex = decode_record(FingerprintAnnex, parts.annex)
    return [
        (seq, parts.ledger_date, parts.record.financing_id, fp.kind, fp.digest, fp.amount_fen)
        for fp in annex.fingerprints
    ]


def fingerprint_problem(con: duckdb.DuckDBPyConnection, start: int = 0, end: int | None = None) -> tuple[int, str] | None:
    """The first entry of ``[start, end)`` (default: every entry), in seq order, whose
    ``ledger_fingerprints`` rows are not those of its annex (rows altered, added or removed), or
    rows recorded for an entry that does not exist.  Run after :func:`index_problem` over the same
    range (it finds financing entries by their ``entry_type`` column)."""
    stored = LedgerStore(con).end_of_entries()
    end = stored if end is None else min(end, stored)
    stray = fetch_one(con, "SELECT min(seq) FROM ledger_fingerprints WHERE seq < 0 OR seq >= ?", [stored])
    for low in range(start, end, _BATCH):
        high = min(low + _BATCH, end)
        expected: Counter[tuple] = Counter()
        for seq, entry in con.execute(
            "SELECT seq, entry FROM ledger_entries WHERE seq >= ? AND seq < ? AND entry_type = 'FINANCING'", [low, high]
        ).fetchall():
            expected.update(_fingerprint_rows(int(seq), bytes(entry)))
        actual = Counter(con.execute(
            f"SELECT {', '.join(FINGERPRINT_COLUMNS)} FROM ledger_fingerprints WHERE seq >= ? AND seq < ?", [low, high]
        ).fetchall())
        differ = (expected - actual) + (actual - expected)
        if differ:
            seq = min(row[0] for row in differ)
            return seq, f"the fingerprints recorded for entry {seq} are not those its entry carries"
    if stray and stray[0] is not None:
        return int(stray[0]), f"fingerprints are recorded for entry {stray[0]}, which does not exist"
    return None


def index_problem(con: duckdb.DuckDBPyConnection, start: int = 0, end: int | None = None) -> tuple[int, str] | None:
    """The first entry of ``[start, end)`` (default: every entry), in seq order, whose index
    columns disagree with it: (seq, problem)."""
    for seq, *stored, entry in _rows(con, start, end):
        try:
            expected = index_values(entry)
        except EntryFormatError as exc:
            return int(seq), f"entry {seq} is malformed: {exc}"
        for name, have, want in zip(COLUMNS, stored, expected, strict=True):
            if have != want:
                return int(seq), f"column {name} of entry {seq} reads {have!r}, the entry says {want!r}"
    return None
