"""RFC 6962/9162 tree hashing and proofs against published vectors and a naive model.

Vectors: transparency-dev/merkle (testonly/constants.go, proof/verify_test.go), the
same data Certificate Transparency's C++ and Go implementations test against.  Proof
positions there are 1-based leaf numbers; here leaf indices are 0-based.
"""

from __future__ import annotations

import hashlib
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import merkle
from ledger.proofcheck import root_from_inclusion_proof, verify_consistency, verify_inclusion

LEAVES = [bytes.fromhex(x) for x in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f",
)]
ROOTS = [bytes.fromhex(x) for x in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]
EMPTY_ROOT = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
LEAF_HASHES = [bytes.fromhex(x) for x in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
)]


def h(x: str) -> bytes:
    return bytes.fromhex(x)


# (leaf index 0-based, tree size, proof)
INCLUSION_VECTORS = [
    (0, 8, [h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")]),
    (5, 8, [h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (1, 5, [h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")]),
    (0, 1, []),
]
# (size1, size2, proof)
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (1, 8, [h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")]),
    (6, 8, [h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
    (2, 5, [h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")]),
    (6, 7, [h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
]


# ---- a naive recursive model, straight from the RFC's definitions ---------------------


def naive_mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + naive_mth(leaves[:k]) + naive_mth(leaves[k:])).digest()


def naive_path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) <= 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return naive_path(m, leaves[:k]) + [naive_mth(leaves[k:])]
    return naive_path(m - k, leaves[k:]) + [naive_mth(leaves[:k])]


def naive_subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [naive_mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return naive_subproof(m, leaves[:k], complete) + [naive_mth(leaves[k:])]
    return naive_subproof(m - k, leaves[k:], False) + [naive_mth(leaves[:k])]


class DictStore:
    """Nodes kept in a dict, filled through the compact range's emit callback."""

    def __init__(self, leaves: list[bytes], chunk: int = 7) -> None:
        self.nodes: dict[merkle.NodeId, bytes] = {}
        self.range = merkle.CompactRange()
        hashes = merkle.leaf_hashes(leaves)
        for i, lh in enumerate(hashes):
            self.nodes[(0, i)] = lh
        for i in range(0, len(hashes), chunk):
            self.range.extend(hashes[i : i + chunk], merkle.collector(self.nodes))

    def fetch(self, ids):
        return {i: self.nodes[i] for i in ids if i in self.nodes}


# ---- published vectors ------------------------------------------------------------------


def test_empty_tree_and_leaf_hashes() -> None:
    assert merkle.EMPTY_ROOT == EMPTY_ROOT
    assert merkle.root_of([]) == EMPTY_ROOT
    assert [merkle.leaf_hash(x) for x in LEAVES] == LEAF_HASHES


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_of_the_published_vectors(size: int) -> None:
    assert merkle.root_of(merkle.leaf_hashes(LEAVES[:size])) == ROOTS[size - 1]
    assert DictStore(LEAVES[:size], chunk=3).range.root() == ROOTS[size - 1]
    assert merkle.root_at(size, DictStore(LEAVES).fetch) == ROOTS[size - 1]


@pytest.mark.parametrize("index,size,proof", INCLUSION_VECTORS)
def test_inclusion_vectors(index: int, size: int, proof: list[bytes]) -> None:
    store = DictStore(LEAVES)
    assert merkle.inclusion_proof(index, size, store.fetch) == proof
    assert verify_inclusion(LEAF_HASHES[index], index, size, proof, ROOTS[size - 1])


@pytest.mark.parametrize("size1,size2,proof", CONSISTENCY_VECTORS)
def test_consistency_vectors(size1: int, size2: int, proof: list[bytes]) -> None:
    store = DictStore(LEAVES)
    assert merkle.consistency_proof(size1, size2, store.fetch) == proof
    assert verify_consistency(size1, size2, ROOTS[size1 - 1], ROOTS[size2 - 1], proof)


def _corrupt_inclusion(index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes):
    some = h("abacaba000000000000000000000000000000000000000000060061e00123456")
    yield index - 1, size, root, leaf, proof
    yield index + 1, size, root, leaf, proof
    yield index ^ 2, size, root, leaf, proof
    yield index, size * 2, root, leaf, proof
    yield index, size // 2, root, leaf, proof
    yield index, size, root, b"WrongLeaf", proof
    yield index, size, EMPTY_ROOT, leaf, proof
    yield index, size, some, leaf, proof
    yield index, size, root, leaf, proof + [b""]
    yield index, size, root, leaf, proof + [root]
    yield index, size, root, leaf, [root] + proof
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 8]) + bad[i][1:]
        yield index, size, root, leaf, bad
    if proof:
        yield index, size, root, leaf, proof[:-1]
    if len(proof) > 1:
        yield index, size, root, leaf, [proof[0], some] + proof[1:]


@pytest.mark.parametrize("index,size,proof", [v for v in INCLUSION_VECTORS if v[2]])
def test_corrupted_inclusion_proofs_fail(index: int, size: int, proof: list[bytes]) -> None:
    for probe in _corrupt_inclusion(index, size, proof, ROOTS[size - 1], LEAF_HASHES[index]):
        i, n, root, leaf, p = probe
        assert not verify_inclusion(leaf, i, n, p, root), probe[:2]


@pytest.mark.parametrize("size1,size2,proof", [v for v in CONSISTENCY_VECTORS if v[2]])
def test_corrupted_consistency_proofs_fail(size1: int, size2: int, proof: list[bytes]) -> None:
    r1, r2 = ROOTS[size1 - 1], ROOTS[size2 - 1]
    probes = [
        (size1 - 1, size2, r1, r2, proof), (size1 + 1, size2, r1, r2, proof),
        (size1 ^ 2, size2, r1, r2, proof), (size1, size2 * 2, r1, r2, proof),
        (size1, size2 // 2, r1, r2, proof), (size1, size2, b"WrongRoot", r2, proof),
        (size1, size2, r1, b"WrongRoot", proof), (size1, size2, r2, r1, proof),
        (size1, size2, r1, r2, []), (size1, size2, r1, r2, proof + [b""]),
        (size1, size2, r1, r2, proof + [r1]), (size1, size2, r1, r2, proof + [r2]),
        (size1, size2, r1, r2, [b""] + proof), (size1, size2, r1, r2, [r1] + proof),
        (size1, size2, r1, r2, [r2] + proof), (size1, size2, r1, r2, [proof[0]] + proof),
        (size1, size2, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 16]) + bad[i][1:]
        probes.append((size1, size2, r1, r2, bad))
    for probe in probes:
        assert not verify_consistency(*probe[:4], probe[4]), probe[:2]


def test_edge_cases_of_verification() -> None:
    r1, r2 = b"don't care 1", b"don't care 2"
    # RFC 9162: consistency proofs exist only for 0 < m <= n; "from the empty tree" is refused
    assert not verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 1, r1, r2, [])
    assert not verify_consistency(0, 1, EMPTY_ROOT, ROOTS[0], [])
    with pytest.raises(ValueError):
        merkle.consistency_ranges(0, 3)
    assert verify_consistency(1, 1, ROOTS[0], ROOTS[0], [])
    assert not verify_consistency(1, 0, r1, r2, [])
    assert not verify_consistency(2, 1, r1, r2, [])
    assert not verify_consistency(1, 2, ROOTS[0], ROOTS[1], [])
    assert not verify_consistency(1, 1, EMPTY_ROOT, ROOTS[0], [])
    assert not verify_consistency(0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])
    assert not verify_consistency(1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])
    some = h("abacaba000000000000000000000000000000000000000000060061e00123456")
    for index, size in ((0, 0), (0, 1), (1, 0), (2, 1)):
        assert not verify_inclusion(some, index, size, [], b"")
        assert not verify_inclusion(b"", index, size, [], EMPTY_ROOT)
        assert not verify_inclusion(some, index, size, [], EMPTY_ROOT)
    data = merkle.leaf_hash(b"data")
    assert verify_inclusion(data, 0, 1, [], data)
    assert not verify_inclusion(b"", 0, 1, [], data)
    assert not verify_inclusion(data, 0, 1, [], b"")
    with pytest.raises(ValueError):
        merkle.inclusion_ranges(3, 3)
    with pytest.raises(ValueError):
        merkle.consistency_ranges(4, 3)


# ---- against the naive model, sizes 1..70 --------------------------------------------

MODEL_LEAVES = [f"leaf {i}".encode() * (i % 4 + 1) for i in range(70)]
MODEL = DictStore(MODEL_LEAVES, chunk=5)


@pytest.mark.parametrize("size", range(1, 71))
def test_against_naive_model(size: int) -> None:
    leaves = MODEL_LEAVES[:size]
    root = naive_mth(leaves)
    assert merkle.root_of(merkle.leaf_hashes(leaves)) == root
    assert merkle.root_at(size, MODEL.fetch) == root
    for index in range(size):
        proof = merkle.inclusion_proof(index, size, MODEL.fetch)
        assert proof == naive_path(index, leaves)
        assert verify_inclusion(merkle.leaf_hash(leaves[index]), index, size, proof, root)
        assert root_from_inclusion_proof(merkle.leaf_hash(leaves[index]), index, size, proof) == root
    for old in range(1, size + 1):
        proof = merkle.consistency_proof(old, size, MODEL.fetch)
        assert proof == (naive_subproof(old, leaves, True) if old < size else [])
        assert verify_consistency(old, size, naive_mth(leaves[:old]), root, proof)
        if old < size:
            assert not verify_consistency(old, size, naive_mth(leaves[: old - 1] or [b"x"]), root, proof)


def test_compact_range_growth_matches_bulk_and_emits_every_node() -> None:
    hashes = merkle.leaf_hashes(MODEL_LEAVES)
    one_by_one = merkle.CompactRange()
    nodes: dict[merkle.NodeId, bytes] = {}
    for lh in hashes:
        one_by_one.append(lh, lambda lv, i, hs: nodes.update({(lv, i): hs[0]}))
    assert one_by_one.root() == merkle.root_of(hashes) == naive_mth(MODEL_LEAVES)
    inner = {k: v for k, v in MODEL.nodes.items() if k[0] > 0}
    assert nodes == inner
    assert merkle.CompactRange.node_ids(70) == [(6, 0), (2, 16), (1, 34)]
    with pytest.raises(ValueError):
        merkle.CompactRange(3, [hashes[0]])


@given(st.lists(st.integers(min_value=1, max_value=70), min_size=1, max_size=6), st.integers(min_value=0, max_value=70))
def test_ranges_built_apart_and_joined_equal_one_range(cuts: list[int], start: int) -> None:
    """Segments verified apart (as worker processes do) join into the range built in one go.

    Every interior node is completed exactly once: inside a segment, or by the join.
    """
    hashes = merkle.leaf_hashes(MODEL_LEAVES)
    bounds = sorted({start, *(min(start + c, len(hashes)) for c in cuts), len(hashes)})
    whole = merkle.CompactRange()
    whole.extend(hashes[: bounds[0]])
    joined, emitted = whole.copy(), {}

    def emit(level: int, first: int, found: list[bytes]) -> None:
        for j, value in enumerate(found):
            assert (level, first + j) not in emitted
            emitted[(level, first + j)] = value

    for a, b in pairwise(bounds):
        part = merkle.CompactRange(a, begin=a)
        part.extend(hashes[a:b], emit)
        assert len(part.hashes) == len(merkle.CompactRange.node_ids(b, a))
        joined.append_range(part, emit)
    whole.extend(hashes[bounds[0] :])
    assert (joined.size, joined.hashes, joined.root()) == (whole.size, whole.hashes, naive_mth(MODEL_LEAVES))
    after_start = {k: v for k, v in MODEL.nodes.items() if k[0] > 0 and (k[1] + 1) << k[0] > bounds[0]}
    assert emitted == after_start


@given(st.integers(min_value=0, max_value=69), st.integers(min_value=1, max_value=70))
def test_a_range_built_leaf_by_leaf_equals_the_range_built_in_bulk(start: int, length: int) -> None:
    """A range that begins after 0 merges only nodes inside it, leaf by leaf as in bulk (a range
    beginning at 3 once merged its leaf 3 into the subtree of leaves 4..7, and a verified slice of
    the ledger then could not join the signed tree)."""
    hashes = merkle.leaf_hashes(MODEL_LEAVES)
    end = min(start + length, len(hashes))
    bulk, one_by_one = merkle.CompactRange(start, begin=start), merkle.CompactRange(start, begin=start)
    bulk.extend(hashes[start:end])
    for leaf in hashes[start:end]:
        one_by_one.append(leaf)
    assert one_by_one.hashes == bulk.hashes
    assert len(bulk.hashes) == len(merkle.CompactRange.node_ids(end, start))
    joined = merkle.CompactRange()
    joined.extend(hashes[:start])
    joined.append_range(one_by_one)
    joined.extend(hashes[end:])
    assert joined.root() == naive_mth(MODEL_LEAVES)


def test_a_range_that_does_not_begin_at_zero_has_no_root_and_joins_only_where_it_fits() -> None:
    hashes = merkle.leaf_hashes(MODEL_LEAVES)
    part = merkle.CompactRange(5, begin=5)
    part.extend(hashes[5:9])
    assert merkle.CompactRange.node_ids(9, 5) == [(0, 5), (1, 3), (0, 8)]
    with pytest.raises(ValueError):
        part.root()
    with pytest.raises(ValueError):
        merkle.CompactRange(4).append_range(part)
    with pytest.raises(ValueError):
        merkle.CompactRange(9, [hashes[0]], begin=5)
