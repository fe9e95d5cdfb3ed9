"""Verifying the stored ledger: every entry re-hashed, the tree rebuilt, roots compared.

Entries are verified in segments (:mod:`ledger.segments`: seq order, stored leaf
hashes, embedded seq and previous-hash links), and the segments are joined here:

1. the first entry of each segment links to the last leaf of the segment before it
   (or to the zero hash, or to the trusted entry before ``since``);
2. the leaves, folded segment by segment into one compact range, have the root of
   every trusted checkpoint they pass, then the root and last leaf recorded in
   ``ledger_tree``.

A connection to a read-only database file lets worker processes verify segments side
by side, each with its own read-only connection (one core each): a full verification
of a large ledger then uses every core.  Otherwise -- in the nightly job's writing
transaction, say -- the whole range is one segment verified in this process, entries
read ahead on a second thread.  Both give the same report: the first bad entry in seq
order.

Optionally it also compares every stored interior node (``check_nodes``), which proofs
are generated from.  ``since`` starts from a trusted checkpoint instead of entry 0: the
stored right edge at that size must hash to the checkpoint's root, and only later
entries are read -- a nightly verification costs O(new entries).

:func:`verify_slice` re-hashes a run of older entries ``[start, end)`` of a signed tree and
checks that, with the stored nodes left and right of it, they give the signed root: the nightly
gate's rotating slice (:mod:`integration.audit`), O(slice + log n).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from itertools import pairwise

import duckdb

from ledger.checkpoint import Checkpoint
from ledger.entries import ZERO_HASH
from ledger.merkle import EMPTY_ROOT, CompactRange, NodeId, collector
from ledger.segments import (
    Failure,
    Segment,
    SegmentResult,
    broken_link,
    compare_nodes,
    open_worker,
    verify_segment,
    verify_segment_in_worker,
)
from ledger.store import LedgerStore, TreeHead

SEGMENT_ROWS = 1 << 20
"""Entries per segment when segments are verified in worker processes."""
_LAST_ALTERED = "entry {seq} was altered: it no longer matches the recorded last leaf"


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of a verification.

    On failure, ``tree_size``, ``root`` and ``checkpoints_matched`` tell how far it got: up
    to the page (``batch_rows`` entries) holding the first bad entry.
    """

    ok: bool
    start: int
    tree_size: int
    root: bytes
    checkpoints_matched: tuple[int, ...] = ()
    first_bad_seq: int | None = None
    problem: str | None = None
    entries_checked: int = 0
    workers: int = 0  # worker processes that verified segments (0: all in this process)
    cpu_seconds: float = 0.0  # CPU time of this process and of the workers, while verifying

    def summary(self) -> str:
        """One line for a person."""
        if self.ok:
            matched = ", ".join(str(s) for s in self.checkpoints_matched) or "none"
            by = f" by {self.workers} worker processes" if self.workers else ""
            return (
                f"OK: entries {self.start}..{self.tree_size - 1} verified{by}, root {self.root.hex()}, "
                f"checkpoints matched: {matched}"
            )
        where = f"first bad entry: seq {self.first_bad_seq}" if self.first_bad_seq is not None else "ledger"
        return f"FAILED ({where}): {self.problem}"


def shareable_path(con: duckdb.DuckDBPyConnection) -> str | None:
    """The database file behind ``con`` if other processes may open it too (read-only)."""
    rows = con.execute(
        "SELECT path, readonly FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    if not rows or rows[0][0] is None or not rows[0][1]:
        return None
    return str(rows[0][0])


def _plan(start: int, end: int, marks: Sequence[int], rows: int | None) -> list[Segment]:
    """Segments covering ``[start, end)``: one, or ``rows`` each on boundaries aligned to ``rows``."""
    bounds = [start]
    if rows is not None:
        bounds += range((start // rows + 1) * rows, end, rows)
    bounds.append(end)
    return [
        Segment(a, b, tuple(m for m in marks if a < m <= b)) for a, b in pairwise(bounds) if a < b
    ]


def _results(
    con: duckdb.DuckDBPyConnection,
    segments: list[Segment],
    path: str | None,
    workers: int,
    *,
    batch_rows: int,
    check_nodes: bool,
    prefetch: bool,
) -> Generator[SegmentResult, None, None]:
    """The segments' results, in order: from worker processes if ``path`` is given."""
    if path is None:
        for segment in segments:
            yield verify_segment(con, segment, batch_rows=batch_rows, check_nodes=check_nodes, prefetch=prefetch)
        return
    context = multiprocessing.get_context("forkserver")  # never fork a process that holds DuckDB threads
    context.set_forkserver_preload(["ledger.segments"])
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=open_worker, initargs=(path,))
    try:  # a worker that dies breaks the pool (BrokenProcessPool) instead of hanging the verification
        yield from pool.map(partial(verify_segment_in_worker, batch_rows=batch_rows, check_nodes=check_nodes), segments)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # after a failure, segments not begun are dropped


class _Joiner:
    """Joins segment results in seq order: links across segments, checkpoint roots, head."""

    def __init__(
        self,
        head: TreeHead,
        edge: CompactRange,
        prev: bytes,
        pending: Sequence[Checkpoint],
        matched: list[int],
        nodes: LedgerStore | None = None,
    ) -> None:
        self.head = head
        self.nodes = nodes  # compare the nodes completed by joining segments with these stored ones
        self.edge = edge  # [0, pos): every leaf verified so far
        self.prev = prev  # the leaf hash of entry pos - 1 (the zero hash before entry 0)
        self.pending = {cp.size: cp for cp in pending}  # trusted checkpoints not reached yet
        self.matched = matched  # checkpoint sizes whose roots matched, in order
        self.worker_cpu_seconds = 0.0
        self.verified_to = edge.size

    @property
    def pos(self) -> int:
        return self.edge.size

    def add(self, result: SegmentResult) -> None:
        """Join one segment's result, or raise the first failure it shows."""
        segment, failure = result.segment, result.failure
        self.worker_cpu_seconds += result.cpu_seconds
        if failure is not None and failure.seq == segment.start:
            raise failure
        if result.first_link is not None and result.first_link != self.prev:
            raise broken_link(segment.start)
        for size in sorted(result.marks):  # the checkpoints passed before any failure
            span, last_leaf = result.marks[size]
            at = self.edge.copy()
            at.append_range(span)
            self._match(self.pending.pop(size), at, last_leaf)
        self._append(result.span)
        if result.last_leaf is not None:
            self.prev = result.last_leaf
        if failure is not None:
            raise failure
        if self.pos < segment.end:
            raise Failure(self.pos, f"entries {self.pos}..{segment.end - 1} are missing")

    def _append(self, span: CompactRange) -> None:
        if self.nodes is None:
            self.edge.append_range(span)
            return
        emitted: dict[NodeId, bytes] = {}
        self.edge.append_range(span, collector(emitted))
        if emitted:
            compare_nodes(self.nodes.fetch_nodes(list(emitted)), emitted)

    def _match(self, cp: Checkpoint, at: CompactRange, last_leaf: bytes) -> None:
        if cp.size == self.head.size and last_leaf != self.head.last_leaf_hash:
            raise Failure(cp.size - 1, _LAST_ALTERED.format(seq=cp.size - 1))
        if at.root() != cp.root:
            raise Failure(
                self.verified_to,
                f"entries {self.verified_to}..{cp.size - 1} do not hash to the signed checkpoint of size {cp.size}",
            )
        self.matched.append(cp.size)
        self.verified_to = cp.size

    def finish(self, start: int) -> None:
        """The checks after the last segment: nothing missing, nothing extra, the recorded head."""
        pos, head = self.pos, self.head
        if self.pending:
            size = min(self.pending)
            raise Failure(pos, f"entries {pos}..{size - 1} are missing (a checkpoint of size {size} was signed)")
        if pos < head.size:
            raise Failure(pos, f"entries {pos}..{head.size - 1} are missing")
        if pos > head.size:
            raise Failure(head.size, f"{pos - head.size} entries are stored beyond the recorded size {head.size}")
        if pos > start and self.prev != head.last_leaf_hash:
            raise Failure(pos - 1, _LAST_ALTERED.format(seq=pos - 1))
        if self.edge.root() != head.root:
            raise Failure(None, "the recorded tree head does not match the entries")


def _starting_edge(store: LedgerStore, since: Checkpoint | None) -> tuple[CompactRange, bytes]:
    """The stored right edge at ``since`` (checked against its root) and the leaf before it."""
    if since is None or since.size == 0:
        return CompactRange(), ZERO_HASH
    start = since.size
    ids = CompactRange.node_ids(start)
    nodes = store.fetch_nodes(ids)
    if any(i not in nodes for i in ids):
        raise Failure(None, f"the stored tree has no complete edge at size {start}")
    edge = CompactRange(start, [nodes[i] for i in ids])
    if edge.root() != since.root:
        raise Failure(None, f"the stored tree at size {start} does not match the trusted checkpoint")
    found = store.entry_bytes(start - 1)
    if found is None:
        raise Failure(start - 1, f"entry {start - 1} is missing")
    return edge, found[1]


def _report(
    start: int, joiner: _Joiner | None, matched: list[int], failure: Failure | None, workers: int, cpu: float
) -> VerifyReport:
    pos = joiner.pos if joiner is not None else start
    return VerifyReport(
        workers=workers,
        cpu_seconds=time.process_time() - cpu + (joiner.worker_cpu_seconds if joiner is not None else 0.0),
        ok=failure is None,
        start=start,
        tree_size=pos,
        root=joiner.edge.root() if joiner is not None else EMPTY_ROOT,
        checkpoints_matched=tuple(matched),
        first_bad_seq=failure.seq if failure is not None else None,
        problem=failure.problem if failure is not None else None,
        entries_checked=pos - start,
    )


def verify_slice(
    con: duckdb.DuckDBPyConnection, checkpoint: Checkpoint, start: int, end: int, *, batch_rows: int = 1 << 18
) -> VerifyReport:
    """Verify entries ``[start, end)`` of the signed tree ``checkpoint`` without reading the others.

    The entries are checked as a segment (seq order, stored leaf hashes, embedded seq and links;
    the first one's link against the stored leaf hash before it), then folded between the stored
    subtree roots of ``[0, start)`` and ``[end, size)``: the result must be the signed root, so
    the entries are exactly those signed (whatever the stored nodes around them hold).
    """
    cpu = time.process_time()
    store = LedgerStore(con)
    matched: list[int] = []
    try:
        if not 0 <= start < end <= checkpoint.size:
            raise ValueError(f"no slice [{start}, {end}) in a tree of size {checkpoint.size}")
        result = verify_segment(con, Segment(start, end), batch_rows=batch_rows, prefetch=False)
        if result.failure is not None:
            raise result.failure
        before = store.entry_bytes(start - 1) if start else (b"", ZERO_HASH)
        if before is None:
            raise Failure(start - 1, f"entry {start - 1} is missing")
        if result.first_link != before[1]:
            raise broken_link(start)
        left, right = CompactRange.node_ids(start), CompactRange.node_ids(checkpoint.size, end)
        nodes = store.fetch_nodes(left + right)
        if any(i not in nodes for i in left + right):
            raise Failure(None, f"the stored tree has no complete nodes around entries {start}..{end - 1}")
        tree = CompactRange(start, [nodes[i] for i in left])
        tree.append_range(result.span)
        tree.append_range(CompactRange(checkpoint.size, [nodes[i] for i in right], begin=end))
        if tree.root() != checkpoint.root:
            raise Failure(start, f"entries {start}..{end - 1} do not hash to the signed checkpoint of size {checkpoint.size}")
        matched.append(checkpoint.size)
    except Failure as failure:
        return VerifyReport(False, start, start, EMPTY_ROOT, first_bad_seq=failure.seq, problem=failure.problem,
                            cpu_seconds=time.process_time() - cpu)
    return VerifyReport(True, start, end, checkpoint.root, tuple(matched), entries_checked=end - start,
                        cpu_seconds=time.process_time() - cpu)


def verify_ledger(
    con: duckdb.DuckDBPyConnection,
    *,
    trusted: Sequence[Checkpoint] = (),
    since: Checkpoint | None = None,
    batch_rows: int = 1 << 18,
    check_nodes: bool = False,
    prefetch: bool = True,
    workers: int | None = None,
    segment_rows: int = SEGMENT_ROWS,
    on_entries: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Verify the stored ledger (from ``since`` if given) against trusted checkpoints.

    ``workers`` (default: every CPU) worker processes verify segments of ``segment_rows``
    entries side by side when ``con`` is a read-only connection to a database file and
    there are at least two segments; otherwise one segment is verified in this process.
    ``on_entries`` is told how many entries each segment verified, as they are joined (progress).
    """
    cpu = time.process_time()
    store = LedgerStore(con)
    head = store.head()
    start = since.size if since is not None else 0
    matched: list[int] = []
    joiner: _Joiner | None = None
    used = 0  # worker processes
    try:
        for cp in sorted(trusted, key=lambda c: c.size):
            if cp.size < start:
                if cp.size <= head.size and store.root_at(cp.size) != cp.root:
                    raise Failure(None, f"the stored tree at size {cp.size} does not match its signed checkpoint")
                matched.append(cp.size)
        edge, prev = _starting_edge(store, since)
        if since is not None:
            matched.append(start)
        pending = [c for c in trusted if c.size > start]
        joiner = _Joiner(head, edge, prev, pending, matched, store if check_nodes else None)
        workers = (os.cpu_count() or 1) if workers is None else workers
        path = shareable_path(con) if workers > 1 else None
        segments = _plan(start, store.end_of_entries(start), sorted(joiner.pending), segment_rows if path else None)
        if len(segments) < 2:
            path = None
        used = min(workers, len(segments)) if path else 0
        results = _results(
            con, segments, path, used, batch_rows=batch_rows, check_nodes=check_nodes, prefetch=prefetch
        )
        with closing(results):
            for result in results:
                joiner.add(result)
                if on_entries:
                    on_entries(result.segment.end - result.segment.start)
        joiner.finish(start)
    except Failure as failure:
        return _report(start, joiner, matched, failure, used, cpu)
    return _report(start, joiner, matched, None, used, cpu)
