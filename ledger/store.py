"""The ledger's tree in DuckDB: append entries, read nodes and entries, generate proofs.

Appending reads the persisted right edge (``ledger_tree``), hashes only the new entries,
writes their rows, the interior nodes they complete and the new edge: O(new entries).
Entries and nodes are never updated or deleted.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import duckdb
import pyarrow as pa

from ledger.entries import (
    HASH_SIZE,
    ZERO_HASH,
    ArchiveManifest,
    EmptyAnnex,
    Entry,
    EventStatus,
    FinancingRecord,
    FinancingStatus,
    FingerprintAnnex,
    PoolMembership,
    Record,
    VoucherEvent,
    decode_entry,
    entry_type_of,
    frame_entries,
)
from ledger.merkle import (
    CompactRange,
    NodeId,
    consistency_proof,
    inclusion_proof,
    root_at,
)

_names = itertools.count()


def insert_arrow(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table) -> None:
    """Insert an Arrow table whose columns are named as the target table's."""
    if data.num_rows == 0:
        return
    view = f"_ledger_insert_{next(_names)}"
    con.register(view, data)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {view}")
    finally:
        con.unregister(view)


def fetch_one(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] = ()) -> tuple | None:
    """The first row of a query, or ``None``; the result is always consumed fully."""
    rows = con.execute(sql, list(params)).fetchall()
    return rows[0] if rows else None


class PendingEntry(NamedTuple):
    """A record accepted for appending, with what the ledger adds to it (the item
    :func:`~ledger.entries.frame_entries` takes)."""

    record: Record
    annex: FingerprintAnnex | EmptyAnnex | None = None
    content: bytes | None = None  # encode_record(record), if already computed
    content_hash: bytes | None = None  # and its content hash


class AppendedEntry(NamedTuple):
    """A record once appended: its position and hashes."""

    seq: int
    record: Record
    annex: FingerprintAnnex | EmptyAnnex | None
    leaf_hash: bytes
    content_hash: bytes


@dataclass(frozen=True)
class TreeHead:
    """The persisted head of the tree: size, root, right edge, last leaf hash."""

    size: int
    root: bytes
    edge: CompactRange
    last_leaf_hash: bytes


ARCHIVE_MANIFEST = "ARCHIVE_MANIFEST"
"""The ``entry_type`` column of :class:`~ledger.entries.ArchiveManifest` entries."""
FINANCING = "FINANCING"
"""The ``entry_type`` column of financing entries; a financing's status entry's is
``FINANCING_<status>`` (:func:`financing_status_column`)."""


def financing_status_column(status: str) -> str:
    """The ``entry_type`` column of a :class:`~ledger.entries.FinancingStatus` entry."""
    return f"{FINANCING}_{status}"


def row_keys(record: Record) -> tuple[str, str | None, str | None, str | None, str | None]:
    """(entry_type, event_id, financing_id, voucher_id, parent_voucher_id) columns of a record.

    An event's status entry's type is its status, and it names only its event (the event
    version it is about: :func:`content_hash_column`); a financing's names only its financing.
    """
    if isinstance(record, EventStatus):
        return (record.status, record.event_id, None, None, None)
    if isinstance(record, FinancingStatus):
        return (financing_status_column(record.status), None, record.financing_id, None, None)
    if isinstance(record, ArchiveManifest):
        return (ARCHIVE_MANIFEST, None, None, None, None)
    if isinstance(record, PoolMembership):  # POOL_RESERVE, POOL_RELEASE, POOL_SELL
        return (entry_type_of(record).name, None, record.financing_id, None, None)
    if isinstance(record, VoucherEvent):
        return (
            record.event_type or "?",
            record.event_id,
            record.financing_id,
            record.voucher_id,
            record.parent_voucher_id,
        )
    assert isinstance(record, FinancingRecord)
    return (FINANCING, None, record.financing_id, record.asset_voucher_id, None)


def content_hash_column(record: Record, content_hash: bytes) -> bytes:
    """The ``content_hash`` column of a record's row: its content hash, except for a status
    entry, whose column is that of the event (financing) version it is about (so that the
    versions and decisions are found by one key)."""
    if isinstance(record, EventStatus):
        return record.event_hash
    if isinstance(record, FinancingStatus):
        return record.financing_hash
    return content_hash


class LedgerStore:
    """Entries, nodes and tree head of the ledger, on one DuckDB connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    # ---- head ---------------------------------------------------------------------

    def head(self) -> TreeHead:
        """The persisted tree head (the empty tree before the first append)."""
        row = fetch_one(self.con, "SELECT tree_size, root_hash, edge, last_leaf_hash FROM ledger_tree")
        if row is None:
            empty = CompactRange()
            return TreeHead(0, empty.root(), empty, ZERO_HASH)
        size, root, edge, last = int(row[0]), bytes(row[1]), bytes(row[2]), bytes(row[3])
        hashes = [edge[i : i + HASH_SIZE] for i in range(0, len(edge), HASH_SIZE)]
        return TreeHead(size, root, CompactRange(size, hashes), last)

    def _write_head(self, edge: CompactRange, last_leaf: bytes, business_date: dt.date) -> None:
        self.con.execute("DELETE FROM ledger_tree")
        self.con.execute(
            "INSERT INTO ledger_tree BY NAME SELECT ? AS tree_size, ? AS root_hash, ? AS edge, ? AS last_leaf_hash, "
            "? AS business_date",
            [edge.size, edge.root(), b"".join(edge.hashes), last_leaf, business_date],
        )

    # ---- append -------------------------------------------------------------------

    def append(self, pending: Sequence[PendingEntry], business_date: dt.date) -> list[AppendedEntry]:
        """Append entries for the night ``business_date``; O(len(pending)).

        Call inside a transaction that also records whatever else the append implies.
        """
        head = self.head()
        if not pending:
            return []
        edge = head.edge.copy()
        records = [item.record for item in pending]
        framed = frame_entries(pending, first_seq=head.size, prev_leaf_hash=head.last_leaf_hash, ledger_date=business_date)
        leaves = framed.leaf_hashes
        chashes = list(map(content_hash_column, records, framed.content_hashes))
        types, event_ids, financing_ids, voucher_ids, parents = zip(*map(row_keys, records), strict=True)
        seqs = list(range(head.size, head.size + len(pending)))
        appended = list(map(AppendedEntry, seqs, records, (item.annex for item in pending), leaves, chashes))
        levels: list[int] = []
        idxs: list[int] = []
        hashes: list[bytes] = []

        def emit(level: int, first: int, found: list[bytes]) -> None:
            levels.extend(itertools.repeat(level, len(found)))
            idxs.extend(range(first, first + len(found)))
            hashes.extend(found)

        edge.extend(leaves, emit)
        entries = pa.table(
            {
                "seq": pa.array(seqs, pa.int64()),
                "entry_type": pa.array(types, pa.string()),
                "event_id": pa.array(event_ids, pa.string()),
                "financing_id": pa.array(financing_ids, pa.string()),
                "voucher_id": pa.array(voucher_ids, pa.string()),
                "parent_voucher_id": pa.array(parents, pa.string()),
                "business_date": pa.array([business_date] * len(pending), pa.date32()),
                "content_hash": pa.array(chashes, pa.binary()),
                "entry": pa.LargeBinaryArray.from_buffers(  # the framed bytes as they are: no object per entry
                    pa.large_binary(), len(pending), [None, pa.py_buffer(framed.offsets), pa.py_buffer(framed.data)]
                ),
                "leaf_hash": pa.array(leaves, pa.binary()),
            }
        )
        insert_arrow(self.con, "ledger_entries", entries)
        insert_arrow(self.con, "ledger_nodes", nodes_table(levels, idxs, hashes))
        self._write_head(edge, leaves[-1], business_date)
        return appended

    # ---- reads --------------------------------------------------------------------

    def fetch_nodes(self, ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
        """Hashes of complete subtrees by id: leaves from entries, the rest from nodes."""
        out: dict[NodeId, bytes] = {}
        leaves = sorted({i for level, i in ids if level == 0})
        inner = sorted({((i + 1) << level) - 1 for level, i in ids if level > 0})
        if leaves:
            for seq, h in self.con.execute(
                f"SELECT seq, leaf_hash FROM ledger_entries WHERE seq IN ({_int_list(leaves)})"
            ).fetchall():
                out[(0, int(seq))] = bytes(h)
        if inner:
            wanted = {nid for nid in ids if nid[0] > 0}
            for level, idx, h in self.con.execute(
                f"SELECT level, idx, hash FROM ledger_nodes WHERE last_seq IN ({_int_list(inner)})"
            ).fetchall():
                if (int(level), int(idx)) in wanted:
                    out[(int(level), int(idx))] = bytes(h)
        return out

    def root_at(self, size: int) -> bytes:
        """The root of the tree at an earlier (or the current) size, from stored nodes."""
        return root_at(size, self.fetch_nodes)

    def inclusion_proof(self, seq: int, size: int) -> list[bytes]:
        """Inclusion proof of entry ``seq`` in the tree of ``size`` entries."""
        return inclusion_proof(seq, size, self.fetch_nodes)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """Consistency proof from the tree of ``old_size`` entries to ``new_size``."""
        return consistency_proof(old_size, new_size, self.fetch_nodes)

    def entry_bytes(self, seq: int) -> tuple[bytes, bytes] | None:
        """(entry, stored leaf hash) at ``seq``."""
        row = fetch_one(self.con, "SELECT entry, leaf_hash FROM ledger_entries WHERE seq = ?", [seq])
        return (bytes(row[0]), bytes(row[1])) if row else None

    def entry(self, seq: int) -> Entry | None:
        """The decoded entry at ``seq``."""
        found = self.entry_bytes(seq)
        return decode_entry(found[0]) if found else None

    def find_seqs(self, *, event_id: str | None = None, financing_id: str | None = None,
                  voucher_id: str | None = None) -> list[int]:
        """Sequence numbers of the entries naming an event, a financing or a voucher."""
        clauses, params = [], []
        for column, value in (("event_id", event_id), ("financing_id", financing_id),
                              ("voucher_id", voucher_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if not clauses:
            return []
        rows = self.con.execute(
            f"SELECT seq FROM ledger_entries WHERE {' OR '.join(clauses)} ORDER BY seq", params
        ).fetchall()
        return [int(r[0]) for r in rows]

    def batches(
        self, start: int, end: int | None = None, rows: int = 1 << 18, *, leaf_input: bool = False
    ) -> Iterator[pa.RecordBatch]:
        """Stream ``(seq, entry, leaf_hash)`` of entries with ``start <= seq < end`` in seq order.

        ``end`` defaults to one past the largest stored seq.

        With ``leaf_input`` the second column is ``0x00 ‖ entry``, the input of the leaf
        hash, concatenated by DuckDB (off the Python thread).

        Pages of ``rows`` sequence numbers are read one query at a time (zone maps on
        ``seq`` make each O(page)), so no result stays open on the connection between
        pages.  A page is read in storage order, which is seq order for an append-only
        table; if it is not, the page is read again sorted.
        """
        stop = self.end_of_entries(start) if end is None else end
        column = "'\\x00'::BLOB || entry AS leaf_input" if leaf_input else "entry"
        for low in range(start, stop, rows):
            query = (
                f"SELECT seq, {column}, leaf_hash FROM ledger_entries "
                f"WHERE seq >= {int(low)} AND seq < {int(min(low + rows, stop))}"
            )
            table = self.con.sql(query).to_arrow_table()
            seqs = table.column("seq").to_numpy()
            if len(seqs) > 1 and not bool((seqs[1:] > seqs[:-1]).all()):
                table = self.con.sql(query + " ORDER BY seq").to_arrow_table()
            yield from table.to_batches()  # DuckDB's chunks as they are: combining would copy

    def end_of_entries(self, start: int = 0) -> int:
        """One past the largest stored ``seq`` at or after ``start`` (``start`` if there is none)."""
        row = fetch_one(self.con, "SELECT max(seq) FROM ledger_entries WHERE seq >= ?", [start])
        return int(row[0]) + 1 if row and row[0] is not None else start

    def count(self) -> int:
        """Number of entry rows (equal to the tree size unless rows were dropped or added)."""
        row = fetch_one(self.con, "SELECT count(*) FROM ledger_entries")
        return int(row[0]) if row else 0


def nodes_table(levels: list[int], idxs: list[int], hashes: list[bytes]) -> pa.Table:
    """Rows for ``ledger_nodes``, sorted by ``last_seq`` so zone maps find them fast."""
    table = pa.table(
        {
            "level": pa.array(levels, pa.int16()),
            "idx": pa.array(idxs, pa.int64()),
            "last_seq": pa.array([((i + 1) << lv) - 1 for lv, i in zip(levels, idxs, strict=True)], pa.int64()),
            "hash": pa.array(hashes, pa.binary()),
        }
    )
    return table.sort_by([("last_seq", "ascending"), ("level", "ascending")])


def _int_list(values: Sequence[int]) -> str:
    return ", ".join(str(int(v)) for v in values)
