"""Verifying one segment of the stored ledger: a run of entries ``[start, end)``.

A segment is verified on its own -- in this process, or in a worker process with its
own read-only connection -- and the results of consecutive segments are joined by
:func:`ledger.verify.verify_ledger`.  For every entry of the segment, in order:

1. its ``seq`` is the next position (a dropped or reordered row is named at once);
2. its stored leaf hash is SHA-256(0x00 ‖ entry) (a flipped byte is named at once);
3. its header carries the same ``seq`` and the leaf hash of the entry before it (an
   entry rewritten *with* a recomputed leaf hash breaks the link of its successor).
   The link of the segment's first entry is returned, for the caller to compare with
   the last leaf of the segment before.

The leaves are folded into a compact range over ``[start, end)`` (with snapshots at the
sizes of checkpoints inside the segment), so the caller can rebuild any root from it.

In this process, entries are read ahead on a second thread: reading, seq and header
checks run there, and the main thread does little more than the SHA-256 work.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Generator, Iterable
from contextlib import closing
from dataclasses import dataclass, field
from typing import TypeVar

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledger.compiled import load_codec
from ledger.entries import HASH_SIZE, PREV_OFFSET, SEQ_OFFSET, VERSION, EntryType
from ledger.merkle import CompactRange, NodeId, collector
from ledger.store import LedgerStore

T = TypeVar("T")
_HEADER = PREV_OFFSET + HASH_SIZE
_TYPES = np.array([int(t) for t in EntryType], dtype=np.uint8)
_sha256_slices = load_codec().sha256_slices


class Failure(Exception):
    """The first bad entry found (``seq``; None for the ledger as a whole) and why."""

    def __init__(self, seq: int | None, problem: str) -> None:
        super().__init__(problem)
        self.seq = seq
        self.problem = problem

    def __reduce__(self) -> tuple[type[Failure], tuple[int | None, str]]:  # crosses process boundaries
        return (Failure, (self.seq, self.problem))


@dataclass(frozen=True)
class Segment:
    """Entries ``[start, end)`` to verify, and the sizes in ``(start, end]`` to snapshot."""

    start: int
    end: int
    marks: tuple[int, ...] = ()


@dataclass
class SegmentResult:
    """What a segment's verification found: the range of its leaves, or its first failure."""

    segment: Segment
    span: CompactRange  # the leaves verified, [start, span.size)
    first_link: bytes | None = None  # the previous-hash field of entry ``start``
    last_leaf: bytes | None = None  # the leaf hash of entry ``span.size - 1``
    marks: dict[int, tuple[CompactRange, bytes]] = field(default_factory=dict)  # size -> (range, last leaf)
    failure: Failure | None = None
    cpu_seconds: float = 0.0  # spent by a worker process on this segment (0 in the caller's process)


def prefetched(items: Iterable[T], depth: int = 4) -> Generator[T, None, None]:
    """Iterate ``items`` on a worker thread, ``depth`` items ahead.

    Closing this generator early stops the worker, which closes ``items``.
    """
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        source = iter(items)
        try:
            for item in source:
                if not offer(item):
                    break
        except BaseException as exc:  # handed to the consumer
            offer(exc)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
            offer(done)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    try:
        while True:
            item = buffer.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _first_false(mask: np.ndarray) -> int | None:
    bad = np.flatnonzero(~mask)
    return int(bad[0]) if len(bad) else None


def _offsets(arr: pa.Array) -> np.ndarray:
    dtype = np.int64 if pa.types.is_large_binary(arr.type) else np.int32
    return np.frombuffer(arr.buffers()[1], dtype=dtype)[arr.offset : arr.offset + len(arr) + 1]


def _fixed_width(arr: pa.Array, width: int) -> memoryview | None:
    """The concatenated values of a binary array whose values are all ``width`` bytes."""
    if arr.null_count:
        return None
    offsets = _offsets(arr)
    if not np.array_equal(np.diff(offsets), np.full(len(arr), width)):
        return None
    data = arr.buffers()[2]
    view = memoryview(data if data is not None else b"").cast("B")  # unsigned, to compare with bytes
    return view[int(offsets[0]) : int(offsets[-1])]


@dataclass
class _Page:
    """A batch prepared for checking: everything but the hashing, done on the reading thread."""

    pos: int
    batch: pa.RecordBatch  # keeps the buffers below alive
    early: Failure | None = None  # found before hashing (seq order, nulls)
    late: Failure | None = None  # found in the headers (reported after the leaf hashes)
    data: memoryview | None = None  # the 0x00 ‖ entry values, back to back
    bounds: list[int] | None = None
    stored: memoryview | None = None  # the stored leaf hashes, back to back
    links: bytes = b""  # every entry's previous-hash field, back to back


def _prepare(batch: pa.RecordBatch, pos: int) -> _Page:
    """Checks 1 and 3 except the links (no hashing): seq order, framing, embedded seq."""
    page = _Page(pos, batch)
    k = batch.num_rows
    seqs = batch.column(0).to_numpy(zero_copy_only=False)
    expected = np.arange(pos, pos + k, dtype=np.int64)
    i = _first_false(seqs == expected)
    if i is not None:
        if int(seqs[i]) > pos + i:
            page.early = Failure(pos + i, f"entry {pos + i} is missing (the next stored entry is seq {int(seqs[i])})")
        else:
            page.early = Failure(pos + i, f"entry seq {int(seqs[i])} is stored out of order, at position {pos + i}")
        return page
    inputs = batch.column(1)  # 0x00 ‖ entry, concatenated by DuckDB
    if inputs.null_count:
        i = _first_false(inputs.is_valid().to_numpy(zero_copy_only=False)) or 0
        page.early = Failure(pos + i, f"entry {pos + i} is null")
        return page
    page.data = memoryview(inputs.buffers()[2] or b"")
    page.bounds = _offsets(inputs).tolist()
    page.stored = _fixed_width(batch.column(2), HASH_SIZE)
    heads = pc.binary_slice(inputs, 1, 1 + _HEADER)
    lengths = pc.binary_length(heads).to_numpy(zero_copy_only=False)
    i = _first_false(lengths == _HEADER)
    if i is not None:
        page.late = Failure(pos + i, f"entry {pos + i} is too short to be an entry")
        return page
    first = int(_offsets(heads)[0])
    hdr = np.frombuffer(heads.buffers()[2], dtype=np.uint8, count=k * _HEADER, offset=first).reshape(k, _HEADER)
    # bytes 2..18 are two big-endian words: 00000008 ‖ seq ‖ 00000020
    words = np.ascontiguousarray(hdr[:, 2:PREV_OFFSET]).view(">u8").reshape(k, 2)
    useq = expected.astype(np.uint64)
    ok = (
        bool((hdr[:, 0] == VERSION).all())
        and bool(np.isin(hdr[:, 1], _TYPES).all())
        and bool((words[:, 0] == ((np.uint64(8) << np.uint64(32)) | (useq >> np.uint64(32)))).all())
        and bool((words[:, 1] == (((useq & np.uint64(0xFFFFFFFF)) << np.uint64(32)) | np.uint64(HASH_SIZE))).all())
    )
    if not ok:
        try:
            _explain_headers(hdr, pos)
        except Failure as failure:
            page.late = failure
    page.links = hdr[:, PREV_OFFSET:].tobytes()
    return page


def _pages(batches: Iterable[pa.RecordBatch], start: int) -> Generator[_Page, None, None]:
    """Prepared pages, numbered from entry ``start``."""
    pos = start
    try:
        for batch in batches:
            if batch.num_rows:
                yield _prepare(batch, pos)
                pos += batch.num_rows
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()


def _check_page(page: _Page, prev: bytes | None) -> list[bytes]:
    """The hashing part of checks 2 and 3 on a prepared page; returns the leaf hashes.

    ``prev`` is the leaf hash of the entry before the page, None for a segment's first
    page (whose first link the caller compares).
    """
    if page.early is not None:
        raise page.early
    assert page.data is not None and page.bounds is not None
    data, bounds, pos = page.data, page.bounds, page.pos
    computed = _sha256_slices(data, bounds)  # one call a page, hashed without the GIL (ledger/_codec.c)
    joined = b"".join(computed)
    if page.stored is None or page.stored != joined:
        stored = page.batch.column(2).to_pylist()
        i = next(j for j in range(len(computed)) if stored[j] != computed[j])
        raise Failure(pos + i, f"entry {pos + i}: its bytes do not hash to its stored leaf hash")
    if page.late is not None:
        raise page.late
    expected = (page.links[:HASH_SIZE] if prev is None else prev) + joined[: len(joined) - HASH_SIZE]
    if page.links != expected:
        i = next(j for j in range(len(computed)) if page.links[j * 32 : j * 32 + 32] != expected[j * 32 : j * 32 + 32])
        raise broken_link(pos + i)
    return computed


def broken_link(seq: int) -> Failure:
    """The failure when entry ``seq`` does not link to the leaf hash of the entry before it."""
    if seq == 0:
        return Failure(0, "entry 0 does not start the chain with a zero previous hash")
    return Failure(seq - 1, f"entry {seq - 1} was altered: its hash no longer matches the link in entry {seq}")


def _explain_headers(hdr: np.ndarray, pos: int) -> None:
    """Name the first entry whose header framing or embedded seq is wrong."""
    k = len(hdr)
    framing = (
        (hdr[:, 0] == VERSION)
        & np.isin(hdr[:, 1], _TYPES)
        & (hdr[:, 2:SEQ_OFFSET] == np.array([0, 0, 0, 8], dtype=np.uint8)).all(axis=1)
        & (hdr[:, SEQ_OFFSET + 8 : PREV_OFFSET] == np.array([0, 0, 0, HASH_SIZE], dtype=np.uint8)).all(axis=1)
    )
    i = _first_false(framing)
    if i is not None:
        raise Failure(pos + i, f"entry {pos + i} has a malformed header")
    embedded = np.ascontiguousarray(hdr[:, SEQ_OFFSET : SEQ_OFFSET + 8]).view(">i8").ravel()
    i = _first_false(embedded == np.arange(pos, pos + k, dtype=np.int64))
    if i is not None:
        raise Failure(
            pos + i, f"entry {pos + i} carries seq {int(embedded[i])}: entries were reordered or replaced"
        )


def compare_nodes(stored: dict[NodeId, bytes], emitted: dict[NodeId, bytes]) -> None:
    """Raise for the leftmost node stored but not rebuilt, rebuilt but not stored, or different."""
    if stored == emitted:
        return
    bad = sorted(set(stored) ^ set(emitted) | {n for n in emitted if stored.get(n) != emitted[n]},
                 key=lambda n: (n[1] << n[0], n[0]))
    level, idx = bad[0]
    first = idx << level
    raise Failure(
        first,
        f"stored node (level {level}, index {idx}) over entries {first}..{first + (1 << level) - 1} "
        "does not match the entries",
    )


def _check_nodes(store: LedgerStore, begin: int, pos: int, k: int, emitted: dict[NodeId, bytes]) -> None:
    """Compare the nodes completed by leaves ``[pos, pos + k)`` with the stored ones.

    Only nodes over leaves from ``begin`` on: those reaching further left are completed
    when segments are joined, and compared there.
    """
    stored = {
        (int(level), int(idx)): bytes(h)
        for level, idx, h in store.con.execute(
            "SELECT level, idx, hash FROM ledger_nodes WHERE last_seq BETWEEN ? AND ? "
            "AND last_seq + 1 - (1::BIGINT << level) >= ?",
            [pos, pos + k - 1, begin],
        ).fetchall()
    }
    compare_nodes(stored, emitted)


def verify_segment(
    con: duckdb.DuckDBPyConnection,
    segment: Segment,
    *,
    batch_rows: int = 1 << 18,
    check_nodes: bool = False,
    prefetch: bool = True,
) -> SegmentResult:
    """Verify the entries of ``segment``; stops at the first bad one (``result.failure``).

    With ``check_nodes`` the stored interior nodes completed inside the segment are
    compared too.  With ``prefetch`` entries are read ahead on a second thread, which is
    then the only user of ``con`` until this returns.
    """
    store = LedgerStore(con)
    span = CompactRange(segment.start, begin=segment.start)
    result = SegmentResult(segment, span)
    marks = sorted(segment.marks)
    prev: bytes | None = None
    pages = _pages(store.batches(segment.start, segment.end, rows=batch_rows, leaf_input=True), segment.start)
    stream = prefetched(pages) if prefetch and not check_nodes else pages
    try:
        with closing(stream):
            for page in stream:
                pos, k = page.pos, page.batch.num_rows
                if prev is None and page.early is None:
                    result.first_link = page.links[:HASH_SIZE] or None
                computed = _check_page(page, prev)
                emitted: dict[NodeId, bytes] = {}
                sink = collector(emitted) if check_nodes else None
                done = 0
                while marks and marks[0] <= pos + k:
                    size = marks.pop(0)
                    span.extend(computed[done : size - pos], sink)
                    done = size - pos
                    result.marks[size] = (span.copy(), computed[done - 1])
                span.extend(computed[done:], sink)
                if check_nodes:
                    _check_nodes(store, segment.start, pos, k, emitted)
                prev = computed[-1]
    except Failure as failure:
        result.failure = failure
    result.last_leaf = prev
    return result


_WORKER_CONNECTION: duckdb.DuckDBPyConnection | None = None


def open_worker(path: str) -> None:
    """Initialise a worker process: one read-only, single-threaded connection to ``path``."""
    global _WORKER_CONNECTION
    _WORKER_CONNECTION = duckdb.connect(path, read_only=True, config={"threads": "1"})


def verify_segment_in_worker(segment: Segment, batch_rows: int, check_nodes: bool) -> SegmentResult:
    """:func:`verify_segment` on the connection :func:`open_worker` made (one core per worker)."""
    assert _WORKER_CONNECTION is not None, "open_worker was not run in this process"
    cpu = time.process_time()
    result = verify_segment(_WORKER_CONNECTION, segment, batch_rows=batch_rows, check_nodes=check_nodes, prefetch=False)
    result.cpu_seconds = time.process_time() - cpu
    return result
