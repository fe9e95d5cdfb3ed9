"""Cosigning as a C2SP witness does: only a tree consistent with what this cosigner signed.

A tlog-cosignature v1 states that, at its timestamp, the checkpoint is the largest
consistent tree the cosigner has observed for the log.  A cosigner that remembers the last
checkpoint it cosigned (its *state*: that note, carrying its own cosignature) can make the
statement true: it refuses a smaller tree (a rollback), the same size with another root (a
split view), and a larger tree unless an RFC 9162 consistency proof from the remembered one
verifies (:func:`ledger.proofcheck.extends`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.checkpoint import CheckpointError, NoteSigner, NoteVerifier, cosign, open_checkpoint
from ledger.proofcheck import extends


def witness_cosign(
    note_text: str,
    signer: NoteSigner,
    *,
    origin: str,
    log: NoteVerifier,
    previous: str | None,
    proof: Sequence[bytes] = (),
    timestamp: int | None = None,
) -> str:
    """``cosign`` the note if it extends ``previous`` (the note this cosigner last cosigned).

    ``previous`` is ``None`` on first use; otherwise it must verify under the log and carry
    this cosigner's own cosignature.  ``proof`` is the consistency proof from its size to the
    new one.  Raises :class:`CheckpointError` naming why the statement would be untrue.
    """
    new = open_checkpoint(note_text, origin=origin, log=log)
    if previous is not None:
        try:
            old = open_checkpoint(previous, origin=origin, log=log, witnesses=[signer.verifier()], quorum=1)
        except CheckpointError as exc:
            raise CheckpointError(f"the cosigner's state is not a checkpoint it cosigned: {exc}") from None
        if new.size < old.size:
            raise CheckpointError(f"this cosigner already cosigned a larger tree (size {old.size} > {new.size})")
        if new.size == old.size and new.root != old.root:
            raise CheckpointError(f"split view: this cosigner cosigned size {old.size} with another root")
        if new.size > old.size and not extends(old.size, new.size, old.root, new.root, proof):
            raise CheckpointError(f"no valid consistency proof from size {old.size} to {new.size}")
    return cosign(note_text, signer, origin=origin, log=log, timestamp=timestamp)
