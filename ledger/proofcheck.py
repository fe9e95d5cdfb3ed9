"""Independent verification of RFC 9162 proofs: hashes in, yes or no out.

This module trusts nothing the ledger computed.  It imports only :mod:`hashlib`, never
the code that builds trees or proofs, and follows the verification algorithms of
RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) step by step, with the bit
arithmetic the RFC gives rather than the recursion used to generate proofs.  A bank can
copy this file alone to check what the ledger hands out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _well_formed(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def root_from_inclusion_proof(
    leaf_hash: bytes, leaf_index: int, tree_size: int, proof: Sequence[bytes]
) -> bytes | None:
    """The root implied by an inclusion proof, or ``None`` if the proof cannot be valid."""
    if leaf_index < 0 or leaf_index >= tree_size or not _well_formed(leaf_hash, *proof):
        return None
    fn, sn, r = leaf_index, tree_size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(
    leaf_hash: bytes, leaf_index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """True iff ``proof`` shows the leaf ``leaf_hash`` at ``leaf_index`` under ``root``."""
    if not _well_formed(root):
        return False
    return root_from_inclusion_proof(leaf_hash, leaf_index, tree_size, proof) == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """True iff ``proof`` shows the tree ``(old_size, old_root)`` is a prefix of the new one."""
    if old_size < 0 or old_size > new_size or not _well_formed(*proof):
        return False
    if old_size == new_size:
        return not proof and old_root == new_root and _well_formed(old_root)
    if old_size == 0:
        return not proof
    if not proof or not _well_formed(old_root, new_root):
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # an exact power of two: the old root is a node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = _node(c, fr)
            sr = _node(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
