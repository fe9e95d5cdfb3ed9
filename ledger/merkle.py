"""RFC 9162 Merkle tree hashing: roots, the compact range (right edge), proof generation.

Hashing is Certificate Transparency's: ``leaf = SHA-256(0x00 ‖ entry)``,
``node = SHA-256(0x01 ‖ left ‖ right)``, and the tree over ``n`` leaves splits at the
largest power of two smaller than ``n`` (RFC 9162 §2.1.1).

A *node id* ``(level, index)`` names the perfect subtree over leaves
``[index·2^level, (index+1)·2^level)``; level 0 is a leaf.  Every such subtree, once
complete, never changes: the store keeps them, so proofs cost O(log n) node reads.

Proof *generation* lives here and reads nodes through a ``fetch`` callable; proof
*verification* is independent of it (see :mod:`ledger.proofcheck`, re-exported here).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

from ledger.compiled import load_codec
from ledger.proofcheck import EMPTY_ROOT, verify_consistency, verify_inclusion  # noqa: F401  (re-export)

NodeId = tuple[int, int]
Emit = Callable[[int, int, list[bytes]], None]
"""``emit(level, first_index, hashes)``: complete nodes of one level, left to right."""
Fetch = Callable[[Sequence[NodeId]], Mapping[NodeId, bytes]]


def collector(into: dict[NodeId, bytes]) -> Emit:
    """An ``emit`` callable that records every node it receives in ``into``, by id."""

    def emit(level: int, first: int, hashes: list[bytes]) -> None:
        for j, h in enumerate(hashes):
            into[(level, first + j)] = h

    return emit

_sha256 = hashlib.sha256
_node_hashes = load_codec().node_hashes  # a level's nodes in one call (ledger/_codec.c)


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 leaf hash: ``SHA-256(0x00 ‖ entry)``."""
    return _sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: ``SHA-256(0x01 ‖ left ‖ right)``."""
    return _sha256(b"\x01" + left + right).digest()


def leaf_hashes(entries: Iterable[bytes]) -> list[bytes]:
    """Leaf hashes of many entries (the hot loop of appends and verification)."""
    sha = _sha256
    return [sha(b"\x00" + e).digest() for e in entries]


def reduce_perfect(hashes: list[bytes], first_index: int = 0, emit: Emit | None = None) -> bytes:
    """Root of a perfect subtree (``len(hashes)`` a power of two) over level-0 hashes.

    ``emit`` receives the nodes of every level above the leaves.
    """
    sha = _sha256
    level, cur = 0, hashes
    while len(cur) > 1:
        found = _node_hashes(cur)  # None unless every hash is 32 bytes: then the loop below
        cur = found if found is not None else [sha(b"\x01" + a + b).digest() for a, b in zip(cur[::2], cur[1::2], strict=False)]
        level += 1
        if emit is not None:
            emit(level, first_index >> level, cur)
    return cur[0]


def _largest_pow2_below(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (``n`` ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes (RFC 9162 §2.1.1), by the compact range."""
    rng = CompactRange()
    rng.extend(list(hashes))
    return rng.root()


class CompactRange:
    """The right edge of a tree: roots of the perfect subtrees that make up ``[0, size)``.

    Appending costs O(1) amortised hashes per leaf; the root is a fold of ≤ 64 hashes.
    This is what the store persists between nights.

    A range may also begin later (``[begin, size)``): then it has no root, but it can be
    built on its own -- by another process, say -- and appended to the range that ends
    where it begins (:meth:`append_range`).
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = (), begin: int = 0) -> None:
        hashes = list(hashes)
        expected = len(self.node_ids(size, begin))
        if len(hashes) != expected:
            raise ValueError(f"a compact range [{begin}, {size}) has {expected} hashes")
        self.begin = begin
        self.size = size
        self.hashes = hashes

    def copy(self) -> CompactRange:
        """An independent copy."""
        return CompactRange(self.size, list(self.hashes), self.begin)

    @staticmethod
    def node_ids(size: int, begin: int = 0) -> list[NodeId]:
        """Ids of the largest perfect subtrees that make up the range ``[begin, size)``, left to right."""
        if begin > size:
            raise ValueError(f"a range cannot begin at {begin}, after its end {size}")
        ids: list[NodeId] = []
        start = begin
        while start < size:
            level = (size - start).bit_length() - 1
            if start:
                level = min(level, (start & -start).bit_length() - 1)
            ids.append((level, start >> level))
            start += 1 << level
        return ids

    def _push(self, level: int, h: bytes, emit: Emit | None) -> None:
        """Push the root of a perfect subtree of ``2^level`` leaves starting at ``size``."""
        position = self.size
        self.size += 1 << level
        # merge while the node is a right child whose left sibling (starting at ((position >> level) - 1) << level)
        # lies in the range: the sibling is then the last hash of the edge
        while position >> level & 1 and ((position >> level) - 1) << level >= self.begin:
            h = _sha256(b"\x01" + self.hashes.pop() + h).digest()
            level += 1
            if emit is not None:
                emit(level, position >> level, [h])
        self.hashes.append(h)

    def append(self, leaf: bytes, emit: Emit | None = None) -> None:
        """Append one leaf hash."""
        self._push(0, leaf, emit)

    def extend(self, leaves: list[bytes], emit: Emit | None = None) -> None:
        """Append many leaf hashes, reducing aligned power-of-two chunks in bulk."""
        i, n = 0, len(leaves)
        while i < n:
            k = (n - i).bit_length() - 1
            if self.size:
                k = min(k, (self.size & -self.size).bit_length() - 1)
            width = 1 << k
            chunk = leaves[i : i + width] if (i or width != n) else leaves
            root = reduce_perfect(chunk, self.size, emit) if width > 1 else chunk[0]
            self._push(k, root, emit)
            i += width

    def append_range(self, other: CompactRange, emit: Emit | None = None) -> None:
        """Append the adjacent range ``other`` (``other.begin == self.size``), merging subtrees.

        ``emit`` receives the nodes the merge completes (those reaching into both ranges).
        """
        if other.begin != self.size:
            raise ValueError(f"range [{other.begin}, {other.size}) does not start where [{self.begin}, {self.size}) ends")
        for (level, _), h in zip(self.node_ids(other.size, other.begin), other.hashes, strict=True):
            self._push(level, h, emit)

    def root(self) -> bytes:
        """The tree head (MTH) of ``[0, size)``."""
        if self.begin:
            raise ValueError(f"the range [{self.begin}, {self.size}) does not start at 0: it has no tree head")
        if not self.hashes:
            return EMPTY_ROOT
        h = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            h = _sha256(b"\x01" + left + h).digest()
        return h


# --------------------------------------------------------------------------------------
# Proof generation (RFC 9162 §2.1.3.1 and §2.1.4.1) over a node store
# --------------------------------------------------------------------------------------


def range_node_ids(start: int, end: int) -> list[NodeId]:
    """Perfect subtrees (largest first) whose right fold is MTH(D[start:end]).

    Valid for the sub-ranges the RFC's recursion produces, whose start is a multiple of
    the smallest power of two ≥ their length.
    """
    ids: list[NodeId] = []
    size = end - start
    if size <= 0:
        raise ValueError("empty range")
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            if start % (1 << level):
                raise ValueError(f"range [{start}, {end}) is not an RFC 9162 subtree")
            ids.append((level, start >> level))
            start += 1 << level
    return ids


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTHs form PATH(index, D[size]), in proof order (bottom up)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    out: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _largest_pow2_below(hi - lo)
        if index < lo + k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo += k
    out.reverse()
    return out


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTHs form PROOF(old_size, D[new_size]) (RFC 9162 SUBPROOF).

    Defined for ``0 < old_size <= new_size`` only (RFC 9162 §2.1.4.1): there is no proof
    from the empty tree.
    """
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from {old_size} to {new_size}")
    if old_size == new_size:
        return []
    out: list[tuple[int, int]] = []
    lo, hi, m, complete = 0, new_size, old_size, True
    while m != hi - lo:
        k = _largest_pow2_below(hi - lo)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    if not complete:
        out.append((lo, hi))
    out.reverse()
    return out


def hashes_for_ranges(ranges: Sequence[tuple[int, int]], fetch: Fetch) -> list[bytes]:
    """MTH of each range, reading every needed node with one ``fetch`` call."""
    plans = [range_node_ids(a, b) for a, b in ranges]
    nodes = fetch(sorted({nid for plan in plans for nid in plan}))
    out: list[bytes] = []
    for plan in plans:
        try:
            hashes = [nodes[nid] for nid in plan]
        except KeyError as exc:
            raise LookupError(f"node {exc.args[0]} is missing from the store") from None
        h = hashes[-1]
        for left in reversed(hashes[:-1]):
            h = node_hash(left, h)
        out.append(h)
    return out


def inclusion_proof(index: int, size: int, fetch: Fetch) -> list[bytes]:
    """The inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
    return hashes_for_ranges(inclusion_ranges(index, size), fetch)


def consistency_proof(old_size: int, new_size: int, fetch: Fetch) -> list[bytes]:
    """The consistency proof between the trees of ``old_size`` and ``new_size`` leaves."""
    return hashes_for_ranges(consistency_ranges(old_size, new_size), fetch)


def root_at(size: int, fetch: Fetch) -> bytes:
    """MTH of the first ``size`` leaves, from stored nodes (O(log n) reads)."""
    if size == 0:
        return EMPTY_ROOT
    return hashes_for_ranges([(0, size)], fetch)[0]
