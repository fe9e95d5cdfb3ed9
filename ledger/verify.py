"""Verifying the stored ledger: every entry re-hashed, the tree rebuilt, roots compared.

Verification streams entries from DuckDB in Arrow batches (read ahead on a second
thread) and checks, for every entry, in order:

1. its ``seq`` is the next position (a dropped or reordered row is named at once);
2. its stored leaf hash is SHA-256(0x00 ‖ entry) (a flipped byte is named at once);
3. its header carries the same ``seq`` and the leaf hash of the entry before it (an
   entry rewritten *with* a recomputed leaf hash breaks the link of its successor);

Everything but the hashing (reading, seq and header checks) is done on the read-ahead
thread, so the main thread does little more than the SHA-256 work itself.
4. the tree rebuilt from the leaves has the root of every trusted checkpoint it passes,
   then the root and last leaf recorded in ``ledger_tree``.

Optionally it also compares every stored interior node (``check_nodes``), which proofs
are generated from.  ``since`` starts from a trusted checkpoint instead of entry 0: the
stored right edge at that size must hash to the checkpoint's root, and only later
entries are read -- a nightly verification costs O(new entries).
"""

from __future__ import annotations

import hashlib
import queue
import threading
from contextlib import closing
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence, TypeVar

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledger.checkpoint import Checkpoint
from ledger.entries import HASH_SIZE, PREV_OFFSET, SEQ_OFFSET, VERSION, ZERO_HASH, EntryType
from ledger.merkle import CompactRange
from ledger.store import LedgerStore

T = TypeVar("T")
_HEADER = PREV_OFFSET + HASH_SIZE
_LAST_ALTERED = "entry {seq} was altered: it no longer matches the recorded last leaf"
_TYPES = np.array([int(t) for t in EntryType], dtype=np.uint8)


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of a verification."""

    ok: bool
    start: int
    tree_size: int
    root: bytes
    checkpoints_matched: tuple[int, ...] = ()
    first_bad_seq: int | None = None
    problem: str | None = None
    entries_checked: int = 0

    def summary(self) -> str:
        """One line for a person."""
        if self.ok:
            matched = ", ".join(str(s) for s in self.checkpoints_matched) or "none"
            return (
                f"OK: entries {self.start}..{self.tree_size - 1} verified, root {self.root.hex()}, "
                f"checkpoints matched: {matched}"
            )
        where = f"first bad entry: seq {self.first_bad_seq}" if self.first_bad_seq is not None else "ledger"
        return f"FAILED ({where}): {self.problem}"


class _Failure(Exception):
    def __init__(self, seq: int | None, problem: str) -> None:
        super().__init__(problem)
        self.seq = seq
        self.problem = problem


def _prefetched(items: Iterable[T], depth: int = 4) -> Iterator[T]:
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
    early: _Failure | None = None  # found before hashing (seq order, nulls)
    late: _Failure | None = None  # found in the headers (reported after the leaf hashes)
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
            page.early = _Failure(pos + i, f"entry {pos + i} is missing (the next stored entry is seq {int(seqs[i])})")
        else:
            page.early = _Failure(pos + i, f"entry seq {int(seqs[i])} is stored out of order, at position {pos + i}")
        return page
    inputs = batch.column(1)  # 0x00 ‖ entry, concatenated by DuckDB
    if inputs.null_count:
        i = _first_false(inputs.is_valid().to_numpy(zero_copy_only=False)) or 0
        page.early = _Failure(pos + i, f"entry {pos + i} is null")
        return page
    page.data = memoryview(inputs.buffers()[2] or b"")
    page.bounds = _offsets(inputs).tolist()
    page.stored = _fixed_width(batch.column(2), HASH_SIZE)
    heads = pc.binary_slice(inputs, 1, 1 + _HEADER)
    lengths = pc.binary_length(heads).to_numpy(zero_copy_only=False)
    i = _first_false(lengths == _HEADER)
    if i is not None:
        page.late = _Failure(pos + i, f"entry {pos + i} is too short to be an entry")
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
        except _Failure as failure:
            page.late = failure
    page.links = hdr[:, PREV_OFFSET:].tobytes()
    return page


def _pages(batches: Iterable[pa.RecordBatch], start: int) -> Iterator[_Page]:
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


def _check_page(page: _Page, prev: bytes) -> list[bytes]:
    """The hashing part of checks 2 and 3 on a prepared page; returns the leaf hashes."""
    if page.early is not None:
        raise page.early
    assert page.data is not None and page.bounds is not None
    data, bounds, pos = page.data, page.bounds, page.pos
    sha = hashlib.sha256
    computed = [sha(data[a:b]).digest() for a, b in zip(bounds, bounds[1:])]  # slices copy nothing
    joined = b"".join(computed)
    if page.stored is None or page.stored != joined:
        stored = page.batch.column(2).to_pylist()
        i = next(j for j in range(len(computed)) if stored[j] != computed[j])
        raise _Failure(pos + i, f"entry {pos + i}: its bytes do not hash to its stored leaf hash")
    if page.late is not None:
        raise page.late
    expected = prev + joined[: len(joined) - HASH_SIZE]
    if page.links != expected:
        i = next(j for j in range(len(computed)) if page.links[j * 32 : j * 32 + 32] != expected[j * 32 : j * 32 + 32])
        if i == 0 and pos == 0:
            raise _Failure(0, "entry 0 does not start the chain with a zero previous hash")
        raise _Failure(
            pos + i - 1,
            f"entry {pos + i - 1} was altered: its hash no longer matches the link in entry {pos + i}",
        )
    return computed


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
        raise _Failure(pos + i, f"entry {pos + i} has a malformed header")
    embedded = np.ascontiguousarray(hdr[:, SEQ_OFFSET : SEQ_OFFSET + 8]).view(">i8").ravel()
    i = _first_false(embedded == np.arange(pos, pos + k, dtype=np.int64))
    if i is not None:
        raise _Failure(
            pos + i, f"entry {pos + i} carries seq {int(embedded[i])}: entries were reordered or replaced"
        )


def _check_nodes(store: LedgerStore, pos: int, k: int, emitted: dict[tuple[int, int], bytes]) -> None:
    """Compare the nodes completed by leaves ``[pos, pos + k)`` with the stored ones."""
    stored = {
        (int(level), int(idx)): bytes(h)
        for level, idx, h in store.con.execute(
            "SELECT level, idx, hash FROM ledger_nodes WHERE last_seq BETWEEN ? AND ?", [pos, pos + k - 1]
        ).fetchall()
    }
    if stored == emitted:
        return
    bad = sorted(set(stored) ^ set(emitted) | {n for n in emitted if stored.get(n) != emitted[n]},
                 key=lambda n: (n[1] << n[0], n[0]))
    level, idx = bad[0]
    first = idx << level
    raise _Failure(
        first,
        f"stored node (level {level}, index {idx}) over entries {first}..{first + (1 << level) - 1} "
        "does not match the entries",
    )


def verify_ledger(
    con: duckdb.DuckDBPyConnection,
    *,
    trusted: Sequence[Checkpoint] = (),
    since: Checkpoint | None = None,
    batch_rows: int = 1 << 18,
    check_nodes: bool = False,
    prefetch: bool = True,
) -> VerifyReport:
    """Verify the stored ledger (from ``since`` if given) against trusted checkpoints."""
    store = LedgerStore(con)
    head = store.head()
    start = since.size if since is not None else 0
    matched: list[int] = []
    edge = CompactRange()
    pos = start
    try:
        for cp in sorted(trusted, key=lambda c: c.size):
            if cp.size < start:
                if cp.size <= head.size and store.root_at(cp.size) != cp.root:
                    raise _Failure(None, f"the stored tree at size {cp.size} does not match its signed checkpoint")
                matched.append(cp.size)
        if since is not None:
            ids = CompactRange.node_ids(start)
            nodes = store.fetch_nodes(ids)
            if any(i not in nodes for i in ids):
                raise _Failure(None, f"the stored tree has no complete edge at size {start}")
            edge = CompactRange(start, [nodes[i] for i in ids])
            if edge.root() != since.root:
                raise _Failure(None, f"the stored tree at size {start} does not match the trusted checkpoint")
            matched.append(start)
        pending = sorted({c.size: c for c in trusted if c.size > start}.values(), key=lambda c: c.size)
        verified_to = start
        prev = ZERO_HASH
        if start:
            found = store.entry_bytes(start - 1)
            if found is None:
                raise _Failure(start - 1, f"entry {start - 1} is missing")
            prev = found[1]
        pages = _pages(store.batches(start, rows=batch_rows, leaf_input=True), start)
        # the worker thread is the only user of the connection while it reads ahead
        stream = _prefetched(pages) if prefetch and not check_nodes else pages
        with closing(stream):
            for page in stream:
                k = page.batch.num_rows
                computed = _check_page(page, prev)
                emitted: dict[tuple[int, int], bytes] = {}

                def emit(level: int, first: int, hashes: list[bytes]) -> None:
                    for j, h in enumerate(hashes):
                        emitted[(level, first + j)] = h

                sink = emit if check_nodes else None
                done = 0
                while pending and pending[0].size <= pos + k:
                    cp = pending.pop(0)
                    edge.extend(computed[done : cp.size - pos], sink)
                    done = cp.size - pos
                    if cp.size == head.size and computed[done - 1] != head.last_leaf_hash:
                        raise _Failure(cp.size - 1, _LAST_ALTERED.format(seq=cp.size - 1))
                    if edge.root() != cp.root:
                        raise _Failure(
                            verified_to,
                            f"entries {verified_to}..{cp.size - 1} do not hash to the signed checkpoint of size "
                            f"{cp.size}",
                        )
                    matched.append(cp.size)
                    verified_to = cp.size
                edge.extend(computed[done:], sink)
                if check_nodes:
                    _check_nodes(store, pos, k, emitted)
                prev = computed[-1]
                pos += k
        if pending:
            size = pending[0].size
            raise _Failure(pos, f"entries {pos}..{size - 1} are missing (a checkpoint of size {size} was signed)")
        if pos < head.size:
            raise _Failure(pos, f"entries {pos}..{head.size - 1} are missing")
        if pos > head.size:
            raise _Failure(head.size, f"{pos - head.size} entries are stored beyond the recorded size {head.size}")
        if pos > start and prev != head.last_leaf_hash:
            raise _Failure(pos - 1, _LAST_ALTERED.format(seq=pos - 1))
        if edge.root() != head.root:
            raise _Failure(None, "the recorded tree head does not match the entries")
    except _Failure as failure:
        return VerifyReport(
            ok=False,
            start=start,
            tree_size=pos,
            root=edge.root(),
            checkpoints_matched=tuple(matched),
            first_bad_seq=failure.seq,
            problem=failure.problem,
            entries_checked=pos - start,
        )
    return VerifyReport(
        ok=True,
        start=start,
        tree_size=pos,
        root=edge.root(),
        checkpoints_matched=tuple(matched),
        entries_checked=pos - start,
    )
