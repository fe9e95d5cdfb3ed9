"""Canonical bytes of ledger entries: versioned, every field length-prefixed, money in fen.

An *entry* is what a leaf of the Merkle tree commits to.  Its bytes never come from JSON
or a plain concatenation: a fixed schema per entry type lists the fields in order, and
every field is written as a 4-byte big-endian length followed by its bytes
(``0xFFFFFFFF`` = null).  Field values are encoded one way only:

* text      -- UTF-8 (empty text is normalised to null before encoding);
* int64     -- 8 bytes, big-endian, two's complement (money is always int fen);
* date      -- ISO ``YYYY-MM-DD`` in ASCII;
* bytes     -- as they are;
* list      -- a 4-byte count followed by each item, itself a length-prefixed record.

Layout of an entry::

    version (1 byte = 0x01) ‖ entry type (1 byte)
    ‖ lp(seq: int64) ‖ lp(previous leaf hash: 32 bytes, zeros for the first entry)
    ‖ lp(ledger date) ‖ lp(content record) ‖ lp(annex record)

The *content* is the business record as delivered (a voucher event or a financing) or the
ledger's later decision about one (:class:`EventStatus`: pending, posted, voided;
:class:`FinancingStatus`: voided); its
hash (:func:`content_hash`) identifies a re-delivery across nights.  The *annex* holds
what the ledger adds to it (the fingerprints of a financing).  ``seq`` and the previous
leaf hash sit at fixed offsets (:data:`SEQ_OFFSET`, :data:`PREV_OFFSET`) so that a
verifier can check order and chaining without decoding every entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from enum import IntEnum
from typing import Any, NamedTuple

from ledger.compiled import load_codec

VERSION = 1
NULL_LENGTH = 0xFFFFFFFF
HASH_SIZE = 32
ZERO_HASH = bytes(HASH_SIZE)

# Fixed positions of ``seq`` and of the previous leaf hash in every entry.
SEQ_OFFSET = 2 + 4
PREV_OFFSET = SEQ_OFFSET + 8 + 4

_I64 = struct.Struct(">q")
_U32 = struct.Struct(">I")


class EntryType(IntEnum):
    """Kinds of entry, written as the second byte of every entry."""

    VOUCHER_EVENT = 1
    FINANCING = 2
    EVENT_STATUS = 3
    FINANCING_STATUS = 4
    ARCHIVE_MANIFEST = 16  # values are permanent and need not be contiguous
    POOL_RESERVE = 32
    POOL_RELEASE = 33
    POOL_SELL = 34


class EntryFormatError(ValueError):
    """The bytes are not a well-formed entry of this version."""


# --------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceAmount:
    """An invoice cited as trade background, with the amount it is cited for."""

    invoice_no: str | None
    amount_fen: int | None


@dataclass(frozen=True)
class VoucherEvent:
    """One row of the platform's ``voucher_events`` with its parsed invoices."""

    event_id: str
    event_time: str | None  # exactly as delivered, with its offset
    event_type: str | None
    voucher_id: str | None
    parent_voucher_id: str | None
    issuer_uscc: str | None
    from_uscc: str | None
    to_uscc: str | None
    amount_fen: int | None
    maturity_date: dt.date | None
    invoices: tuple[InvoiceAmount, ...]
    ap_ref: str | None
    financing_id: str | None


@dataclass(frozen=True)
class FinancingRecord:
    """One row of the platform's ``financings`` with its presented invoices.

    ``rate_micros`` is the annual rate in millionths (``0.0298`` -> ``29800``).
    """

    financing_id: str
    bank_code: str | None
    product: str | None
    applicant_uscc: str | None
    debtor_uscc: str | None
    asset_ref: str | None
    asset_voucher_id: str | None
    asset_cd_no: str | None
    asset_range_start: int | None
    asset_range_end: int | None
    asset_invoice_no: str | None
    invoices: tuple[InvoiceAmount, ...]
    face_amount_fen: int | None
    financed_amount_fen: int | None
    rate_micros: int | None
    value_date: dt.date | None
    maturity_date: dt.date | None
    status: str | None


POSTED, PENDING, VOIDED = "POSTED", "PENDING", "VOIDED"
EVENT_STATUSES = (POSTED, PENDING, VOIDED)


@dataclass(frozen=True)
class EventStatus:
    """A decision about an event already in the ledger (two-phase, as pending transfers).

    An event entry alone means the event is posted.  A status entry changes that, as of
    its ledger date: ``PENDING`` (its support has not arrived yet, since ``pending_since``),
    ``POSTED`` (the support arrived, or a decision was corrected), ``VOIDED`` (refused after
    all, with the check id and reason; no check id when the event is no longer delivered).
    ``event_hash`` is the content hash of the event version the status is about.
    """

    event_id: str
    event_hash: bytes
    status: str
    pending_since: dt.date | None = None
    check_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class FinancingStatus:
    """A decision about a financing already in the ledger, as of its ledger date.

    ``VOIDED``: the financing entry (the version whose content hash is ``financing_hash``)
    no longer stands -- its financing is no longer delivered (a restated file dropped it)
    or is refused (``check_id``, ``reason``).  A voided financing counts nowhere (its
    fingerprints included, :data:`ledger.schema.AS_OF_MACROS`) until it is accepted again,
    which appends a new financing entry.
    """

    financing_id: str
    financing_hash: bytes
    status: str
    check_id: str | None = None
    reason: str | None = None


FINANCING_STATUSES = (VOIDED,)


@dataclass(frozen=True)
class Fingerprint:
    """A keyed hash of a financed asset (see :mod:`ledger.fingerprints`)."""

    kind: str
    digest: bytes
    amount_fen: int | None = None  # the amount the asset is presented for, when known


@dataclass(frozen=True)
class FingerprintAnnex:
    """What the ledger adds to a financing entry."""

    fingerprints: tuple[Fingerprint, ...] = ()


@dataclass(frozen=True)
class EmptyAnnex:
    """Voucher events and status entries carry no annex."""


@dataclass(frozen=True)
class ArchiveManifest:
    """The archive manifest's chain head after a night's landing (``connectors.archive``):
    recorded in the ledger, it puts the bytes the night's verdicts rest on under the
    signed checkpoint."""

    manifest_lines: int
    manifest_head: bytes


@dataclass(frozen=True)
class PoolMembership:
    """An asset's membership of an ABS pool (:mod:`ledger.pool_membership`): one entry per asset
    and step.  ``financing_seq`` is the FINANCING entry the pool rests on; ``outstanding_fen``
    the amount the asset is pooled for."""

    pool_id: str
    financing_id: str
    asset_key: str  # <product>:<asset_ref>, the asset's identity across pools
    outstanding_fen: int | None
    financing_seq: int | None


@dataclass(frozen=True)
class PoolReserve(PoolMembership):
    """The asset is reserved for the pool: it is in no other active pool from now on."""


@dataclass(frozen=True)
class PoolRelease(PoolMembership):
    """The pool lets the asset go: unless it was sold, it may be pooled again."""


@dataclass(frozen=True)
class PoolSell(PoolMembership):
    """The asset is sold with the pool: never financed or pooled again."""


PoolEntry = PoolReserve | PoolRelease | PoolSell
Record = VoucherEvent | FinancingRecord | EventStatus | FinancingStatus | ArchiveManifest | PoolEntry


@dataclass(frozen=True)
class Entry:
    """A decoded ledger entry."""

    entry_type: EntryType
    seq: int
    prev_leaf_hash: bytes
    ledger_date: dt.date
    record: Record
    annex: FingerprintAnnex | EmptyAnnex = field(default_factory=EmptyAnnex)


# --------------------------------------------------------------------------------------
# Field codecs, driven by the dataclasses' field order and a kind per field
# --------------------------------------------------------------------------------------

STR, INT, DATE, BYTES = "str", "int", "date", "bytes"

_KINDS: dict[type, dict[str, Any]] = {
    InvoiceAmount: {"invoice_no": STR, "amount_fen": INT},
    VoucherEvent: {
        "event_id": STR,
        "event_time": STR,
        "event_type": STR,
        "voucher_id": STR,
        "parent_voucher_id": STR,
        "issuer_uscc": STR,
        "from_uscc": STR,
        "to_uscc": STR,
        "amount_fen": INT,
        "maturity_date": DATE,
        "invoices": InvoiceAmount,
        "ap_ref": STR,
        "financing_id": STR,
    },
    FinancingRecord: {
        "financing_id": STR,
        "bank_code": STR,
        "product": STR,
        "applicant_uscc": STR,
        "debtor_uscc": STR,
        "asset_ref": STR,
        "asset_voucher_id": STR,
        "asset_cd_no": STR,
        "asset_range_start": INT,
        "asset_range_end": INT,
        "asset_invoice_no": STR,
        "invoices": InvoiceAmount,
        "face_amount_fen": INT,
        "financed_amount_fen": INT,
        "rate_micros": INT,
        "value_date": DATE,
        "maturity_date": DATE,
        "status": STR,
    },
    EventStatus: {
        "event_id": STR,
        "event_hash": BYTES,
        "status": STR,
        "pending_since": DATE,
        "check_id": STR,
        "reason": STR,
    },
    FinancingStatus: {"financing_id": STR, "financing_hash": BYTES, "status": STR, "check_id": STR, "reason": STR},
    ArchiveManifest: {"manifest_lines": INT, "manifest_head": BYTES},
    **{cls: {"pool_id": STR, "financing_id": STR, "asset_key": STR, "outstanding_fen": INT, "financing_seq": INT}
       for cls in (PoolReserve, PoolRelease, PoolSell)},
    Fingerprint: {"kind": STR, "digest": BYTES, "amount_fen": INT},
    FingerprintAnnex: {"fingerprints": Fingerprint},
    EmptyAnnex: {},
}

_CONTENT_TYPES: dict[EntryType, type] = {
    EntryType.VOUCHER_EVENT: VoucherEvent,
    EntryType.FINANCING: FinancingRecord,
    EntryType.EVENT_STATUS: EventStatus,
    EntryType.FINANCING_STATUS: FinancingStatus,
    EntryType.ARCHIVE_MANIFEST: ArchiveManifest,
    EntryType.POOL_RESERVE: PoolReserve,
    EntryType.POOL_RELEASE: PoolRelease,
    EntryType.POOL_SELL: PoolSell,
}
_ANNEX_TYPES: dict[EntryType, type] = {
    EntryType.VOUCHER_EVENT: EmptyAnnex,
    EntryType.FINANCING: FingerprintAnnex,
    EntryType.EVENT_STATUS: EmptyAnnex,
    EntryType.FINANCING_STATUS: EmptyAnnex,
    EntryType.ARCHIVE_MANIFEST: EmptyAnnex,
    EntryType.POOL_RESERVE: EmptyAnnex,
    EntryType.POOL_RELEASE: EmptyAnnex,
    EntryType.POOL_SELL: EmptyAnnex,
}


_NULL = _U32.pack(NULL_LENGTH)
_pack_u32 = _U32.pack


def lp(value: bytes | None) -> bytes:
    """Length-prefix ``value``: 4-byte big-endian length, then the bytes; null is 0xFFFFFFFF."""
    if value is None:
        return _NULL
    if len(value) >= NULL_LENGTH:
        raise ValueError("field too long")
    return _U32.pack(len(value)) + value


def _lp_str(value: Any) -> bytes:
    if value is None or value == "":
        return _NULL
    if type(value) is not str:
        raise TypeError(f"expected text, got {type(value).__name__}")
    raw = value.encode("utf-8")
    return _pack_u32(len(raw)) + raw


def _lp_int(value: Any) -> bytes:
    if value is None:
        return _NULL
    if type(value) is not int:  # never a bool, a float or a Decimal: money is int fen
        raise TypeError(f"expected an int (fen), got {type(value).__name__}")
    return b"\x00\x00\x00\x08" + _I64.pack(value)


def _lp_date(value: Any) -> bytes:
    if value is None:
        return _NULL
    if type(value) is not dt.date:
        raise TypeError(f"expected a date, got {type(value).__name__}")
    return b"\x00\x00\x00\x0a" + value.isoformat().encode("ascii")


def _lp_bytes(value: Any) -> bytes:
    return _NULL if value is None else lp(bytes(value))


def _wrong_type(value: Any, expected: str) -> TypeError:
    return TypeError(f"expected {expected}, got {type(value).__name__}")


# Each field kind's statements, inlined into one function per record class (a call per field
# was most of the cost of encoding a record): ``v`` becomes the field's length-prefixed bytes.
_FIELD_CODE = {
    STR: (
        "    if {v} is None or {v} == '':\n        {v} = NULL\n"
        "    elif type({v}) is str:\n        {v} = {v}.encode('utf-8')\n        {v} = pack_u32(len({v})) + {v}\n"
        "    else:\n        raise wrong_type({v}, 'text')\n"
    ),
    INT: (  # never a bool, a float or a Decimal: money is int fen
        "    if {v} is None:\n        {v} = NULL\n"
        "    elif type({v}) is int:\n        {v} = LENGTH_8 + pack_i64({v})\n"
        "    else:\n        raise wrong_type({v}, 'an int (fen)')\n"
    ),
    DATE: (
        "    if {v} is None:\n        {v} = NULL\n"
        "    elif type({v}) is date:\n        {v} = LENGTH_10 + {v}.isoformat().encode('ascii')\n"
        "    else:\n        raise wrong_type({v}, 'a date')\n"
    ),
    BYTES: "    {v} = NULL if {v} is None else lp(bytes({v}))\n",
}
_LIST_CODE = "    {v} = lp(pack_u32(len({v})) + b''.join([lp({item}(x)) for x in {v}]))\n"


def _compile_encoder(cls: type, encoders: dict[type, Callable[[Any], bytes]]) -> Callable[[Any], bytes]:
    """The encoder of one record class: its field count, then each field in schema order,
    written as straight-line code (``encoders`` holds those of the list items' classes)."""
    kinds = _KINDS[cls]
    namespace: dict[str, Any] = dict(
        NULL=_NULL, pack_u32=_U32.pack, pack_i64=_I64.pack, LENGTH_8=_U32.pack(_I64.size), LENGTH_10=_U32.pack(10),
        date=dt.date, lp=lp, wrong_type=_wrong_type, HEADER=struct.pack(">H", len(kinds)),
    )
    body = ["def encode(record):\n    d = record.__dict__\n"]
    for i, (name, kind) in enumerate(kinds.items()):
        if isinstance(kind, type):
            namespace[f"item_{i}"] = encoders[kind]
            code = _LIST_CODE.replace("{item}", f"item_{i}")
        else:
            code = _FIELD_CODE[kind]
        body.append(f"    f{i} = d[{name!r}]\n" + code.replace("{v}", f"f{i}"))
    fields_ = ", ".join(f"f{i}" for i in range(len(kinds)))
    body.append(f"    return HEADER + b''.join(({fields_},))\n" if kinds else "    return HEADER\n")
    exec("".join(body), namespace)  # the code is generated from _KINDS above: no outside input
    encode: Callable[[Any], bytes] = namespace["encode"]
    return encode


_ENCODERS: dict[type, Callable[[Any], bytes]] = {}
for _cls in _KINDS:  # list items' classes come before the records that hold them
    _ENCODERS[_cls] = _compile_encoder(_cls, _ENCODERS)

_CODEC_KINDS = {STR: 0, INT: 1, DATE: 2, BYTES: 3}
_CODEC_LIST = 4


def codec_table(kinds: dict[type, dict[str, Any]]) -> list[tuple[type, list[tuple[str, int, int]]]]:
    """The compiled codec's table (``ledger/_codec.c``), generated from the field kinds: per
    class, in order (list items' classes first), each field's name, kind code and, for a
    list, its item class's position in the table (else -1)."""
    index = {cls: i for i, cls in enumerate(kinds)}
    return [
        (cls, [(name, _CODEC_LIST, index[kind]) if isinstance(kind, type) else (name, _CODEC_KINDS[kind], -1)
               for name, kind in fields_.items()])
        for cls, fields_ in kinds.items()
    ]


_CODEC = load_codec()
_CODEC.configure(codec_table(_KINDS))
_c_encode = _CODEC.encode


def encode_record(record: Any) -> bytes:
    """Encode a record: 2-byte field count, then each field length-prefixed, in schema order.

    The compiled codec encodes it; what that leaves to Python (a value of an unexpected type,
    an int beyond int64) goes to :func:`encode_record_python`, which raises its error."""
    encoded = _c_encode(record)
    return encode_record_python(record) if encoded is None else encoded


_FIELD_NAMES = {cls: tuple(f.name for f in fields(cls)) for cls in _KINDS}


def records_from_columns(cls: type, columns: dict[str, list[Any]]) -> list[Any]:
    """Instances of a record class, one per row of ``columns`` (a list of values per field name,
    all of one length), equal to what its constructor makes of the same values, without a
    Python call per row.  Only the classes of :data:`_KINDS`, whose constructors only set
    their fields (``tests/ledger/test_codec.py`` checks that none does more)."""
    names = _FIELD_NAMES[cls]
    made: list[Any] = _CODEC.records(cls, names, [columns[name] for name in names])
    return made


def encode_record_python(record: Any) -> bytes:
    """The Python encoder of a record (generated from :data:`_KINDS`): the oracle the compiled
    codec is tested against, and what decides the values the codec leaves to it."""
    return _ENCODERS[type(record)](record)


_ENTRY_HEADERS = {t: bytes([VERSION, t]) for t in EntryType}  # version ‖ type
_EMPTY_ANNEX_FIELD = lp(encode_record(EmptyAnnex()))
_sha256 = hashlib.sha256


class _Reader:
    """Cursor over length-prefixed fields; raises :class:`EntryFormatError` on any overrun."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise EntryFormatError("truncated entry")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def field(self) -> bytes | None:
        (length,) = _U32.unpack(self.take(4))
        return None if length == NULL_LENGTH else self.take(length)

    def required(self) -> bytes:
        value = self.field()
        if value is None:
            raise EntryFormatError("required field is null")
        return value

    def end(self) -> None:
        if self.pos != len(self.data):
            raise EntryFormatError("trailing bytes after the last field")


def _decode_scalar(kind: str, raw: bytes | None) -> Any:
    if raw is None:
        return None
    try:
        if kind == STR:
            return raw.decode("utf-8")
        if kind == INT:
            if len(raw) != 8:
                raise EntryFormatError("int64 field is not 8 bytes")
            return _I64.unpack(raw)[0]
        if kind == DATE:
            return dt.date.fromisoformat(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, EntryFormatError):
            raise
        raise EntryFormatError(f"bad {kind} field: {exc}") from None
    return raw


def decode_record(cls: type, data: bytes) -> Any:
    """Inverse of :func:`encode_record` for records of class ``cls``."""
    kinds = _KINDS[cls]
    reader = _Reader(data)
    (count,) = struct.unpack(">H", reader.take(2))
    if count != len(kinds):
        raise EntryFormatError(f"{cls.__name__}: {count} fields, expected {len(kinds)}")
    values: dict[str, Any] = {}
    for name, kind in kinds.items():
        raw = reader.field()
        if isinstance(kind, type):
            if raw is None:
                raise EntryFormatError(f"{name}: list field is null")
            items = _Reader(raw)
            (n,) = _U32.unpack(items.take(4))
            values[name] = tuple(decode_record(kind, items.required()) for _ in range(n))
            items.end()
        else:
            values[name] = _decode_scalar(kind, raw)
    reader.end()
    return cls(**values)


# --------------------------------------------------------------------------------------
# Entries
# --------------------------------------------------------------------------------------


_ENTRY_TYPES: dict[type, EntryType] = {cls: entry_type for entry_type, cls in _CONTENT_TYPES.items()}


def entry_type_of(record: Record) -> EntryType:
    """The entry type that carries ``record``."""
    found = _ENTRY_TYPES.get(type(record))
    if found is not None:
        return found
    for entry_type, cls in _CONTENT_TYPES.items():
        if isinstance(record, cls):
            return entry_type
    raise TypeError(f"not a ledger record: {type(record).__name__}")


def content_hash(record: Record) -> bytes:
    """SHA-256 of ``version ‖ type ‖ content``: equal for equal content on any night."""
    return encode_content(record)[1]


def encode_content(record: Record) -> tuple[bytes, bytes]:
    """The encoded content of a record and its content hash (encode once, use twice)."""
    entry_type = _ENTRY_TYPES.get(type(record))
    if entry_type is not None:
        found = _CODEC.encode_content(record, _ENTRY_HEADERS[entry_type])
        if found is not None:
            return found
    content = encode_record(record)
    return content, _content_hash(entry_type_of(record), content)


def _content_hash(entry_type: EntryType, content: bytes) -> bytes:
    return _sha256(_ENTRY_HEADERS[entry_type] + content).digest()


def encode_entry_with_hash(
    record: Record,
    *,
    seq: int,
    prev_leaf_hash: bytes,
    ledger_date: dt.date,
    annex: FingerprintAnnex | EmptyAnnex | None = None,
    content: bytes | None = None,
) -> tuple[bytes, bytes]:
    """The canonical bytes of an entry and the content hash of its record.

    ``content`` may carry ``encode_record(record)`` when the caller already has it.
    """
    framed = frame_entries([(record, annex, content, None)], first_seq=seq, prev_leaf_hash=prev_leaf_hash,
                           ledger_date=ledger_date)
    return framed.data, framed.content_hashes[0]


class FramedEntries(NamedTuple):
    """Consecutive entries framed (:func:`frame_entries`): their bytes back to back in ``data``, entry
    ``i`` at ``[offsets[i], offsets[i + 1])`` (``offsets``: n + 1 native int64, an Arrow large-binary
    column's offsets buffer), and each entry's record's content hash and leaf hash."""

    data: bytes
    offsets: bytes
    content_hashes: list[bytes]
    leaf_hashes: list[bytes]


def frame_entries(
    items: Iterable[tuple[Record, FingerprintAnnex | EmptyAnnex | None, bytes | None, bytes | None]],
    *,
    first_seq: int,
    prev_leaf_hash: bytes,
    ledger_date: dt.date,
) -> FramedEntries:
    """Consecutive entries from ``first_seq`` on, each linked to the leaf hash of the one before.

    For each ``(record, annex, content, content hash)`` — ``annex`` ``None`` for the entry type's
    empty one, ``content`` ``encode_record(record)`` and ``content hash`` its
    :func:`content_hash`, if already known — the entry's canonical bytes, its record's content
    hash and its RFC 9162 leaf hash.  What every entry of a batch shares (the date, an empty
    annex) is encoded once.
    """
    if len(prev_leaf_hash) != HASH_SIZE:
        raise ValueError("previous leaf hash must be 32 bytes")
    parts: list[tuple[bytes, bytes, bytes]] = []
    chashes: list[bytes] = []
    for record, annex, content, chash in items:
        entry_type = entry_type_of(record)
        expected = _ANNEX_TYPES[entry_type]
        if annex is None:
            annex_field = _EMPTY_ANNEX_FIELD if expected is EmptyAnnex else lp(encode_record(expected()))
        elif not isinstance(annex, expected):
            raise TypeError(f"{entry_type.name} entries take a {expected.__name__}")
        else:
            annex_field = _EMPTY_ANNEX_FIELD if type(annex) is EmptyAnnex else lp(encode_record(annex))
        if content is None:
            content, chash = encode_record(record), None
        parts.append((_ENTRY_HEADERS[entry_type], content, annex_field))
        chashes.append(chash or _content_hash(entry_type, content))
    # header ‖ lp(seq) ‖ lp(previous leaf hash) ‖ lp(date) ‖ lp(content) ‖ annex field, and each
    # entry's leaf hash (ledger.merkle.leaf_hash), the next one's previous: compiled
    data, offsets, leaves = _CODEC.frame(parts, first_seq, prev_leaf_hash, _lp_date(ledger_date))
    return FramedEntries(data, offsets, chashes, leaves)


def encode_entry(
    record: Record,
    *,
    seq: int,
    prev_leaf_hash: bytes,
    ledger_date: dt.date,
    annex: FingerprintAnnex | EmptyAnnex | None = None,
) -> bytes:
    """The canonical bytes of an entry (see the module docstring for the layout)."""
    return encode_entry_with_hash(
        record, seq=seq, prev_leaf_hash=prev_leaf_hash, ledger_date=ledger_date, annex=annex
    )[0]


def decode_entry(data: bytes) -> Entry:
    """Parse entry bytes strictly; raises :class:`EntryFormatError` if malformed."""
    reader = _Reader(bytes(data))
    header = reader.take(2)
    if header[0] != VERSION:
        raise EntryFormatError(f"unknown entry version {header[0]}")
    try:
        entry_type = EntryType(header[1])
    except ValueError:
        raise EntryFormatError(f"unknown entry type {header[1]}") from None
    seq_raw = reader.required()
    prev = reader.required()
    date_raw = reader.required()
    content = reader.required()
    annex_raw = reader.required()
    reader.end()
    if len(seq_raw) != 8 or len(prev) != HASH_SIZE:
        raise EntryFormatError("bad seq or previous-hash field")
    return Entry(
        entry_type=entry_type,
        seq=_I64.unpack(seq_raw)[0],
        prev_leaf_hash=prev,
        ledger_date=_decode_scalar(DATE, date_raw),
        record=decode_record(_CONTENT_TYPES[entry_type], content),
        annex=decode_record(_ANNEX_TYPES[entry_type], annex_raw),
    )


def record_to_dict(record: Any) -> dict[str, Any]:
    """A JSON-friendly view of a record (dates as ISO text, bytes as hex)."""

    def plain(value: Any) -> Any:
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        if hasattr(value, "__dataclass_fields__"):
            return record_to_dict(value)
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, bytes):
            return value.hex()
        return value

    return {f.name: plain(getattr(record, f.name)) for f in fields(record)}


def diff_fields(old: Record, new: Record, *, ignore: Sequence[str] = ()) -> list[str]:
    """Names of the fields whose values differ between two records of the same class."""
    return [
        f.name
        for f in fields(old)
        if f.name not in ignore and getattr(old, f.name) != getattr(new, f.name)
    ]


def none_if_empty(value: Any) -> Any:
    """Normalise empty text to ``None`` (a CSV's empty cell and a null mean the same)."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _invoice_order(pair: tuple[str | None, int | None]) -> tuple[str, int]:
    return (pair[0] or "", pair[1] if pair[1] is not None else -(2**63))


def invoice_lists(rows: Sequence[Sequence[tuple[str | None, int | None]]]) -> list[tuple[InvoiceAmount, ...]]:
    """Each row's invoice citations (invoice no, amount) in canonical order (by number, then
    amount), duplicates kept, empty numbers null; the records of every row made in one call."""
    ordered = [pairs if len(pairs) <= 1 else sorted(pairs, key=_invoice_order) for pairs in rows]
    flat = list(itertools.chain.from_iterable(ordered))
    made = records_from_columns(
        InvoiceAmount, {"invoice_no": [none_if_empty(no) for no, _ in flat], "amount_fen": [fen for _, fen in flat]}
    )
    out: list[tuple[InvoiceAmount, ...]] = []
    at = 0
    for pairs in ordered:
        out.append(tuple(made[at : at + len(pairs)]))
        at += len(pairs)
    return out


def encode_values(*values: str | int | dt.date | bytes | None) -> bytes:
    """Length-prefixed encoding of loose values, each by its type (for keyed hashes)."""
    return b"".join([_BY_TYPE[type(v)](v) if type(v) in _BY_TYPE else _encode_value(v) for v in values])


def _encode_value(value: Any) -> bytes:
    if isinstance(value, str):
        return _lp_str(value)
    if isinstance(value, bool):
        raise TypeError("booleans have no canonical encoding here")
    if isinstance(value, int):
        return _lp_int(value)
    if isinstance(value, dt.date):
        return _lp_date(value)
    return _lp_bytes(value)


_BY_TYPE: dict[type, Callable[[Any], bytes]] = {
    str: _lp_str, int: _lp_int, dt.date: _lp_date, bytes: _lp_bytes, type(None): _lp_bytes,
}
"""The encoder :func:`_encode_value` picks for a value of exactly these types, found by one lookup."""
