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

The nightly gate checks a night's entries or more (~1.2M at 1M invoices), so a page of entries
is first checked as columns (:func:`_page_agrees`): the length prefixes walked and the fields
validated for every entry of a record class at once (numpy, Arrow), the columns compared with
what :func:`~ledger.store.row_keys` reads, as found by probing it (:func:`_key_sources`).  Only
a page it does not find in agreement (a problem, or anything it does not decide) is read entry
by entry as above, which stays the oracle: same answers, same first seq, same message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledger.entries import (
    _CONTENT_TYPES,
    _KINDS,
    BYTES,
    DATE,
    HASH_SIZE,
    INT,
    NULL_LENGTH,
    PREV_OFFSET,
    STR,
    VERSION,
    EntryFormatError,
    EntryType,
    FinancingRecord,
    Fingerprint,
    FingerprintAnnex,
    Record,
    _decode_scalar,
    decode_record,
)
from ledger.index_columns import PageBytes, Records, record_fields, same, valid_dates
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


def _pages(con: duckdb.DuckDBPyConnection, start: int, end: int | None) -> Iterator[pa.Table]:
    """``seq``, the index columns and the entry of entries ``[start, end)``, in seq order, a page at a time."""
    columns = ", ".join(COLUMNS)
    last = start - 1
    bound = "" if end is None else f" AND seq < {int(end)}"
    while True:
        page = con.sql(
            f"SELECT seq, {columns}, entry FROM ledger_entries WHERE seq > $last{bound} ORDER BY seq LIMIT {_BATCH}",
            params={"last": last}).to_arrow_table()
        if not page.num_rows:
            return
        yield page
        last = int(page.column("seq")[-1].as_py())


# -- a page checked as columns ----------------------------------------------------------

_OWN_HASH = ("own content hash",)


def _probe(cls: type, tag: str | None) -> tuple:
    """The index columns (:data:`COLUMNS` but the date) of a record of ``cls`` whose text and byte
    fields read ``<tag>:<field>`` and whose other fields are empty (every field without ``tag``),
    its content hash ``<tag>:content``."""
    values: dict[str, object] = {}
    for name, kind in _KINDS[cls].items():
        text = None if tag is None else f"{tag}:{name}"
        if isinstance(kind, type):
            values[name] = ()
        elif text is not None and kind == STR:
            values[name] = text
        elif text is not None and kind == BYTES:
            values[name] = text.encode()
        else:
            values[name] = None
    record = cls(**values)
    return (*row_keys(record), content_hash_column(record, f"{tag}:content".encode()))


def _key_sources(cls: type) -> tuple[tuple, ...] | None:
    """Where :func:`~ledger.store.row_keys` and :func:`~ledger.store.content_hash_column` take each
    column from for records of ``cls``: ``("const", value)``, ``("field", name, value when null)`` or
    :data:`_OWN_HASH`; None if they do anything else (such records are read entry by entry)."""
    try:
        a, b, nulls = _probe(cls, "\0a"), _probe(cls, "\0b"), _probe(cls, None)
    except Exception:  # noqa: BLE001 -- a record class the probe cannot build is read entry by entry
        return None
    sources: list[tuple] = []
    for x, y, null in zip(a, b, nulls, strict=True):
        field = next((name for name in _KINDS[cls] if (x, y) in {(f"\0a:{name}", f"\0b:{name}"),
                                                                 (f"\0a:{name}".encode(), f"\0b:{name}".encode())}), None)
        if field is not None:
            sources.append(("field", field, null))  # ``null``: what the column holds when the field is null
        elif (x, y) == (b"\0a:content", b"\0b:content"):
            sources.append(_OWN_HASH)
        elif x == y == null:
            sources.append(("const", x))
        else:
            return None
    return tuple(sources)


_SOURCES = {entry_type: _key_sources(cls) for entry_type, cls in _CONTENT_TYPES.items()}


def _columns_agree(page: pa.Table, raw: PageBytes, rows: np.ndarray, entry_type: EntryType,
                   begin: np.ndarray, end: np.ndarray) -> bool:
    """The entries ``rows`` (all of ``entry_type``, content ``[begin, end)`` each) read as
    :func:`_parts` reads them, and their index columns (but the date) hold what their fields say."""
    sources = _SOURCES[entry_type]
    records = None if sources is None else record_fields(raw, _CONTENT_TYPES[entry_type], begin, end)
    if sources is None or records is None:
        return False
    taken = pa.array(rows)
    for column, source in zip((*COLUMNS[:5], COLUMNS[6]), sources, strict=True):
        stored = page.column(column).take(taken).combine_chunks()
        if source == _OWN_HASH:
            sha, data, header = hashlib.sha256, raw.buffer, bytes((VERSION, entry_type))
            expected = pa.array([sha(header + data[a:b]).digest() for a, b in zip(begin.tolist(), end.tolist(), strict=True)],
                                pa.binary())
        elif source[0] == "const":
            expected = pa.array([source[1]] * len(rows), stored.type)
        else:
            field = records.fields[source[1]]
            assert field.values is not None
            if not (field.null | (field.length > 0)).all():  # an empty value may read otherwise (``or``): entry by entry
                return False
            expected = pc.if_else(pa.array(field.null), pa.scalar(source[2], field.values.type), field.values)
        if not same(expected.cast(stored.type), stored):
            return False
    return True


def _contents(raw: PageBytes) -> tuple[np.ndarray, np.ndarray] | None:
    """Where each entry's content begins and ends, if every entry has the framing :func:`_parts` reads."""
    starts, ends = raw.starts, raw.ends
    if not (ends - starts >= _CONTENT_OFFSET + 4).all() or not (raw.data[starts] == VERSION).all():
        return None
    begin = starts + _CONTENT_OFFSET + 4
    end = begin + raw.word(starts + _CONTENT_OFFSET, 4)
    if not (end + 4 <= ends).all():  # the annex's length prefix follows the content
        return None
    return begin, end


def _ledger_dates(raw: PageBytes) -> pa.Array:
    """The ledger date of each entry, as its 10 bytes."""
    return raw.slices(raw.starts + _DATE_OFFSET + 4, np.full(len(raw.starts), 10, dtype=np.int64))


def _page_agrees(page: pa.Table) -> bool:
    """Every entry of ``page`` reads as :func:`_parts` reads it and its index columns hold what it says.
    False when it cannot tell (a record class it does not read as columns, a null, an empty text)."""
    entries = page.column("entry").combine_chunks()
    if entries.null_count or page.column("business_date").null_count:
        return False
    raw = PageBytes(entries)
    found = _contents(raw)
    stored_dates = page.column("business_date").combine_chunks().cast(pa.large_string()).cast(pa.large_binary())
    if found is None or not same(_ledger_dates(raw), stored_dates):
        return False
    begin, end = found
    types = raw.data[raw.starts + 1]
    if not np.isin(types, list(_CONTENT_TYPES)).all():
        return False
    for entry_type in _CONTENT_TYPES:
        rows = np.flatnonzero(types == entry_type)
        if len(rows) and not _columns_agree(page, raw, rows, entry_type, begin[rows], end[rows]):
            return False
    return True


def _fingerprint_rows(seq: int, entry: bytes) -> list[tuple]:
    """The ``ledger_fingerprints`` rows a financing entry's annex implies."""
    parts = _parts(entry)
    assert isinstance(parts.record, FinancingRecord)
    annex = decode_record(FingerprintAnnex, parts.annex)
    return [
        (seq, parts.ledger_date, parts.record.financing_id, fp.kind, fp.digest, fp.amount_fen)
        for fp in annex.fingerprints
    ]


_ARROW = {STR: pa.large_string(), BYTES: pa.large_binary(), INT: pa.int64()}


def _annex_items(raw: PageBytes, annex: Records) -> tuple[np.ndarray, dict[str, pa.Array]] | None:
    """The fingerprints listed in each annex (``FingerprintAnnex.fingerprints``): for every item, the
    entry it is in and its fields; None unless every list reads as :func:`decode_record` reads it."""
    listed = annex.fields["fingerprints"]
    if listed.null.any() or not (listed.length >= 4).all():
        return None
    count, pos, stop = raw.word(listed.at, 4), listed.at + 4, listed.at + listed.length
    owners: list[np.ndarray] = []
    items: list[Records] = []
    for i in range(int(count.max()) if len(count) else 0):
        rows = np.flatnonzero(count > i)
        at, end = pos[rows], stop[rows]
        if not (at + 4 <= end).all():
            return None
        length = raw.word(at, 4)
        if (length == NULL_LENGTH).any() or not (at + 4 + length <= end).all():
            return None
        item = record_fields(raw, Fingerprint, at + 4, at + 4 + length)
        if item is None or not (item.stop == at + 4 + length).all():
            return None
        owners.append(rows)
        items.append(item)
        pos[rows] = at + 4 + length
    if not (pos == stop).all():
        return None
    values = {name: pa.concat_arrays([item.fields[name].values for item in items]) if items else pa.array([], _ARROW[kind])
              for name, kind in _KINDS[Fingerprint].items()}
    return (np.concatenate(owners) if owners else np.zeros(0, np.int64)), values


def _expected_fingerprints(financings: pa.Table) -> pa.Table | None:
    """The ``ledger_fingerprints`` rows the annexes of ``financings`` (``seq``, ``entry``) imply, read as
    columns; None if an entry does not read so (then :func:`_fingerprint_rows` reads it)."""
    entries = financings.column("entry").combine_chunks()
    if entries.null_count:
        return None
    raw = PageBytes(entries)
    found = _contents(raw)
    if found is None or not (raw.data[raw.starts + 1] == EntryType.FINANCING).all():
        return None
    begin, end = found
    dates = _ledger_dates(raw)
    content = record_fields(raw, FinancingRecord, begin, end)
    annex_at = end + 4
    annex_end = annex_at + raw.word(end, 4)
    if content is None or not valid_dates(dates) or not (annex_end <= raw.ends).all():
        return None
    annex = record_fields(raw, FingerprintAnnex, annex_at, annex_end)
    listed = None if annex is None or not (annex.stop == annex_end).all() else _annex_items(raw, annex)
    if listed is None:
        return None
    owners, values = listed
    taken = pa.array(owners, pa.int64())
    financing_id = content.fields["financing_id"].values
    assert financing_id is not None
    return pa.table({
        "seq": financings.column("seq").combine_chunks().take(taken),
        "business_date": dates.cast(pa.large_string()).cast(pa.date32()).take(taken),
        "financing_id": financing_id.take(taken),
        **values,
    })


def fingerprint_problem(con: duckdb.DuckDBPyConnection, start: int = 0, end: int | None = None) -> tuple[int, str] | None:
    """The first entry of ``[start, end)`` (default: every entry), in seq order, whose
    ``ledger_fingerprints`` rows are not those of its annex (rows altered, added or removed), or
    rows recorded for an entry that does not exist.  Run after :func:`index_problem` over the same
    range (it finds financing entries by their ``entry_type`` column).  A page's annexes are read as
    columns and compared in SQL; one that does not read so is read entry by entry."""
    stored = LedgerStore(con).end_of_entries()
    end = stored if end is None else min(end, stored)
    stray = fetch_one(con, "SELECT min(seq) FROM ledger_fingerprints WHERE seq < 0 OR seq >= ?", [stored])
    recorded = f"SELECT {', '.join(FINGERPRINT_COLUMNS)} FROM ledger_fingerprints WHERE seq >= $low AND seq < $high"
    for low in range(start, end, _BATCH):
        bounds = {"low": low, "high": min(low + _BATCH, end)}
        financings = con.sql("SELECT seq, entry FROM ledger_entries WHERE seq >= $low AND seq < $high "
                             "AND entry_type = 'FINANCING' ORDER BY seq", params=bounds).to_arrow_table()
        expected = _expected_fingerprints(financings)
        if expected is not None:
            found = con.sql(f"SELECT min(seq) FROM ((FROM expected EXCEPT ALL {recorded}) UNION ALL ({recorded} "
                            "EXCEPT ALL FROM expected))", params=bounds).fetchall()
            seq = found[0][0]
        else:
            rows: Counter[tuple] = Counter()
            for seq, entry in zip(financings.column("seq").to_pylist(), financings.column("entry").to_pylist(), strict=True):
                rows.update(_fingerprint_rows(int(seq), bytes(entry)))
            actual = Counter(con.sql(recorded, params=bounds).fetchall())
            differ = (rows - actual) + (actual - rows)
            seq = min(row[0] for row in differ) if differ else None
        if seq is not None:
            return int(seq), f"the fingerprints recorded for entry {seq} are not those its entry carries"
    if stray and stray[0] is not None:
        return int(stray[0]), f"fingerprints are recorded for entry {stray[0]}, which does not exist"
    return None


def index_problem(con: duckdb.DuckDBPyConnection, start: int = 0, end: int | None = None) -> tuple[int, str] | None:
    """The first entry of ``[start, end)`` (default: every entry), in seq order, whose index
    columns disagree with it: (seq, problem)."""
    for page in _pages(con, start, end):
        if _page_agrees(page):
            continue
        for seq, *stored, entry in zip(*(page.column(c).to_pylist() for c in page.column_names), strict=True):
            try:
                expected = index_values(entry)
            except EntryFormatError as exc:
                return int(seq), f"entry {seq} is malformed: {exc}"
            for name, have, want in zip(COLUMNS, stored, expected, strict=True):
                if have != want:
                    return int(seq), f"column {name} of entry {seq} reads {have!r}, the entry says {want!r}"
    return None
